import * as ml from '../../ml';
import type { ServedModel, TensorSpec } from './served-model';

/** What the record API feeds a model: its preprocessed records, in the array type of the model's input. */
export type RecordInput = Float32Array | Float64Array | Int32Array;

/**
 * The element type the record API casts named-feature records to: the model's input dtype. Trained
 * models take float32; an imported ONNX graph may take float64, int32 or int64 (onnx-import.ts
 * checks that at import, so any other type here is a registry bug, not the caller's).
 */
export function recordInputDtype(served: ServedModel, dtype: TensorSpec['dtype']): ml.RecordInputDtype {
  if ((ml.RECORD_INPUT_DTYPES as readonly string[]).includes(dtype)) return dtype as ml.RecordInputDtype;
  throw new Error(`model ${served.name} version ${served.version}: the record API cannot fill a ${dtype} input`);
}
