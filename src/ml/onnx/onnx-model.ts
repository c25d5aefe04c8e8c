import * as ort from 'onnxruntime-node';
import { Float16Array } from '@petamoriken/float16';

/**
 * Kiln's second serving engine: an ONNX graph on ONNX Runtime (`onnxruntime-node`, CPU execution
 * provider; its native binaries ship inside the npm package). Framework-free like the rest of the
 * ML kernel: the inference runtime wraps an OnnxModel behind the same `run(host tensors)` contract as
 * a TF.js model, and the model import uses `describe` + a dry run to check a graph before it is stored.
 *
 * Tensors are host arrays (row-major). Kiln's tensor types here are float32, int32, bool (0/1 bytes),
 * float64, int64 and string, the types its serving protocols carry; int64 is held as a Float64Array
 * (exact within ±2^53, what a JSON number holds) and converted to and from ONNX Runtime's
 * BigInt64Array in `run`. A string tensor is held as the bytes of each element (as the OIP's BYTES);
 * onnxruntime-node takes and gives string tensors as JS strings (UTF-8 on the native side), so
 * elements must be UTF-8 text without NUL bytes (its string copies end at the first NUL): anything
 * else is refused with an OnnxInputError naming the element.
 * A float16 input or output is served as float32 and converted at the boundary: Kiln's signature
 * shows it as float32 (so FP32 JSON numbers, and FP16 binary data the protocols widen, both reach it),
 * inputs are rounded to the nearest float16 (ties to even; beyond ±65504 → ±Infinity, as a cast
 * does) just before ONNX Runtime, and outputs widened exactly to float32 just after it.
 * A graph whose inputs or outputs use another type (uint8 …, sequences, maps) is refused
 * by `fromBytes` with the name of the tensor.
 */
export type OnnxDtype = 'float32' | 'int32' | 'bool' | 'float64' | 'int64' | 'string';

export interface OnnxTensorInfo {
  name: string;
  dtype: OnnxDtype;
  /** -1 for a symbolic or unknown dimension; null when the graph does not state the rank. */
  shape: number[] | null;
  /** The graph's own element type when Kiln converts at the boundary (float16 tensors, served as float32). */
  graphType?: 'float16';
}

export interface OnnxHostTensor {
  name: string;
  dtype: OnnxDtype;
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array | Float64Array | Uint8Array[];
}

/** A graph ONNX Runtime cannot load, or one Kiln cannot serve; `message` says why (and names the tensor). */
export class OnnxModelError extends Error {
  constructor(
    message: string,
    /** The tensor at fault, `inputs.N` / `outputs.N`, or null for the whole graph. */
    readonly tensor: string | null = null,
  ) {
    super(message);
    this.name = 'OnnxModelError';
  }
}

/** Inputs the graph cannot take (a string element that is not UTF-8, a value an operator refuses): the caller's fault. */
export class OnnxInputError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'OnnxInputError';
  }
}

export interface OnnxSessionOptions {
  /** Threads of one operator (ONNX Runtime's intra-op pool); default 1 (see KILN_ONNX_THREADS). */
  intraOpThreads?: number;
  /** ONNX Runtime's CPU memory arena (default on, as ONNX Runtime's own default). */
  cpuMemArena?: boolean;
  /** ONNX Runtime's memory pattern: plans the buffers of a run from earlier runs of the same shapes (default on). */
  memPattern?: boolean;
  /** Whether idle intra-op threads spin waiting for work (ONNX Runtime's default) rather than sleep; no effect with 1 thread. */
  intraOpSpinning?: boolean;
}

/** What engine this is, for logs, /api/platform, server metadata and lineage. */
export function onnxRuntimeInfo(): { provider: 'onnxruntime-node'; version: string; executionProviders: string[] } {
  return { provider: 'onnxruntime-node', version: ort.env.versions.node ?? ort.env.versions.common, executionProviders: ['cpu'] };
}

