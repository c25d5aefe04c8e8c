import type * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';

/**
 * Exports a Kiln-trained serving model (the `mlp` and `linear` templates: a stack of Dense layers with
 * relu / sigmoid / softmax / linear activations; the serving model has no dropout) to an equivalent
 * ONNX graph, so ONNX Runtime can serve the same weights. The TF.js artifact stays the source of
 * truth; the graph is derived from it and stored beside it.
 *
 * Each Dense becomes `Gemm(x, kernel, bias)` (ONNX's fully connected op, weights as float32
 * initializers in raw little-endian bytes) followed by its activation op. Opset 13 (Softmax over the
 * last axis), IR version 7: what every ONNX Runtime since 1.7 loads. The protobuf encoding is
 * onnx-proto's generated ModelProto (the ONNX schema compiled for protobufjs).
 */
export const ONNX_EXPORT_OPSET = 13;
const IR_VERSION = 7;

/** A layer or activation the exporter has no ONNX equivalent for; the message names it. */
export class OnnxExportError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxExportError';
  }
}

export interface OnnxGraphTensor {
  name: string;
  /** -1 for the batch dimension. */
  shape: number[];
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;

function valueInfo(t: OnnxGraphTensor): onnx.IValueInfoProto {
  return {
    name: t.name,
    type: {
      tensorType: {
        elemType: FLOAT,
        shape: { dim: t.shape.map((d) => (d < 0 ? { dimParam: 'batch' } : { dimValue: d })) },
      },
    },
  };
}

function initializer(name: string, dims: number[], values: Float32Array): onnx.ITensorProto {
  // raw_data is little-endian; so is every platform Node runs on that Kiln supports (x64, arm64).
  const raw = new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength));
  return { name, dims, dataType: FLOAT, rawData: raw };
}

const ACTIVATIONS: Record<string, string | null> = { linear: null, relu: 'Relu', sigmoid: 'Sigmoid', softmax: 'Softmax', tanh: 'Tanh' };

/**
 * The ONNX ModelProto bytes of a Sequential of Dense layers. `input` / `output` name the graph's
 * tensors (Kiln uses the version's signature names, so /v2 clients see the same tensors on both engines).
 */
export function exportDenseStackToOnnx(model: tfl.LayersModel, input: string, output: string, producerVersion = ''): Uint8Array {
  const nodes: onnx.INodeProto[] = [];
  const inits: onnx.ITensorProto[] = [];
  const dense = model.layers.filter((l) => l.getClassName() !== 'InputLayer');
  if (dense.length === 0) throw new OnnxExportError('the model has no layers');
  const inShape = model.inputs[0]?.shape;
  if (model.inputs.length !== 1 || !inShape || inShape.length !== 2 || inShape[1] == null)
    throw new OnnxExportError('only single-input [batch, features] models can be exported');
  let current = input;
  let width = inShape[1];
  dense.forEach((layer, i) => {
    if (layer.getClassName() !== 'Dense')
      throw new OnnxExportError(`layer '${layer.name}' is a ${layer.getClassName()}; only Dense layers export`);
    const config = layer.getConfig();
    const activation = typeof config.activation === 'string' ? config.activation : 'linear';
    if (!(activation in ACTIVATIONS))
      throw new OnnxExportError(`layer '${layer.name}' has activation '${activation}', which does not export`);
    const [kernel, bias] = layer.getWeights();
    if (!kernel || kernel.shape.length !== 2 || kernel.shape[0] !== width)
      throw new OnnxExportError(`layer '${layer.name}' has an unexpected kernel shape [${kernel?.shape.join(', ')}]`);
    const units = kernel.shape[1]!;
    const k = `${layer.name}/kernel`;
    inits.push(initializer(k, [width, units], kernel.dataSync() as Float32Array));
    const gemmInputs = [current, k];
    if (bias) {
      const b = `${layer.name}/bias`;
      inits.push(initializer(b, [units], bias.dataSync() as Float32Array));
      gemmInputs.push(b);
    }
    const last = i === dense.length - 1;
    const op = ACTIVATIONS[activation]!;
    const gemmOut = last && op === null ? output : `${layer.name}/linear`;
    nodes.push({ name: `${layer.name}/gemm`, opType: 'Gemm', input: gemmInputs, output: [gemmOut] });
    current = gemmOut;
    if (op !== null) {
      const actOut = last ? output : `${layer.name}/${activation}`;
      nodes.push({
        name: `${layer.name}/${activation}`,
        opType: op,
        input: [current],
        output: [actOut],
        ...(op === 'Softmax' ? { attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: -1 }] } : {}),
      });
      current = actOut;
    }
    width = units;
  });
  const proto = onnx.ModelProto.create({
    irVersion: IR_VERSION,
    producerName: 'kiln',
    producerVersion,
    opsetImport: [{ domain: '', version: ONNX_EXPORT_OPSET }],
    graph: {
      name: model.name || 'kiln',
      node: nodes,
      initializer: inits,
      input: [valueInfo({ name: input, shape: [-1, inShape[1]] })],
      output: [valueInfo({ name: output, shape: [-1, width] })],
    },
  });
  return onnx.ModelProto.encode(proto).finish();
}
