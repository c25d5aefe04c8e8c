/**
 * An ONNX graph served from its own memory-capped process (onnx-session.child.ts), for graphs Kiln did
 * not write: an imported graph passed its dry run on two rows, but nothing bounds what it allocates for
 * a larger batch or a large dynamic dimension (Expand / Tile / ConstantOfShape fed by the input's
 * shape, a quadratic MatMul …), and ONNX Runtime allocates natively, where no V8 or worker limit
 * reaches. ONNX Runtime's own session options do not help either: `enableCpuMemArena: false` only
 * stops it keeping freed memory, and the arena's size limit is not among onnxruntime-node's options.
 * In the child, an allocation past the cap fails inside ONNX Runtime (the call gets an
 * OnnxOutOfMemoryError) or kills the process (the calls in flight get one, and the next call starts a
 * new process); the server and every other model keep running.
 *
 * The price is a copy of the tensors each way over the IPC channel per model call (dynamic batching
 * makes that once per batch); `npm run bench:engines` measures it against the in-process session.
 * Kiln's own exports (mlp, linear: Gemm and activations, memory linear in rows) run in process.
 */
import { join } from 'node:path';
import { existsSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { sendToChild, spawnCapped, type CapLauncher } from '../../platform/util/capped-spawn';
import { OnnxInputError, OnnxModelError, type OnnxHostTensor, type OnnxTensorInfo } from './onnx-model';
import type { SessionReply, SessionRequest } from './onnx-session.child';

/** A model call ONNX Runtime could not allocate for under the session process's cap (or that killed it). */
export class OnnxOutOfMemoryError extends Error {
  constructor(
    readonly memoryLimitMb: number,
    detail: string,
  ) {
    super(`ONNX Runtime needed more memory than the model's process may use (${memoryLimitMb} MiB): ${detail}`);
    this.name = 'OnnxOutOfMemoryError';
  }
}

export interface IsolatedOnnxOptions {
  intraOpThreads?: number;
  /** The session process's cap on writable memory (RLIMIT_DATA), MiB. */
  memoryLimitMb: number;
}

const OUT_OF_MEMORY = /Failed to allocate|bad_alloc|out of memory|Cannot allocate|ENOMEM|Array buffer allocation failed/i;
const STDERR_KEEP = 4096;

interface Pending {
  resolve(outputs: OnnxHostTensor[]): void;
  reject(e: Error): void;
}

/** The compiled child entry; null when running from sources (the caller then loads in process). */
export function onnxSessionChildFile(): string | null {
  const js = join(__dirname, 'onnx-session.child.js');
  return existsSync(js) ? js : null;
}

class SessionProcess {
  readonly pending = new Map<number, Pending>();
  stderr = '';
  exited = false;
  /** ONNX Runtime failed to allocate here: its state is suspect, so new calls go to a new process and this one ends once idle. */
  retiring = false;

  constructor(
    readonly child: ChildProcess,
    readonly launcher: CapLauncher,
  ) {}
}

export class IsolatedOnnxModel {
  private proc: SessionProcess | null = null;
  private starting: Promise<SessionProcess> | null = null;
  private nextId = 1;
  private disposed = false;

  private constructor(
    private readonly file: string,
    private readonly graph: Uint8Array,
    private readonly opts: IsolatedOnnxOptions,
    readonly inputs: OnnxTensorInfo[],
    readonly outputs: OnnxTensorInfo[],
    /** How the cap was set (prlimit, ulimit, or none: the caller warns). */
    readonly launcher: CapLauncher,
  ) {}

  /** Starts the session process and loads the graph there; OnnxModelError when ONNX Runtime refuses it. */
  static async start(file: string, graph: Uint8Array, opts: IsolatedOnnxOptions): Promise<IsolatedOnnxModel> {
    const { proc, inputs, outputs } = await spawnSession(file, graph, opts);
    const model = new IsolatedOnnxModel(file, graph, opts, inputs, outputs, proc.launcher);
    model.adopt(proc);
    return model;
  }

  /** Same contract as OnnxModel.run; OnnxOutOfMemoryError when the call needs more than the cap. */
  async run(inputs: OnnxHostTensor[], outputNames: string[] = this.outputs.map((o) => o.name)): Promise<OnnxHostTensor[]> {
    if (this.disposed) throw new Error('the ONNX session was released');
    const proc = await this.process();
    const id = this.nextId++;
    return new Promise<OnnxHostTensor[]>((resolve, reject) => {
      if (proc.pending.size === 0) keepAlive(proc.child, true);
      proc.pending.set(id, { resolve, reject });
      if (!sendToChild(proc.child, { type: 'run', id, inputs, outputNames } satisfies SessionRequest)) {
        proc.pending.delete(id);
        reject(new Error('the ONNX session process is gone'));
      }
    });
  }

  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    const proc = this.proc;
    this.proc = null;
    if (proc && !proc.exited) proc.child.kill('SIGKILL');
  }

  /** The live process, or a new one (with the graph loaded again) after the last one died. */
  private async process(): Promise<SessionProcess> {
    if (this.proc && !this.proc.exited && !this.proc.retiring) return this.proc;
    this.starting ??= spawnSession(this.file, this.graph, this.opts).then(
      ({ proc }) => {
        this.starting = null;
        if (this.disposed) proc.child.kill('SIGKILL');
        else this.adopt(proc);
        return proc;
      },
      (e: unknown) => {
        this.starting = null;
        throw e;
      },
    );
    return this.starting;
  }

  private adopt(proc: SessionProcess): void {
    this.proc = proc;
    proc.child.on('message', (m: SessionReply) => {
      if (m.type !== 'result' && m.type !== 'failed') return;
      const p = proc.pending.get(m.id);
      if (!p) return;
      proc.pending.delete(m.id);
      if (proc.pending.size === 0) keepAlive(proc.child, false);
      if (m.type === 'result') p.resolve(m.outputs);
      else if (m.input) p.reject(new OnnxInputError(m.message));
      else if (OUT_OF_MEMORY.test(m.message)) {
        // After a failed allocation ONNX Runtime may keep failing small ones (measured: a 3-row call after
        // a refused 1024-row one): the process is retired and the next call starts a fresh one.
        proc.retiring = true;
        p.reject(new OnnxOutOfMemoryError(this.opts.memoryLimitMb, firstLine(m.message)));
      } else p.reject(new Error(`ONNX Runtime: ${firstLine(m.message)}`));
      if (proc.retiring && proc.pending.size === 0 && !proc.exited) proc.child.kill('SIGKILL');
    });
    proc.child.on('exit', (code, signal) => {
      // Whatever killed it was one of the calls in flight: each of them is refused, later calls get a new process.
      const lastLine = proc.stderr.trim().split('\n').pop()?.slice(0, 300) ?? '';
      const detail = `its process stopped (${signal ?? `exit code ${code}`})${lastLine ? `: ${lastLine}` : ''}`;
      for (const p of proc.pending.values()) p.reject(new OnnxOutOfMemoryError(this.opts.memoryLimitMb, detail));
      proc.pending.clear();
    });
    // (Node refs the channel when a 'message' listener is added: an idle session holds nothing up)
    if (proc.pending.size === 0) keepAlive(proc.child, false);
  }
}

