/**
 * The real process (`node dist/src/main.js`, what `npm start` runs) as a child, for the tests that
 * need kill -9, SIGTERM or start-up failures. In-process tests use `startTestKiln` instead.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { eventually } from './test-kiln';

/** Compiled entry point (tests run from dist/test/...). */
export const MAIN = join(__dirname, '..', '..', 'src', 'main.js');

export interface SpawnedKiln {
  child: ChildProcess;
  /** Resolves with the base URL once the process prints that it listens; rejects if it exits first. */
  url: Promise<string>;
  /** Everything printed so far (stdout and stderr). */
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * `entry`: another compiled entry point, e.g. an `apps/<app>/main.js` split deployment entry.
 * `detached`: the child leads its own process group, as `npm start` does in a terminal, so a test can
 * signal the whole group (`process.kill(-pid, 'SIGINT')` is what Ctrl-C does).
 */
export function spawnKiln(env: Record<string, string>, entry = MAIN, options: { detached?: boolean; prefix?: string[] } = {}): SpawnedKiln {
  // `prefix`: a command that runs node, e.g. `ip netns exec <ns>` (test/utils/netns.ts).
  const [command, ...args] = [...(options.prefix ?? []), process.execPath, entry];
  const child = spawn(command!, args, {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: options.detached ?? false,
  });
  let out = '';
  const url = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      const m = /listening on (http:\/\/[\d.:]+)/.exec(out);
      if (m) resolve(m[1]!);
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`kiln exited (${code}) before listening:\n${out.slice(-2000)}`)));
  });
  url.catch(() => undefined);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, url, output: () => out, exited };
}

/**
 * Waits until the Kiln at `url` answers ready (a refused connection, e.g. while a restarted process
 * binds, counts as not yet). The default cap is generous on purpose: how long start-up takes depends
 * on the machine's load (42 s was seen on a loaded 2-core machine), not on Kiln, so a slow machine
 * makes a test slower, not red. On timeout the error carries the tail of `kiln`'s output, if given.
 */
export async function untilReady(url: string, kiln?: SpawnedKiln, timeoutMs = 180_000): Promise<void> {
  await eventually(async () => ((await fetch(`${url}/health/ready`)).status === 200 ? true : undefined), timeoutMs, 100).catch(
    (err: Error) => {
      throw new Error(`${url} not ready: ${err.message}\n${kiln?.output().slice(-3000) ?? ''}`);
    },
  );
}

/** The URL of a spawned Kiln once it listens and answers ready (see `untilReady`). */
export async function readyUrl(kiln: SpawnedKiln): Promise<string> {
  const url = await kiln.url;
  await untilReady(url, kiln);
  return url;
}

/**
 * `spawnKiln` for a test file whose `after` runs `cleanups` in order: each process is SIGKILLed (its
 * whole group when detached) before any earlier cleanup removes its data directory, even when its test
 * failed before stopping it, so a failed test never leaves a Kiln (and its embedded PostgreSQL) running.
 */
export function spawnerWithCleanup(cleanups: Array<() => Promise<void>>): typeof spawnKiln {
  return (env, entry, options = {}) => {
    const kiln = spawnKiln(env, entry, options);
    cleanups.unshift(async () => {
      if (kiln.child.exitCode !== null || kiln.child.signalCode !== null) return;
      try {
        if (options.detached) process.kill(-kiln.child.pid!, 'SIGKILL');
        else kiln.child.kill('SIGKILL');
      } catch {
        // already gone
      }
      await kiln.exited;
    });
    return kiln;
  };
}
