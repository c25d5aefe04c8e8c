/**
 * Seeded pseudo-random numbers (mulberry32): splits, shuffles and dropout masks derive from the job's
 * seed only, never from Math.random, so a job spec twice gives the same model on the same backend.
 */
import { mulberry32 } from '../platform/util/seeded-random';

export { mulberry32 };

/** Mixes several integers into one 32-bit seed (e.g. job seed, epoch, purpose). */
export function deriveSeed(...parts: number[]): number {
  let h = 0x811c9dc5;
  for (const p of parts) {
    let x = p >>> 0;
    for (let i = 0; i < 4; i++) {
      h ^= x & 0xff;
      h = Math.imul(h, 0x01000193) >>> 0;
      x >>>= 8;
    }
  }
  // one splitmix-style finaliser round so nearby inputs give distant seeds
  h ^= h >>> 16;
  h = Math.imul(h, 0x7feb352d) >>> 0;
  h ^= h >>> 15;
  return h >>> 0;
}

/** Fisher–Yates shuffle in place with a seeded generator. */
export function shuffleInPlace<T>(items: T[], rand: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    const tmp = items[i];
    items[i] = items[j];
    items[j] = tmp;
  }
  return items;
}

export function seededPermutation(n: number, seed: number): Int32Array {
  const idx = Array.from({ length: n }, (_, i) => i);
  shuffleInPlace(idx, mulberry32(seed));
  return Int32Array.from(idx);
}
