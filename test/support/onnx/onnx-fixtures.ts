/**
 * ONNX test models: the PyTorch export made by make-torch-fixture.py (committed with PyTorch's own
 * outputs) and small graphs written here with onnx-proto for the refusals an importer must make.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { onnx } from 'onnx-proto';

/** This folder in the source tree (the compiled file runs from dist/test/support/onnx). */
const HERE = join(__dirname, '..', '..', '..', '..', 'test', 'support', 'onnx');

export interface TorchExpected {
  generatedBy: string;
  inputs: number[][];
  probabilities: number[][];
  labels: string[];
  signature: { features: Array<{ name: string; type: string }>; task: string; classes: string[] };
}

/** The iris MLP exported by torch.onnx.export (input `features` [batch, 4], output `probabilities` [batch, 3]). */
export function torchIrisMlp(): { bytes: Buffer; expected: TorchExpected } {
  return {
    bytes: readFileSync(join(HERE, 'torch-iris-mlp.onnx')),
    expected: JSON.parse(readFileSync(join(HERE, 'torch-iris-mlp.expected.json'), 'utf8')) as TorchExpected,
  };
}

type Dim = number | string;

/** A one-node graph `y = op(x)` with the given element types and shapes (strings are symbolic axes). */
export function oneNodeGraph(opts: {
  op?: string;
  inType?: number;
  outType?: number;
  inShape: Dim[];
  outShape: Dim[];
  opset?: number;
}): Buffer {
  const dims = (s: Dim[]) => ({ dim: s.map((d) => (typeof d === 'string' ? { dimParam: d } : { dimValue: d })) });
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: opts.opset ?? 13 }],
    graph: {
      name: 'g',
      node: [{ opType: opts.op ?? 'Identity', input: ['x'], output: ['y'] }],
      input: [{ name: 'x', type: { tensorType: { elemType: opts.inType ?? FLOAT, shape: dims(opts.inShape) } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: opts.outType ?? FLOAT, shape: dims(opts.outShape) } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

export const ONNX_TYPES = onnx.TensorProto.DataType;

/** `y = x + w` whose initializer `w` points at an external data file (what an importer must refuse). */
export function externalDataGraph(location: string): Buffer {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const dims = { dim: [{ dimParam: 'n' }, { dimValue: 1 }] };
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'g',
      node: [{ opType: 'Add', input: ['x', 'w'], output: ['y'] }],
      initializer: [
        {
          name: 'w',
          dims: [1],
          dataType: FLOAT,
          dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
          externalData: [
            { key: 'location', value: location },
            { key: 'length', value: '4' },
          ],
        },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: dims } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: dims } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/**
 * A few hundred bytes that make ONNX Runtime allocate `rows × cols` float32s on every run:
 * `y = x · sum(ConstantOfShape([rows, cols], 1))` for x [batch, 4] (y has x's shape, so every other
 * import check passes; only the memory it takes is hostile). 16384 × 16384 is 1 GiB.
 */
export function hugeAllocationGraph(rows: number, cols: number): Buffer {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const dims = { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] };
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'hostile',
      node: [
        {
          opType: 'ConstantOfShape',
          input: ['shape'],
          output: ['big'],
          attribute: [{ name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [1], dataType: FLOAT, floatData: [1] } }],
        },
        {
          opType: 'ReduceSum',
          input: ['big'],
          output: ['total'],
          attribute: [{ name: 'keepdims', type: onnx.AttributeProto.AttributeType.INT, i: 0 }],
        },
        { opType: 'Mul', input: ['x', 'total'], output: ['y'] },
      ],
      initializer: [{ name: 'shape', dims: [2], dataType: onnx.TensorProto.DataType.INT64, int64Data: [rows, cols] }],
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: dims } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: FLOAT, shape: dims } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/** `probabilities = softmax(x · w + b)` for x [batch, w.length] (w is rows × classes), opset 13. */
export function linearSoftmaxGraph(w: number[][], b: number[]): Buffer {
  const FLOAT = onnx.TensorProto.DataType.FLOAT;
  const k = b.length;
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'linear-softmax',
      node: [
        { opType: 'MatMul', input: ['x', 'w'], output: ['xw'] },
        { opType: 'Add', input: ['xw', 'b'], output: ['logits'] },
        {
          opType: 'Softmax',
          input: ['logits'],
          output: ['probabilities'],
          attribute: [{ name: 'axis', type: onnx.AttributeProto.AttributeType.INT, i: 1 }],
        },
      ],
      initializer: [
        { name: 'w', dims: [w.length, k], dataType: FLOAT, floatData: w.flat() },
        { name: 'b', dims: [k], dataType: FLOAT, floatData: b },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: w.length }] } } } }],
      output: [
        { name: 'probabilities', type: { tensorType: { elemType: FLOAT, shape: { dim: [{ dimParam: 'batch' }, { dimValue: k }] } } } },
      ],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

export interface DtypesExpected {
  generatedBy: string;
  inputs: { counts: number[][]; amounts: number[][]; ids: number[][]; flags: boolean[][] };
  outputs: { weighted: number[][]; scaled: number[][]; next_id: number[][]; big: boolean[][] };
}

/** int64 / float64 / int32 / bool in and out (make-dtype-fixture.py; expected outputs computed there with numpy). */
export function dtypesGraph(): { bytes: Buffer; expected: DtypesExpected } {
  return {
    bytes: readFileSync(join(HERE, 'dtypes.onnx')),
    expected: JSON.parse(readFileSync(join(HERE, 'dtypes.expected.json'), 'utf8')) as DtypesExpected,
  };
}

