/**
 * The ONNX graph of a Kiln-trained version: its TF.js artifact (the source of truth) exported to an
 * equivalent graph by the ML kernel's exporter, with the version's signature names as the graph's
 * input and output names (so /v1 and /v2 clients see the same tensors on either engine).
 */
import type { ModelVersionSignature } from '../contracts';
import { exportDenseStackToOnnx } from '../ml/onnx/onnx-export';
import { loadLayersModelFromBytes, type ModelBytes } from '../platform/tfjs/artifact-io';

export async function onnxGraphOfTrainedModel(bytes: ModelBytes, signature: ModelVersionSignature, producerVersion = ''): Promise<Buffer> {
  const input = signature.inputs[0];
  const output = signature.outputs[0];
  if (signature.inputs.length !== 1 || signature.outputs.length !== 1 || !input || !output)
    throw new Error('only single-input, single-output trained models export to ONNX');
  const model = await loadLayersModelFromBytes(bytes);
  try {
    return Buffer.from(exportDenseStackToOnnx(model, input.name, output.name, producerVersion));
  } finally {
    model.dispose();
  }
}
