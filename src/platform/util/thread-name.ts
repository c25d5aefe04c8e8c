import { writeFileSync } from 'node:fs';

/**
 * Names the calling thread as the kernel sees it (`/proc/thread-self/comm`, at most 15 bytes), so
 * `top -H`, `ps -L`, `perf` and per-thread CPU accounting (bench/serve/thread-cpu.ts) tell Kiln's worker
 * threads apart: otherwise every thread of the process is "node". Linux only; elsewhere, or where
 * /proc is read-only, the thread keeps its name (this is a diagnostic, never an error).
 */
export function nameThisThread(name: string): void {
  try {
    writeFileSync('/proc/thread-self/comm', name.slice(0, 15));
  } catch {
    // not Linux, or no /proc: nothing to name
  }
}
