/**
 * An ONNX graph served in this process but run off the main thread: its session lives on the ONNX
 * serving thread (onnx-session.worker.ts, one worker thread for every session served in process).
 *
 * Why: onnxruntime-node's `session.run` returns a promise but runs the graph synchronously on the
 * calling thread (its backend wraps the native call in a setImmediate), so on the main thread every
 * model call blocks the event loop for its whole duration: no request is parsed or answered meanwhile.
 * On the thread the main thread keeps serving while the graph runs on another core; with dynamic
 * batching the next batch fills while the current one runs. The price is a copy of the inputs to the
 * thread (outputs come back transferred, not copied) and two messages per model call: per batch with
 * batching on. `npm run bench:engines` (BENCH_PARTS=inproc) measures it against the main-thread session.
 *
 * If the thread dies (it should not: ONNX Runtime's own errors are answered as failed calls), the
 * calls in flight are refused and each model loads its session again on a new thread at its next call.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { OnnxInputError, OnnxModelError, type OnnxHostTensor, type OnnxSessionOptions, type OnnxTensorInfo } from './onnx-model';
import type { ThreadReply, ThreadRequest } from './onnx-session.worker';

/**
 * Graphs smaller than this (serialized bytes, nearly all weights) run on the main thread: the hop to the
 * thread and back costs some 10–20 µs of CPU per model call, more than such a graph takes to run. Measured
 * (bench/engines/record-api-ab.ts, 64 clients): the small network (30 → 64 → 32 → 1, 17 KB) cost ~10 %
 * more CPU per request on the thread; the large one (100 → 512 → 512 → 512 → 1, 2.3 MB) less.
 */
export const ONNX_THREAD_MIN_GRAPH_BYTES = 256 * 1024;

/** The compiled thread entry; null when running from sources (the caller then runs the session on the main thread). */
export function onnxSessionThreadFile(): string | null {
  const js = join(__dirname, 'onnx-session.worker.js');
  return existsSync(js) ? js : null;
}

interface Pending<T> {
  resolve(value: T): void;
  reject(e: Error): void;
}

class ServingThread {
  readonly worker: Worker;
  readonly loads = new Map<number, Pending<{ inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] }>>();
  readonly calls = new Map<number, Pending<OnnxHostTensor[]>>();
  exited = false;

  constructor(file: string) {
    this.worker = new Worker(file, { name: 'kiln-onnx-serving' });
    // an idle thread holds nothing up (the server's shutdown, a test's exit); calls in flight do (`busy`)
    this.worker.unref();
    this.worker.on('message', (m: ThreadReply) => this.answer(m));
    this.worker.on('error', () => undefined); // reported by 'exit'
    this.worker.on('exit', (code) => {
      this.exited = true;
      const why = new Error(`the ONNX serving thread stopped (exit code ${code})`);
      for (const p of [...this.loads.values(), ...this.calls.values()]) p.reject(why);
      this.loads.clear();
      this.calls.clear();
    });
  }

  post(m: ThreadRequest): void {
    this.worker.postMessage(m);
    this.busy();
  }

  /** Refs the thread while anything is pending, unrefs it when idle. */
  busy(): void {
    if (this.loads.size + this.calls.size > 0) this.worker.ref();
    else this.worker.unref();
  }

  private answer(m: ThreadReply): void {
    if (m.type === 'loaded' || m.type === 'load-failed') {
      const p = this.loads.get(m.session);
      this.loads.delete(m.session);
      if (m.type === 'loaded') p?.resolve({ inputs: m.inputs, outputs: m.outputs });
      else p?.reject(m.refused ? new OnnxModelError(m.message, m.tensor) : new Error(m.message));
    } else {
      const p = this.calls.get(m.call);
      this.calls.delete(m.call);
      if (m.type === 'result') p?.resolve(m.outputs);
      else p?.reject(m.input ? new OnnxInputError(m.message) : new Error(m.message));
    }
    this.busy();
  }
}

let shared: ServingThread | null = null;
let nextId = 1;

function servingThread(file: string): ServingThread {
  if (!shared || shared.exited) shared = new ServingThread(file);
  return shared;
}

async function load(thread: ServingThread, graph: Uint8Array, options: OnnxSessionOptions) {
  const session = nextId++;
  const info = await new Promise<{ inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] }>((resolve, reject) => {
    thread.loads.set(session, { resolve, reject });
    thread.post({ type: 'load', session, graph, options });
  });
  return { session, ...info };
}

export class ThreadedOnnxModel {
  private disposed = false;
  private reloading: Promise<void> | null = null;

  private constructor(
    private readonly file: string,
    private readonly graph: Uint8Array,
    private readonly options: OnnxSessionOptions,
    private thread: ServingThread,
    private session: number,
    readonly inputs: OnnxTensorInfo[],
    readonly outputs: OnnxTensorInfo[],
  ) {}

  /** Loads the graph into a session on the serving thread; OnnxModelError when ONNX Runtime refuses it. */
  static async start(file: string, graph: Uint8Array, opts: OnnxSessionOptions = {}): Promise<ThreadedOnnxModel> {
    const thread = servingThread(file);
    const options: OnnxSessionOptions = { ...opts, intraOpThreads: opts.intraOpThreads ?? 1 };
    const { session, inputs, outputs } = await load(thread, graph, options);
    return new ThreadedOnnxModel(file, graph, options, thread, session, inputs, outputs);
  }

  /** Same contract as OnnxModel.run. */
  async run(inputs: OnnxHostTensor[], outputNames: string[] = this.outputs.map((o) => o.name)): Promise<OnnxHostTensor[]> {
    if (this.disposed) throw new Error('the ONNX session was released');
    if (this.thread.exited) await this.reload();
    const thread = this.thread;
    const call = nextId++;
    return new Promise<OnnxHostTensor[]>((resolve, reject) => {
      thread.calls.set(call, { resolve, reject });
      thread.post({ type: 'run', call, session: this.session, inputs, outputNames });
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (!this.thread.exited) this.thread.post({ type: 'release', session: this.session });
  }

  /** The thread died: the session is loaded again on a new one (once, however many calls are waiting). */
  private reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        const thread = servingThread(this.file);
        const { session } = await load(thread, this.graph, this.options);
        this.thread = thread;
        this.session = session;
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }
}
