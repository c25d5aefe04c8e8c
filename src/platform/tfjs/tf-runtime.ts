import { dirname, join, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
// Registers the 'cpu' backend (pure JS). Always present: the last resort of `auto`.
import '@tensorflow/tfjs-backend-cpu';

/**
 * TensorFlow.js backend selection (DESIGN.md "ML engine").
 *
 *   KILN_TF_BACKEND=auto            first that loads: tensorflow-gpu, tensorflow, wasm, cpu
 *   KILN_TF_BACKEND=tensorflow-gpu  @tensorflow/tfjs-node-gpu (optional dependency; needs CUDA)
 *   KILN_TF_BACKEND=tensorflow      @tensorflow/tfjs-node     (optional dependency; needs libtensorflow)
 *   KILN_TF_BACKEND=wasm            @tensorflow/tfjs-backend-wasm (SIMD build, single thread in Node)
 *   KILN_TF_BACKEND=cpu             @tensorflow/tfjs-backend-cpu
 *
 * The native packages are not dependencies: they are loaded through a guarded `require`, so a machine
 * without them (or without internet to download libtensorflow) silently falls through to wasm.
 * An explicitly requested backend that cannot load is an error (no silent downgrade).
 *
 * The runtime is process-wide (tfjs keeps one global engine): `init` is idempotent and concurrent
 * calls share one initialisation. Asking for a different backend after init switches the global
 * backend (tests use this); a production process calls `init` once at start.
 */
export type TfBackendChoice = 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
/** Names as tfjs reports them: tfjs-node and tfjs-node-gpu both register 'tensorflow'. */
export type TfBackendName = 'tensorflow' | 'wasm' | 'cpu';

export const TF_BACKEND_CHOICES: readonly TfBackendChoice[] = ['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'];

export class TfBackendUnavailableError extends Error {
  constructor(
    readonly backend: TfBackendChoice,
    readonly reason: string,
  ) {
    super(`TF.js backend '${backend}' is not available: ${reason}`);
    this.name = 'TfBackendUnavailableError';
  }
}

export interface TfRuntimeInfo {
  /** What was asked for. */
  requested: TfBackendChoice;
  /** What tfjs runs on now ('tensorflow' for both native flavours). */
  backend: TfBackendName;
  /** The package that provides it, for lineage and server metadata. */
  provider: '@tensorflow/tfjs-node-gpu' | '@tensorflow/tfjs-node' | '@tensorflow/tfjs-backend-wasm' | '@tensorflow/tfjs-backend-cpu';
  /** Backends tried before this one and why they did not load (auto only). */
  skipped: Array<{ backend: TfBackendChoice; reason: string }>;
  tfjsVersion: string;
}

let current: TfRuntimeInfo | null = null;
let pending: { requested: TfBackendChoice; promise: Promise<TfRuntimeInfo> } | null = null;
let wasmRegistered = false;

/** Reads KILN_TF_BACKEND (default auto); throws naming the variable on a bad value. */
export function backendChoiceFromEnv(env: NodeJS.ProcessEnv = process.env): TfBackendChoice {
  const v = (env.KILN_TF_BACKEND ?? 'auto').trim() || 'auto';
  if (!(TF_BACKEND_CHOICES as readonly string[]).includes(v)) {
    throw new Error(`KILN_TF_BACKEND must be one of ${TF_BACKEND_CHOICES.join('|')}, got ${JSON.stringify(v)}`);
  }
  return v as TfBackendChoice;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message.split('\n')[0] : String(e);
}

/** Guarded require of an optional native package; the require itself registers the 'tensorflow' backend. */
function tryRequireNative(pkg: string): void {
  // A variable specifier keeps tsc and bundlers from resolving the optional package.
  require(pkg);
}

async function loadNative(choice: 'tensorflow-gpu' | 'tensorflow'): Promise<TfRuntimeInfo['provider']> {
  const pkg = choice === 'tensorflow-gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  try {
    tryRequireNative(pkg);
  } catch (e) {
    throw new TfBackendUnavailableError(choice, `cannot load ${pkg} (${message(e)})`);
  }
  if (tf.findBackendFactory('tensorflow') == null) {
    throw new TfBackendUnavailableError(choice, `${pkg} loaded but registered no 'tensorflow' backend`);
  }
  if (!(await tf.setBackend('tensorflow'))) {
    throw new TfBackendUnavailableError(choice, `${pkg} failed to initialise`);
  }
  return pkg as TfRuntimeInfo['provider'];
}

