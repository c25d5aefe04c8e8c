/**
 * Entry of an ONNX import check process (model-import-runner.ts `checkOnnxImport`): the graph the
 * client uploaded is decoded, loaded on ONNX Runtime and dry-run here, in a child process started
 * with a cap on its writable memory (RLIMIT_DATA) and CPU time (RLIMIT_CPU), set by prlimit or a
 * shell's ulimit (src/platform/util/capped-spawn.ts), never in the server.
 *
 * Why a process and not a worker thread like TF.js imports: ONNX Runtime allocates natively (its
 * arena, outside V8's heap), which a worker's `resourceLimits` do not bound; a graph of a few bytes
 * (ConstantOfShape [1e5, 1e5], Expand, Tile …) can ask for tens of gigabytes. Under the cap the
 * allocation fails inside ONNX Runtime (the dry run then fails with its message) or the process dies;
 * either way the server only sees a refusal.
 *
 * Protocol: the request (JSON, below) in the environment variable KILN_ONNX_CHECK, the graph's bytes
 * on stdin; one JSON reply (OnnxCheckReply) on file descriptor 3, then the process exits.
 * Imports this domain's onnx-import.ts and the platform only: no Nest app, no database.
 */
import { createWriteStream } from 'node:fs';
import type { FieldError } from '../platform/http/problem-details';
import { ValidationProblemException } from '../platform/http/validation';
import { checkOnnxGraph, type CheckedOnnxGraph, type OnnxRecordContract } from './onnx-import';

export interface OnnxCheckRequest {
  contract: OnnxRecordContract | null;
  maxElements: number;
  /** The cap the process runs under (for the refusal's wording). */
  memoryLimitMb: number;
}

export type OnnxCheckReply =
  { type: 'done'; result: CheckedOnnxGraph } | { type: 'invalid'; errors: FieldError[] } | { type: 'error'; message: string };

export const ONNX_CHECK_ENV = 'KILN_ONNX_CHECK';

async function readStdin(): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

async function main(): Promise<void> {
  const reply = createWriteStream('', { fd: 3 });
  const answer = (r: OnnxCheckReply): Promise<void> => new Promise((resolve) => reply.end(JSON.stringify(r), () => resolve()));
  try {
    const req = JSON.parse(process.env[ONNX_CHECK_ENV] ?? '') as OnnxCheckRequest;
    const graph = await readStdin();
    await answer({ type: 'done', result: await checkOnnxGraph(graph, req.contract, req.maxElements, req.memoryLimitMb) });
  } catch (e) {
    await answer(
      e instanceof ValidationProblemException
        ? { type: 'invalid', errors: e.errors }
        : { type: 'error', message: (e as Error)?.message ?? String(e) },
    );
  }
  // ONNX Runtime's thread pool must not keep the process alive once the answer is out.
  process.exit(0);
}

if (require.main === module) void main();
