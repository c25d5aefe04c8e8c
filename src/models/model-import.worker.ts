/**
 * Entry of a model-import worker thread (model-import-runner.ts): everything an import does with
 * what the client uploaded runs here, off the HTTP event loop — parsing model.json, assembling the
 * shards, loading the model, the dry prediction on zeros (model-import.ts) and, once every check
 * passed, storing model.json and the weights in the artifact store (hashing included). The thread
 * handles one import and is then terminated, so whatever the model allocated (the wasm heap never
 * shrinks) goes back with it; meanwhile the thread's wasm memory is capped (KILN_IMPORT_MAX_WASM_MB,
 * src/platform/tfjs/wasm-memory-cap.ts) as its JS heap is (model-import-runner.ts). Imports platform
 * and this domain's model-import.ts only: no Nest app.
 */
import { isMainThread, parentPort } from 'node:worker_threads';
import { openArtifactStore, type ArtifactStoreLocation } from '../platform/artifacts';
import type { FieldError } from '../platform/http/problem-details';
import { ValidationProblemException } from '../platform/http/validation';
import type { ModelFormat } from '../platform/tfjs/artifact-io';
import type { TfBackendChoice } from '../platform/tfjs/tf-runtime';
import { capWasmMemory } from '../platform/tfjs/wasm-memory-cap';
import { nameThisThread } from '../platform/util/thread-name';
import { bytesFromUpload, dryRun, type TensorSignature } from './model-import';

/** What the request handler hands the thread: the uploaded parts as they came, and where to store them. */
export interface ImportCheckRequest {
  modelJson: Uint8Array | undefined;
  /** Weight shards by their uploaded file names, in upload order. */
  shards: Array<[string, Uint8Array]>;
  signature: TensorSignature;
  tfBackend: TfBackendChoice;
  artifacts: ArtifactStoreLocation;
  /** Cap on the thread's WebAssembly memory (TF.js wasm backend's tensors), MiB; applied in a worker thread only. */
  wasmMemoryLimitMb: number;
}

/** A model that loaded, matched its signature and is stored (content-addressed). */
export interface CheckedImport {
  format: ModelFormat;
  backend: string;
  modelJsonSha256: string;
  weightsSha256: string;
  generatedBy: string | null;
  convertedBy: string | null;
}

export type ImportCheckReply =
  { type: 'done'; result: CheckedImport } | { type: 'invalid'; errors: FieldError[] } | { type: 'error'; message: string };

const asBuffer = (u: Uint8Array): Buffer => Buffer.from(u.buffer, u.byteOffset, u.byteLength);

/** The checks and the storing; also run directly on the calling thread when no compiled worker file exists. */
export async function checkImportInThisThread(req: ImportCheckRequest): Promise<CheckedImport> {
  const shards = new Map(req.shards.map(([name, bytes]) => [name, asBuffer(bytes)]));
  const bytes = bytesFromUpload(req.modelJson && asBuffer(req.modelJson), shards);
  const report = await dryRun(bytes, req.signature, req.tfBackend);
  const store = openArtifactStore(req.artifacts);
  const jsonRef = await store.put(Buffer.from(JSON.stringify(bytes.modelJson)));
  const weightsRef = await store.put(bytes.weights);
  return {
    format: report.format,
    backend: report.backend,
    modelJsonSha256: jsonRef.sha256,
    weightsSha256: weightsRef.sha256,
    generatedBy: bytes.modelJson.generatedBy ?? null,
    convertedBy: bytes.modelJson.convertedBy ?? null,
  };
}

/** The check in a worker thread whose wasm memory is capped: growing past the cap refuses the model (400 naming `model`). */
async function checkImportUnderWasmCap(req: ImportCheckRequest): Promise<CheckedImport> {
  const cap = capWasmMemory(req.wasmMemoryLimitMb);
  const refusal = () =>
    new ValidationProblemException([
      {
        field: 'model',
        reason: `the dry prediction needs more than the ${cap.limitMb} MiB of wasm memory an import may use ` + '(KILN_IMPORT_MAX_WASM_MB)',
      },
    ]);
  let result: CheckedImport;
  try {
    result = await checkImportInThisThread(req);
  } catch (e) {
    throw cap.exceeded ? refusal() : e;
  }
  // a kernel may "succeed" on the null pointer a refused allocation returned: its output is not trusted
  if (cap.exceeded) throw refusal();
  return result;
}

if (!isMainThread && parentPort) {
  nameThisThread('kiln-import');
  const port = parentPort;
  port.once('message', (req: ImportCheckRequest) => {
    checkImportUnderWasmCap(req).then(
      (result) => port.postMessage({ type: 'done', result } satisfies ImportCheckReply),
      (e: unknown) =>
        port.postMessage(
          (e instanceof ValidationProblemException
            ? { type: 'invalid', errors: e.errors }
            : { type: 'error', message: (e as Error)?.message ?? String(e) }) satisfies ImportCheckReply,
        ),
    );
  });
}
