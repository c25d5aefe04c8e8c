import { BadRequestException } from '@nestjs/common';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type * as tfconv from '@tensorflow/tfjs-converter';
import { loadModelFromBytes, type ModelBytes } from '../../platform/tfjs/artifact-io';
import {
  IsolatedOnnxModel,
  OnnxInputError,
  OnnxModel,
  OnnxOutOfMemoryError,
  onnxSessionChildFile,
  onnxSessionThreadFile,
  ONNX_THREAD_MIN_GRAPH_BYTES,
  ThreadedOnnxModel,
  type OnnxHostTensor,
  type OnnxSessionOptions,
} from '../../ml/onnx';
import type { ComputeTimes } from './model-statistics';
import { elementCount, type HostTensor, type ServedModel, type TensorSpec } from './served-model';

type EngineModel =
  | { format: 'layers-model'; model: tfl.LayersModel }
  | { format: 'graph-model'; model: tfconv.GraphModel }
  | { format: 'onnx'; model: OnnxModel | ThreadedOnnxModel | IsolatedOnnxModel };

/**
 * One model version in memory: the engine's model (TF.js layers or graph model, or an ONNX Runtime
 * session), its ServedModel description and an in-flight counter. Both engines sit behind `run`: host
 * arrays in, host arrays out, in signature order. On TF.js it is the only place tensors are created
 * for serving, disposed before it returns so nothing leaks; layers models match inputs/outputs by
 * position (their Keras names are implementation details), graph models and ONNX graphs by name.
 */
export class LoadedModel {
  private inFlight = 0;
  private disposeWhenIdle = false;
  private disposed = false;

  private constructor(
    readonly served: ServedModel,
    private readonly model: EngineModel,
    /** Size of the weights in bytes: what the LRU's memory bound counts. */
    readonly weightBytes: number,
  ) {}

  static async load(served: ServedModel, bytes: ModelBytes): Promise<LoadedModel> {
    const model = await loadModelFromBytes(bytes);
    return new LoadedModel(served, model, bytes.weights.length);
  }

  /**
   * An ONNX graph on ONNX Runtime (`served.engine` is 'onnxruntime'); `graph` is the serialized
   * ModelProto. With `isolateMemoryMb` (imported graphs) the session runs in its own process capped at
   * that much writable memory (isolated-onnx-model.ts), else in this one (Kiln's own exports; also
   * when running from sources, where there is no compiled child entry): on the ONNX serving thread
   * (threaded-onnx-model.ts: ONNX Runtime's run blocks the thread it runs on), or on the main thread
   * for a small graph (ONNX_THREAD_MIN_GRAPH_BYTES: the hop costs more than its run) and when running
   * from sources.
   */
  static async loadOnnx(
    served: ServedModel,
    graph: Uint8Array,
    opts: OnnxSessionOptions & { isolateMemoryMb?: number } = {},
  ): Promise<LoadedModel> {
    const childFile = opts.isolateMemoryMb ? onnxSessionChildFile() : null;
    const threadFile = childFile || graph.length < ONNX_THREAD_MIN_GRAPH_BYTES ? null : onnxSessionThreadFile();
    const model = childFile
      ? await IsolatedOnnxModel.start(childFile, graph, { intraOpThreads: opts.intraOpThreads, memoryLimitMb: opts.isolateMemoryMb! })
      : threadFile
        ? await ThreadedOnnxModel.start(threadFile, graph, opts)
        : await OnnxModel.fromBytes(graph, opts);
    return new LoadedModel(served, { format: 'onnx', model }, graph.length);
  }

  /** How an ONNX session's memory is capped: 'in-process' (not capped), or the launcher of its capped process. */
  get onnxIsolation(): 'in-process' | IsolatedOnnxModel['launcher'] | null {
    if (this.model.format !== 'onnx') return null;
    return this.model.model instanceof IsolatedOnnxModel ? this.model.model.launcher : 'in-process';
  }

  /** Runs one dummy batch (zeros, batch 1) so the first real request does not pay for kernel set-up. */
  async warmUp(): Promise<void> {
    const inputs = this.served.inputs.map((spec) => zeros(spec, 1));
    await this.run(inputs);
  }

