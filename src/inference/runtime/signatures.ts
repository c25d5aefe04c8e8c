/**
 * Signature selection for the serving protocols: `serving_default` is the model's own
 * inputs/outputs; imported graph models may have further named signatures (TF Serving's
 * SignatureDefs). The view of a named signature is the ServedModel with that signature's tensors,
 * so validation and the protocol codecs work on it unchanged.
 */
import { BadRequestException } from '@nestjs/common';
import type { ServedModel, SignatureDef } from './served-model';

export const DEFAULT_SIGNATURE = 'serving_default';

export type SignatureMethod = SignatureDef['method'];

/** The default signature's method: Kiln-trained models classify or regress, imported ones predict. */
function defaultMethod(model: ServedModel): SignatureMethod {
  if (!model.features) return 'predict';
  return model.task === 'regression' ? 'regress' : 'classify';
}

/** The model seen through one signature; 400 with TF Serving's message for an unknown name. */
export function signatureView(model: ServedModel, name: string | undefined): ServedModel & { method: SignatureMethod } {
  if (name === undefined || name === '' || name === DEFAULT_SIGNATURE) return { ...model, method: defaultMethod(model) };
  const def = Object.hasOwn(model.signatures ?? {}, name) ? model.signatures![name] : undefined;
  // TF Serving's text (http_rest_api_handler.cc GetInfoMap, predict_util.cc).
  if (!def) throw new BadRequestException(`Serving signature name: "${name.slice(0, 200)}" not found in signature def`);
  return { ...model, inputs: def.inputs, outputs: def.outputs, method: def.method };
}

/** TF Serving's refusal of `:classify`/`:regress` on a signature of another method (classifier.cc, regressor.cc). */
export function checkMethod(view: { method: SignatureMethod }, verb: 'classify' | 'regress'): void {
  if (view.method === verb) return;
  const kind = verb === 'classify' ? 'classification' : 'regression';
  throw new BadRequestException(
    `Expected ${kind} signature method_name to be tensorflow/serving/${verb}. Was: tensorflow/serving/${view.method}`,
  );
}