/** Directory holding tfjs-backend-wasm's .wasm binaries (its dist folder), with a trailing separator. */
export function wasmBinariesDir(): string {
  const main = require.resolve('@tensorflow/tfjs-backend-wasm');
  // main is .../tfjs-backend-wasm/dist/index.js (or dist/tf-backend-wasm.node.js): the binaries sit beside it.
  return join(dirname(main), sep);
}

async function loadWasm(): Promise<TfRuntimeInfo['provider']> {
  try {
    const wasm = require('@tensorflow/tfjs-backend-wasm') as typeof import('@tensorflow/tfjs-backend-wasm');
    if (!wasmRegistered) {
      // In Node the emscripten loader reads the binaries from the file system at this prefix.
      wasm.setWasmPaths(wasmBinariesDir());
      wasmRegistered = true;
    }
  } catch (e) {
    throw new TfBackendUnavailableError('wasm', message(e));
  }
  let ok = false;
  try {
    ok = await tf.setBackend('wasm');
  } catch (e) {
    throw new TfBackendUnavailableError('wasm', message(e));
  }
  if (!ok) throw new TfBackendUnavailableError('wasm', 'backend failed to initialise');
  return '@tensorflow/tfjs-backend-wasm';
}

async function loadCpu(): Promise<TfRuntimeInfo['provider']> {
  if (!(await tf.setBackend('cpu'))) throw new TfBackendUnavailableError('cpu', 'backend failed to initialise');
  return '@tensorflow/tfjs-backend-cpu';
}

async function load(choice: Exclude<TfBackendChoice, 'auto'>): Promise<TfRuntimeInfo['provider']> {
  switch (choice) {
    case 'tensorflow-gpu':
    case 'tensorflow':
      return loadNative(choice);
    case 'wasm':
      return loadWasm();
    case 'cpu':
      return loadCpu();
  }
}

async function doInit(requested: TfBackendChoice): Promise<TfRuntimeInfo> {
  const order: Array<Exclude<TfBackendChoice, 'auto'>> =
    requested === 'auto' ? ['tensorflow-gpu', 'tensorflow', 'wasm', 'cpu'] : [requested];
  const skipped: TfRuntimeInfo['skipped'] = [];
  for (const choice of order) {
    try {
      const provider = await load(choice);
      await tf.ready();
      return {
        requested,
        backend: tf.getBackend() as TfBackendName,
        provider,
        skipped,
        tfjsVersion: tf.version_core,
      };
    } catch (e) {
      if (requested !== 'auto') throw e;
      skipped.push({ backend: choice, reason: message(e) });
    }
  }
  throw new TfBackendUnavailableError('auto', skipped.map((s) => `${s.backend}: ${s.reason}`).join('; '));
}

/**
 * Selects and initialises the backend; returns its name ('tensorflow' | 'wasm' | 'cpu').
 * Idempotent: a second call with the same choice (or any call after `auto`) returns the current one.
 */
async function init(requested: TfBackendChoice): Promise<TfBackendName> {
  return (await initInfo(requested)).backend;
}

async function initInfo(requested: TfBackendChoice): Promise<TfRuntimeInfo> {
  if (
    current &&
    (requested === current.requested || requested === 'auto' || (requested !== 'tensorflow-gpu' && requested === current.backend))
  ) {
    return current;
  }
  if (pending && pending.requested === requested) return pending.promise;
  const promise = doInit(requested).then(
    (info) => {
      current = info;
      pending = null;
      return info;
    },
    (e: unknown) => {
      pending = null;
      throw e;
    },
  );
  pending = { requested, promise };
  return promise;
}

/** The process-wide TF.js runtime. */
export const TfRuntime = {
  init,
  initInfo,
  /** The current backend name, or null before `init`. */
  backendName(): TfBackendName | null {
    return current ? current.backend : null;
  },
  /** Details for health checks, server metadata and model lineage; null before `init`. */
  info(): TfRuntimeInfo | null {
    return current ? { ...current, skipped: [...current.skipped] } : null;
  },
  /** Test helper: wasm when it loads, else cpu (DESIGN.md: CI runs on wasm). */
  async initForTests(): Promise<TfBackendName> {
    try {
      return await init('wasm');
    } catch {
      return init('cpu');
    }
  },
};