  /**
   * Executes the model on validated inputs (signature order); outputs in signature order. A named
   * signature (graph models) feeds and fetches its own graph tensors. With `times`, fills in how long
   * building the input tensors, running the model and reading the outputs back took (the statistics
   * extension's compute_input / compute_infer / compute_output; ONNX Runtime's run counts as infer).
   */
  async run(inputs: HostTensor[], signature?: string, times?: ComputeTimes): Promise<HostTensor[]> {
    const def = signature !== undefined ? this.served.signatures?.[signature] : undefined;
    if (signature !== undefined && !def) throw new Error(`model ${this.served.name} has no signature '${signature}'`);
    const inputSpecs = def?.inputs ?? this.served.inputs;
    const outputSpecs = def?.outputs ?? this.served.outputs;
    if (this.disposed) throw new Error(`model ${this.served.name} version ${this.served.version} was unloaded`);
    const t0 = process.hrtime.bigint();
    if (this.model.format === 'onnx') {
      let ys: OnnxHostTensor[];
      try {
        ys = await this.model.model.run(
          inputs as OnnxHostTensor[],
          this.served.outputs.map((s) => s.name),
        );
      } catch (e) {
        if (e instanceof OnnxInputError) throw new BadRequestException(`the model cannot take these inputs: ${e.message}`);
        throw e instanceof OnnxOutOfMemoryError ? memoryRefusal(e, inputs) : e;
      }
      if (times) times.inferNs = Number(process.hrtime.bigint() - t0);
      return ys.map((y, i) => ({ ...y, name: this.served.outputs[i]!.name }));
    }
    // TF.js models take float32, int32, bool and string tensors only (int64/float64 are ONNX imports')
    const feeds = inputs.map((t) => tf.tensor(t.data as Exclude<HostTensor['data'], Float64Array>, t.shape, t.dtype as tf.DataType));
    const t1 = process.hrtime.bigint();
    try {
      let ys: tf.Tensor[];
      if (this.model.format === 'layers-model') {
        const y = this.model.model.predict(feeds.length === 1 ? feeds[0]! : feeds);
        ys = Array.isArray(y) ? y : [y];
      } else {
        const feed = Object.fromEntries(inputSpecs.map((s, i) => [s.tensor ?? s.name, feeds[i]!]));
        const names = outputSpecs.map((s) => s.tensor ?? s.name);
        let y: tf.Tensor | tf.Tensor[];
        try {
          try {
            y = this.model.model.execute(feed, names);
          } catch (e) {
            // Graphs with control flow or dynamic shapes need the async executor.
            if (!/executeAsync/.test((e as Error).message)) throw e;
            y = await this.model.model.executeAsync(feed, names);
          }
        } catch (e) {
          throw shapeRefusal(e);
        }
        ys = Array.isArray(y) ? y : [y];
      }
      const t2 = process.hrtime.bigint();
      try {
        const outputs = outputSpecs.map((spec, i) => {
          const y = ys[i];
          if (!y) throw new Error(`the model produced ${ys.length} output(s); its signature declares ${outputSpecs.length}`);
          return { name: spec.name, dtype: spec.dtype, shape: y.shape.slice(), data: hostData(y, spec) };
        });
        if (times) {
          times.inputNs = Number(t1 - t0);
          times.inferNs = Number(t2 - t1);
          times.outputNs = Number(process.hrtime.bigint() - t2);
        }
        return outputs;
      } finally {
        tf.dispose(ys);
      }
    } finally {
      tf.dispose(feeds);
    }
  }

  /** The TF.js layers model (explanations need gradients through it); null for graph models. */
  get layersModel(): tfl.LayersModel | null {
    return this.model.format === 'layers-model' ? this.model.model : null;
  }

  /** Marks one request as using this model; it is not disposed before `release`. */
  acquire(): void {
    this.inFlight += 1;
  }

  release(): void {
    this.inFlight -= 1;
    if (this.inFlight === 0 && this.disposeWhenIdle) this.dispose();
  }

  get busy(): number {
    return this.inFlight;
  }

  /** Unloads now when idle, else after the last in-flight request releases it. */
  unload(): void {
    this.disposeWhenIdle = true;
    if (this.inFlight === 0) this.dispose();
  }

  get unloaded(): boolean {
    return this.disposed;
  }

  private dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    if (this.model.format === 'onnx') {
      // Releasing a session frees native memory; nothing can still be running on it (in-flight is 0).
      this.model.model.dispose().catch(() => undefined);
    } else {
      this.model.model.dispose();
    }
  }
}

/**
 * A graph refusing the shape of an input (possible for inputs declared `[-1]`, which take any rank,
 * as TF Serving lets the model decide) is the request's fault: 400 with TF.js's reason.
 */
function shapeRefusal(e: unknown): unknown {
  const message = e instanceof Error ? e.message : String(e);
  if (/shape|rank/i.test(message)) return new BadRequestException(`the model cannot take the inputs' shapes: ${message.slice(0, 300)}`);
  return e;
}

/**
 * A model call that needed more memory than the model's process may use is the request's size's
 * fault (the graph ran on smaller inputs at import): 400 naming the inputs and their shapes.
 */
function memoryRefusal(e: OnnxOutOfMemoryError, inputs: HostTensor[]): BadRequestException {
  const named = inputs.map((t) => `'${t.name}' [${t.shape.join(', ')}]`).join(', ');
  return new BadRequestException(
    `input ${named}: the model cannot run on inputs this large: ${e.message} ` +
      '(KILN_ONNX_SERVING_MAX_MEMORY_MB); send fewer rows or smaller dimensions',
  );
}

function hostData(y: tf.Tensor, spec: TensorSpec): HostTensor['data'] {
  // String tensors: their bytes as the backend holds them (dataSync would decode them as UTF-8).
  if (spec.dtype === 'string') return (tf.engine().readSync(y.dataId) as Uint8Array[]).map((b) => b.slice());
  const d = y.dataSync();
  if (spec.dtype === 'bool') return Uint8Array.from(d as ArrayLike<number>);
  if (spec.dtype === 'int32') return d instanceof Int32Array ? d.slice() : Int32Array.from(d as ArrayLike<number>);
  return d instanceof Float32Array ? d.slice() : Float32Array.from(d as ArrayLike<number>);
}

/** A zero tensor of a signature entry with every variable dimension set to `rows`. */
export function zeros(spec: TensorSpec, rows: number): HostTensor {
  const shape = spec.shape.map((d) => (d < 0 ? rows : d));
  const n = elementCount(shape);
  const data =
    spec.dtype === 'float32'
      ? new Float32Array(n)
      : spec.dtype === 'int32'
        ? new Int32Array(n)
        : spec.dtype === 'int64' || spec.dtype === 'float64'
          ? new Float64Array(n)
          : spec.dtype === 'string'
            ? Array.from({ length: n }, () => Uint8Array.of(0x30)) // "0": the zero of text models that parse numbers too
            : new Uint8Array(n);
  return { name: spec.name, dtype: spec.dtype, shape, data };
}
