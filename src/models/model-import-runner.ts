/**
 * Runs a model import's checks and storing (model-import.worker.ts) in a worker thread, so nothing a
 * developer key uploads — a huge model.json, a model whose dry prediction computes for seconds —
 * stalls the HTTP event loop, and nothing it allocated outlives the call: each import gets a fresh
 * thread that is terminated when it answers (or fails, or times out).
 *
 * Why not the training threads (src/training/train-runner.ts): they are long-lived on purpose (TF.js
 * initialised once, jobs one after another), so they keep their heap between jobs; an import is rare
 * and untrusted, so its thread is thrown away and its memory with it. Like training, a missing
 * compiled worker file (running from sources) falls back to this thread.
 *
 * ONNX imports are checked in a child process instead (`checkOnnxImport`, onnx-import.child.ts): ONNX
 * Runtime allocates natively, outside what a worker's resourceLimits bound, so the cap there is the
 * process's RLIMIT_DATA (set by prlimit or a shell's ulimit, src/platform/util/capped-spawn.ts; on a
 * machine with neither the check still runs, uncapped but for Node's heap, with a warning logged).
 *
 * At most MAX_RUNNING imports are checked at once per process and MAX_WAITING wait for a turn; past
 * that the call is refused with 503 (retry later) instead of queueing uploads in memory.
 */
import { Logger, ServiceUnavailableException } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ValidationProblemException } from '../platform/http/validation';
import { spawnCapped } from '../platform/util/capped-spawn';
import type { Readable } from 'node:stream';
import { ONNX_CHECK_ENV, type OnnxCheckReply, type OnnxCheckRequest } from './onnx-import.child';
import { checkOnnxGraph, type CheckedOnnxGraph, type OnnxRecordContract } from './onnx-import';
import { checkImportInThisThread, type CheckedImport, type ImportCheckReply, type ImportCheckRequest } from './model-import.worker';

const logger = new Logger('ModelImport');
const MAX_RUNNING = 1;
const MAX_WAITING = 8;
/** Longest check (load + dry prediction + storing); past it the thread is terminated and the import refused. */
export const IMPORT_CHECK_TIMEOUT_MS = 120_000;
/** JS heap of an import thread (model.json is parsed there); the thread stops with an out-of-memory error past it. */
const IMPORT_THREAD_HEAP_MB = 1024;

let running = 0;
const waiting: Array<() => void> = [];

async function turn(): Promise<() => void> {
  if (running >= MAX_RUNNING) {
    if (waiting.length >= MAX_WAITING) {
      throw new ServiceUnavailableException(`${running + waiting.length} model imports are being checked already; retry later`);
    }
    await new Promise<void>((resolve) => waiting.push(resolve));
  } else {
    running++;
  }
  // a finished import hands its slot straight to the next waiter (running stays counted)
  return () => {
    const next = waiting.shift();
    if (next) next();
    else running--;
  };
}

function workerFile(): string | null {
  const js = join(__dirname, 'model-import.worker.js');
  return existsSync(js) ? js : null;
}

/** Checks the uploaded model against its signature and stores it; 400 naming the problem otherwise. */
export async function checkImport(req: ImportCheckRequest, timeoutMs = IMPORT_CHECK_TIMEOUT_MS): Promise<CheckedImport> {
  const done = await turn();
  try {
    const file = workerFile();
    if (!file) return await checkImportInThisThread(req);
    return await inThread(file, req, timeoutMs);
  } finally {
    done();
  }
}

function inThread(file: string, req: ImportCheckRequest, timeoutMs: number): Promise<CheckedImport> {
  const worker = new Worker(file, { resourceLimits: { maxOldGenerationSizeMb: IMPORT_THREAD_HEAP_MB } });
  return new Promise<CheckedImport>((resolve, reject) => {
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
      void worker.terminate();
    };
    const refuse = (reason: string) => settle(() => reject(new ValidationProblemException([{ field: 'model', reason }])));
    const timer = setTimeout(() => refuse(`the dry prediction did not finish within ${Math.round(timeoutMs / 1000)} s`), timeoutMs);
    worker.on('message', (m: ImportCheckReply) => {
      if (m.type === 'done') settle(() => resolve(m.result));
      else if (m.type === 'invalid') settle(() => reject(new ValidationProblemException(m.errors)));
      else settle(() => reject(new Error(`model import check failed: ${m.message}`)));
    });
    worker.on('error', (e: Error & { code?: string }) => {
      if (e.code === 'ERR_WORKER_OUT_OF_MEMORY')
        refuse(`too large to check: the import ran out of memory (${IMPORT_THREAD_HEAP_MB} MB heap)`);
      else settle(() => reject(e));
    });
    worker.on('exit', (code) => settle(() => reject(new Error(`model import thread exited with code ${code} before answering`))));
    worker.postMessage(req);
  });
}

