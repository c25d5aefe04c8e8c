/**
 * The preamble and epilogue every bench script shares: the machine line before the bench prints
 * anything, the load average again at the end, and the exit.
 *
 *   runBench(main);   // instead of main().then(() => process.exit(0), …)
 */
import { cpus, loadavg } from 'node:os';

/** The load average (1, 5 and 15 minutes) as the bench lines print it: two decimals each. */
export function loadAverage(figures: readonly number[] = loadavg()): string {
  return figures.map((x) => x.toFixed(2)).join(' ');
}

/**
 * Runs a bench's `main` (sync or async): first prints the machine line (`node v20.20.2, 2 cpus, load
 * average 1.02 0.98 0.91`), when main is done `load average 1.02 0.98 0.91 → 2.10 1.40 1.05` and exits 0
 * (a pool, socket or timer left open does not keep the bench alive); when it throws, prints
 * `bench failed:` and the error, and exits 1.
 */
export function runBench(main: () => unknown): void {
  const started = loadavg();
  console.log(`node ${process.version}, ${cpus().length} cpus, load average ${loadAverage(started)}`);
  Promise.resolve()
    .then(main)
    .then(
      () => {
        console.log(`load average ${loadAverage(started)} → ${loadAverage()}`);
        process.exit(0);
      },
      (err: unknown) => {
        console.error('bench failed:', err);
        process.exit(1);
      },
    );
}
