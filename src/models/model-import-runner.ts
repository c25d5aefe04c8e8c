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
 * At most MAX_RUNNING imports are checked at once per process and MAX_WAITING wait for a turn; past
 * that the call is refused with 503 (retry later) instead of queueing uploads in memory.
 */
import { ServiceUnavailableException } from '@nestjs/common';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ValidationProblemException } from '../platform/http/validation';
import { checkImportInThisThread, type CheckedImport, type ImportCheckReply, type ImportCheckRequest } from './model-import.worker';

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