export interface OnnxCheckOptions {
  maxElements: number;
  /** The check process's cap on writable memory (RLIMIT_DATA), in MiB. */
  memoryLimitMb: number;
  timeoutMs?: number;
}

function onnxChildFile(): string | null {
  const js = join(__dirname, 'onnx-import.child.js');
  return existsSync(js) ? js : null;
}

/**
 * Checks an uploaded ONNX graph (onnx-import.ts `checkOnnxGraph`) in a child process under a memory
 * and CPU cap (onnx-import.child.ts says why a process); 400 naming `model` when it is refused, runs
 * out of memory, dies or exceeds the timeout. Shares the import turns with TF.js imports.
 * Running from sources (no compiled child file), the check runs in this process, uncapped.
 */
export async function checkOnnxImport(
  graph: Buffer,
  contract: OnnxRecordContract | null,
  opts: OnnxCheckOptions,
): Promise<CheckedOnnxGraph> {
  const done = await turn();
  try {
    const file = onnxChildFile();
    if (!file) return await checkOnnxGraph(graph, contract, opts.maxElements);
    return await inChildProcess(
      file,
      graph,
      { contract, maxElements: opts.maxElements, memoryLimitMb: opts.memoryLimitMb },
      opts.timeoutMs ?? IMPORT_CHECK_TIMEOUT_MS,
    );
  } finally {
    done();
  }
}

/** Last lines of what the child wrote to stderr are kept for the refusal (a native abort says why there). */
const STDERR_KEEP = 4096;

function inChildProcess(file: string, graph: Buffer, req: OnnxCheckRequest, timeoutMs: number): Promise<CheckedOnnxGraph> {
  // The caps are set by a launcher (prlimit, else a shell's ulimit: src/platform/util/capped-spawn.ts);
  // CPU seconds are capped a little past the timeout as a backstop.
  const cpuSeconds = Math.ceil(timeoutMs / 1000) + 5;
  const { child, launcher } = spawnCapped(file, {
    memoryMb: req.memoryLimitMb,
    cpuSeconds,
    stdio: ['pipe', 'ignore', 'pipe', 'pipe'],
    // Only what the check needs: none of the server's secrets (keys, database URL) reach the process.
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', [ONNX_CHECK_ENV]: JSON.stringify(req) },
  });
  if (launcher === 'none')
    logger.warn(
      'neither prlimit nor /bin/sh is on this machine: the ONNX import check runs without a memory cap ' +
        '(KILN_IMPORT_MAX_MEMORY_MB is not applied; only its Node heap is bounded). Install util-linux to cap it.',
    );
  return new Promise<CheckedOnnxGraph>((resolve, reject) => {
    let settled = false;
    let reply = '';
    let stderr = '';
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      f();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    };
    const refuse = (reason: string) => settle(() => reject(new ValidationProblemException([{ field: 'model', reason }])));
    const timer = setTimeout(
      () => refuse(`the check (load and dry run) did not finish within ${Math.round(timeoutMs / 1000)} s`),
      timeoutMs,
    );
    const replyStream = child.stdio[3] as Readable;
    replyStream.setEncoding('utf8');
    replyStream.on('data', (s: string) => (reply += s));
    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (s: string) => (stderr = (stderr + s).slice(-STDERR_KEEP)));
    // The child may die before reading all of the graph (EPIPE): its exit says why.
    child.stdin!.on('error', () => undefined);
    child.stdin!.end(graph);
    child.on('error', (e) => settle(() => reject(e)));
    child.on('close', (code, signal) => {
      if (reply) {
        let m: OnnxCheckReply;
        try {
          m = JSON.parse(reply) as OnnxCheckReply;
        } catch {
          return settle(() => reject(new Error(`ONNX import check answered something unreadable (exit ${code ?? signal})`)));
        }
        if (m.type === 'done') return settle(() => resolve(m.result));
        if (m.type === 'invalid') return settle(() => reject(new ValidationProblemException(m.errors)));
        return settle(() => reject(new Error(`ONNX import check failed: ${m.message}`)));
      }
      // No answer: the graph made the process die (out of memory, over the CPU cap, a native abort).
      const lastLine = stderr.trim().split('\n').pop()?.slice(0, 300) ?? '';
      const outOfMemory = /out of memory|bad_alloc|Failed to allocate|Cannot allocate|ENOMEM/i.test(stderr);
      const why = outOfMemory
        ? `it needs more memory than an import may use (${req.memoryLimitMb} MB, KILN_IMPORT_MAX_MEMORY_MB)`
        : signal === 'SIGXCPU'
          ? `it used more than ${cpuSeconds} s of CPU`
          : `the check process stopped (${signal ?? `exit code ${code}`})`;
      refuse(`ONNX Runtime could not load and dry-run the graph: ${why}${lastLine && !outOfMemory ? `: ${lastLine}` : ''}`);
    });
  });
}