/**
 * `odd = float(sum(x, axis 1) mod 2)` for x int64 [batch, 2]: a binary "is the sum odd" model whose
 * answer changes when an integer is rounded (2^53 − 1 is odd; as float32 it becomes 2^53, even).
 */
export function int64ParityGraph(): Buffer {
  const T = onnx.TensorProto.DataType;
  const dims = (k: number) => ({ dim: [{ dimParam: 'batch' }, { dimValue: k }] });
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'int64-parity',
      node: [
        { opType: 'ReduceSum', input: ['x', 'axes'], output: ['sum'] },
        { opType: 'Mod', input: ['sum', 'two'], output: ['rem'] },
        {
          opType: 'Cast',
          input: ['rem'],
          output: ['odd'],
          attribute: [{ name: 'to', type: onnx.AttributeProto.AttributeType.INT, i: T.FLOAT }],
        },
      ],
      initializer: [
        { name: 'axes', dims: [1], dataType: T.INT64, int64Data: [1] },
        { name: 'two', dims: [1], dataType: T.INT64, int64Data: [2] },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: T.INT64, shape: dims(2) } } }],
      output: [{ name: 'odd', type: { tensorType: { elemType: T.FLOAT, shape: dims(1) } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/** `y = x · [1, −1]` for x float64 [batch, 2], y float64 [batch, 1]: a difference float32 would lose. */
export function float64DifferenceGraph(): Buffer {
  const T = onnx.TensorProto.DataType;
  const dims = (k: number) => ({ dim: [{ dimParam: 'batch' }, { dimValue: k }] });
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'float64-difference',
      node: [{ opType: 'MatMul', input: ['x', 'w'], output: ['y'] }],
      initializer: [{ name: 'w', dims: [2, 1], dataType: T.DOUBLE, doubleData: [1, -1] }],
      input: [{ name: 'x', type: { tensorType: { elemType: T.DOUBLE, shape: dims(2) } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.DOUBLE, shape: dims(1) } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/**
 * A graph whose memory grows with the batch: `y = x · sum(ConstantOfShape([batch, 4, perRow]), axis 2)`
 * for x float32 [batch, 4], so `y = x · perRow`. Each row costs 16 · perRow bytes: with perRow 2^16 a
 * row is 1 MiB, so the import's dry run (2 rows) passes while a call of 1024 rows asks for 1 GiB.
 */
export function batchGrowingGraph(perRow: number): Buffer {
  const T = onnx.TensorProto.DataType;
  const dims = { dim: [{ dimParam: 'batch' }, { dimValue: 4 }] };
  const INT = onnx.AttributeProto.AttributeType.INT;
  const proto = onnx.ModelProto.create({
    irVersion: 7,
    producerName: 'kiln-tests',
    opsetImport: [{ domain: '', version: 13 }],
    graph: {
      name: 'batch-growing',
      node: [
        { opType: 'Shape', input: ['x'], output: ['x_shape'] },
        { opType: 'Concat', input: ['x_shape', 'per_row'], output: ['big_shape'], attribute: [{ name: 'axis', type: INT, i: 0 }] },
        {
          opType: 'ConstantOfShape',
          input: ['big_shape'],
          output: ['big'],
          attribute: [
            { name: 'value', type: onnx.AttributeProto.AttributeType.TENSOR, t: { dims: [1], dataType: T.FLOAT, floatData: [1] } },
          ],
        },
        { opType: 'ReduceSum', input: ['big', 'axes'], output: ['sums'], attribute: [{ name: 'keepdims', type: INT, i: 0 }] },
        { opType: 'Mul', input: ['x', 'sums'], output: ['y'] },
      ],
      initializer: [
        { name: 'per_row', dims: [1], dataType: T.INT64, int64Data: [perRow] },
        { name: 'axes', dims: [1], dataType: T.INT64, int64Data: [2] },
      ],
      input: [{ name: 'x', type: { tensorType: { elemType: T.FLOAT, shape: dims } } }],
      output: [{ name: 'y', type: { tensorType: { elemType: T.FLOAT, shape: dims } } }],
    },
  });
  return Buffer.from(onnx.ModelProto.encode(proto).finish());
}

/**
 * Triton's `simple_string` as ONNX (make-simple-string-fixture.py): INPUT0, INPUT1 string [batch, 16] of
 * decimal numbers → OUTPUT0 = their sum, OUTPUT1 = their difference, as strings.
 */
export function simpleStringGraph(): Buffer {
  return readFileSync(join(HERE, 'simple-string.onnx'));
}

export interface Fp16Expected {
  generatedBy: string;
  inputs: { 'input-0': number[][]; fp16_data: number[][] };
  outputs: { 'output-0': number[][]; fp16_echo: number[][]; fp16_out: number[][] };
}

/** float16 in and out beside an int32 identity (make-fp16-fixture.py; KServe's tensor names; outputs computed with numpy). */
export function fp16Graph(): { bytes: Buffer; expected: Fp16Expected } {
  return {
    bytes: readFileSync(join(HERE, 'fp16.onnx')),
    expected: JSON.parse(readFileSync(join(HERE, 'fp16.expected.json'), 'utf8')) as Fp16Expected,
  };
}