const SERVABLE: Record<string, OnnxDtype | undefined> = {
  float32: 'float32',
  float16: 'float32',
  int32: 'int32',
  bool: 'bool',
  float64: 'float64',
  int64: 'int64',
  string: 'string',
};

function infoOf(meta: ort.InferenceSession.ValueMetadata, where: string): OnnxTensorInfo {
  if (!meta.isTensor) throw new OnnxModelError(`'${meta.name}' is not a tensor (sequences and maps cannot be served)`, where);
  const dtype = SERVABLE[meta.type];
  if (!dtype) {
    throw new OnnxModelError(
      `'${meta.name}' has element type ${meta.type}; Kiln serves float32, float16, float64, int32, int64, bool and string tensors ` +
        `(export it as float32, e.g. cast inside the graph)`,
      where,
    );
  }
  const shape = meta.shape.length === 0 ? null : meta.shape.map((d) => (typeof d === 'number' && d >= 0 ? d : -1));
  return { name: meta.name, dtype, shape, ...(meta.type === 'float16' ? { graphType: 'float16' as const } : {}) };
}

/** float32 values → the bits of the nearest float16 each (ONNX Runtime's float16 tensors are Uint16Array). */
function toFloat16Bits(values: Float32Array): Uint16Array {
  return new Uint16Array(Float16Array.from(values).buffer);
}

/** float16 bits → float32 (exact: every float16 is a float32). */
function fromFloat16Bits(bits: Uint16Array): Float32Array {
  return Float32Array.from(new Float16Array(bits.buffer, bits.byteOffset, bits.length));
}

/** One ONNX graph loaded into an ONNX Runtime session. */
export class OnnxModel {
  private disposed = false;

  /** Names of the float16 inputs and outputs (converted at the boundary). */
  private readonly half: ReadonlySet<string>;

  private constructor(
    private readonly session: ort.InferenceSession,
    readonly inputs: OnnxTensorInfo[],
    readonly outputs: OnnxTensorInfo[],
  ) {
    this.half = new Set([...inputs, ...outputs].filter((t) => t.graphType === 'float16').map((t) => t.name));
  }

  /**
   * Loads a serialized ModelProto. Throws OnnxModelError when ONNX Runtime refuses it (not protobuf,
   * unknown operator, bad opset, invalid graph) or when an input or output is not a servable tensor.
   */
  static async fromBytes(bytes: Uint8Array, opts: OnnxSessionOptions = {}): Promise<OnnxModel> {
    let session: ort.InferenceSession;
    try {
      session = await ort.InferenceSession.create(bytes, {
        executionProviders: ['cpu'],
        graphOptimizationLevel: 'all',
        intraOpNumThreads: opts.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        enableCpuMemArena: opts.cpuMemArena ?? true,
        enableMemPattern: opts.memPattern ?? true,
        ...(opts.intraOpSpinning === false ? { extra: { session: { intra_op: { allow_spinning: '0' } } } } : {}),
        executionMode: 'sequential',
        // Fatal only: a refused graph's reason reaches the caller (400 or the load error), not stderr.
        logSeverityLevel: 4,
      });
    } catch (e) {
      throw new OnnxModelError(`ONNX Runtime cannot load the graph: ${firstLine(e)}`);
    }
    try {
      const inputs = session.inputMetadata.map((m, i) => infoOf(m, `inputs.${i}`));
      const outputs = session.outputMetadata.map((m, i) => infoOf(m, `outputs.${i}`));
      if (inputs.length === 0) throw new OnnxModelError('the graph has no inputs');
      if (outputs.length === 0) throw new OnnxModelError('the graph has no outputs');
      return new OnnxModel(session, inputs, outputs);
    } catch (e) {
      await session.release();
      throw e;
    }
  }