function spawnSession(
  file: string,
  graph: Uint8Array,
  opts: IsolatedOnnxOptions,
): Promise<{ proc: SessionProcess; inputs: OnnxTensorInfo[]; outputs: OnnxTensorInfo[] }> {
  const { child, launcher } = spawnCapped(file, {
    memoryMb: opts.memoryLimitMb,
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    serialization: 'advanced',
    // nothing of the server's environment (keys, database URL) reaches the graph's process
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin' },
  });
  const proc = new SessionProcess(child, launcher);
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => (proc.stderr = (proc.stderr + s).slice(-STDERR_KEEP)));
  child.on('error', () => undefined); // reported by 'exit'
  // an idle session process must not keep the server's event loop alive (calls in flight do: keepAlive)
  child.unref();
  (child.stderr as unknown as { unref?: () => void }).unref?.();
  return new Promise((resolve, reject) => {
    const onExit = (code: number | null, signal: string | null) => {
      proc.exited = true;
      const lastLine = proc.stderr.trim().split('\n').pop()?.slice(0, 300) ?? '';
      reject(new Error(`the ONNX session process stopped while loading the graph (${signal ?? `exit code ${code}`}): ${lastLine}`));
    };
    child.once('exit', onExit);
    child.on('exit', () => (proc.exited = true));
    child.once('message', (m: SessionReply) => {
      child.off('exit', onExit);
      if (m.type === 'loaded') resolve({ proc, inputs: m.inputs, outputs: m.outputs });
      else {
        child.kill('SIGKILL');
        reject(new OnnxModelError(m.type === 'load-failed' ? m.message : 'the ONNX session process answered out of turn'));
      }
    });
    keepAlive(child, true); // until adopted (then only while calls are in flight)
    if (!sendToChild(child, { type: 'load', graph, intraOpThreads: opts.intraOpThreads ?? 1 } satisfies SessionRequest))
      reject(new Error('the ONNX session process could not be started'));
  });
}

/** Refs the IPC channel (the event loop waits for the child's answers) or unrefs it (an idle child holds nothing up). */
function keepAlive(child: ChildProcess, on: boolean): void {
  const channel = child.channel as unknown as { ref?: () => void; unref?: () => void } | undefined;
  if (on) channel?.ref?.();
  else channel?.unref?.();
}

function firstLine(message: string): string {
  return message.split('\n')[0]!.slice(0, 500);
}
