/**
 * A cap on the WebAssembly memory of the current thread, for the model-import worker thread: TF.js's
 * wasm backend keeps every tensor in its wasm heap, which a worker's `resourceLimits` (V8's JS heap)
 * do not count, so a model of a few bytes (a graph model's Fill with dims [20000, 20000]) could grow it
 * to 4 GiB inside the server process.
 *
 * How: the emscripten runtime of @tensorflow/tfjs-backend-wasm grows its heap only through
 * `WebAssembly.Memory.prototype.grow` (emscripten_resize_heap → wasmMemory.grow, in JS), and treats a
 * throw there as "out of memory" (malloc returns 0; the kernel then fails). Patching `grow` refuses
 * growth past the cap. `WebAssembly` is per isolate, so the patch reaches only this thread: call it in
 * a worker thread, never on the main thread (the serving wasm backend must stay uncapped).
 * Why not a V8 flag (--wasm-max-mem-pages): V8 flags are process-wide and would cap serving and training too.
 */
export interface WasmMemoryCap {
  readonly limitMb: number;
  /** Whether some growth was refused (the failure that followed is the cap's doing). */
  readonly exceeded: boolean;
}

const PAGE = 65536;

/** The part of the WebAssembly global used here (Kiln's tsconfig has no DOM/wasm lib types). */
interface WasmMemoryPrototype {
  readonly buffer: ArrayBuffer;
  grow(delta: number): number;
}
const wasmMemoryPrototype = (): WasmMemoryPrototype =>
  (globalThis as unknown as { WebAssembly: { Memory: { prototype: WasmMemoryPrototype } } }).WebAssembly.Memory.prototype;

export function capWasmMemory(limitMb: number): WasmMemoryCap {
  const state = { limitMb, exceeded: false };
  const limit = limitMb * 1024 * 1024;
  const proto = wasmMemoryPrototype();
  const grow = proto.grow;
  proto.grow = function (this: WasmMemoryPrototype, delta: number): number {
    if (this.buffer.byteLength + delta * PAGE > limit) {
      state.exceeded = true;
      throw new RangeError(`wasm memory capped at ${limitMb} MiB`);
    }
    return grow.call(this, delta);
  };
  return state;
}