  /** Runs the graph; `inputs` in `this.inputs` order, outputs in `this.outputs` order (or the named subset). */
  async run(inputs: OnnxHostTensor[], outputNames: string[] = this.outputs.map((o) => o.name)): Promise<OnnxHostTensor[]> {
    if (this.disposed) throw new Error('the ONNX session was released');
    const feeds: Record<string, ort.Tensor> = {};
    for (const t of inputs) {
      if (Array.isArray(t.data)) {
        feeds[t.name] = new ort.Tensor('string', textOf(t.data, t.name), t.shape);
        continue;
      }
      if (this.half.has(t.name)) {
        feeds[t.name] = new ort.Tensor('float16', toFloat16Bits(t.data as Float32Array), t.shape);
        continue;
      }
      const data = t.dtype === 'int64' ? BigInt64Array.from(t.data as Float64Array, (v) => BigInt(v)) : t.data;
      feeds[t.name] = new ort.Tensor(t.dtype as Exclude<OnnxDtype, 'string'>, data, t.shape);
    }
    let result: ort.InferenceSession.OnnxValueMapType;
    try {
      result = await this.session.run(feeds, outputNames);
    } catch (e) {
      // An operator that fails on the values it was given (Cast of "abc" to a number, …): the inputs are at fault.
      const message = firstLine(e);
      if (/Non-zero status code returned while running/.test(message) && !/allocate|bad_alloc/i.test(message)) {
        throw new OnnxInputError(withoutAnsiColours(message));
      }
      // ONNX Runtime's own check of the feeds against the graph's declared ranks and dimensions: reached by
      // inputs declared [-1], which take any rank (TF Serving's rule) and leave the graph to decide.
      if (/(Invalid rank for input|Got invalid dimensions for input)/.test(message)) {
        throw new OnnxInputError(withoutAnsiColours(oneLine(e)));
      }
      throw e;
    }
    return outputNames.map((name) => {
      const y = result[name] as ort.Tensor | undefined;
      if (!y) throw new Error(`ONNX Runtime returned no output '${name}'`);
      const dtype = SERVABLE[y.type];
      if (!dtype) throw new Error(`output '${name}' came back as ${y.type}`);
      const data =
        dtype === 'string'
          ? (y.data as string[]).map((v) => UTF8.encode(v))
          : dtype === 'bool'
            ? Uint8Array.from(y.data as Uint8Array)
            : dtype === 'int64'
              ? int64ToHost(y.data as BigInt64Array, name)
              : y.type === 'float16'
                ? fromFloat16Bits(y.data as Uint16Array)
                : (y.data as Float32Array | Int32Array | Float64Array);
      return { name, dtype, shape: y.dims.slice(), data };
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.session.release();
  }
}

const UTF8 = new TextEncoder();
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** A string tensor's elements as text (ONNX Runtime's string tensors are UTF-8): a byte string that is not UTF-8 is refused. */
function textOf(elements: Uint8Array[], name: string): string[] {
  return elements.map((b, i) => {
    // onnxruntime-node copies each string up to its first NUL (C strings): refused rather than cut short.
    if (b.includes(0))
      throw new OnnxInputError(`input '${name}' element ${i} holds a NUL byte: ONNX Runtime's string tensors end at the first NUL`);
    try {
      return STRICT_UTF8.decode(b);
    } catch {
      throw new OnnxInputError(`input '${name}' element ${i} is not UTF-8 text: ONNX Runtime takes string tensors as UTF-8`);
    }
  });
}

/** An int64 output as host data (Float64Array): exact within ±2^53; a value past that is an error, never rounded. */
function int64ToHost(data: BigInt64Array, name: string): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i]!;
    if (v > MAX_SAFE || v < -MAX_SAFE)
      throw new Error(`int64 output '${name}' holds ${v}, beyond ±2^53: Kiln serves int64 values exactly within that range only`);
    out[i] = Number(v);
  }
  return out;
}
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** ONNX Runtime colours some messages for a terminal: the escape sequences go (ESC is code 27). */
function withoutAnsiColours(text: string): string {
  return text.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0]!.slice(0, 500);
}

/** The whole message on one line (ONNX Runtime lists a dimension mismatch's indices on lines of their own). */
function oneLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').trim().slice(0, 500);
}
