/**
 * Starts a Node script in a child process whose writable memory (RLIMIT_DATA) and, optionally, CPU
 * time (RLIMIT_CPU) are capped: where untrusted models are loaded and run (ONNX import checks, ONNX
 * sessions of imported graphs), so a graph that allocates without bound kills or fails that process,
 * never the server.
 *
 * Node has no setrlimit, so a launcher sets the caps and execs Node in its place, without a shell
 * when it can:
 *
 *   prlimit   util-linux's `prlimit --data=… --cpu=… -- node script` (Debian's util-linux is
 *             essential, so it is on every Debian/Ubuntu image; no shell, no quoting);
 *   ulimit    else a POSIX shell (`/bin/sh -c 'ulimit -d … && exec "$0" "$@"'`), what Kiln did first;
 *   none      else (a distroless image without either) the script runs uncapped: the caller logs it
 *             once, loudly, and Node's heap is still bounded by --max-old-space-size.
 *
 * RLIMIT_DATA counts the heap and private writable mappings (what ONNX Runtime and wasm allocate) but
 * not the address space V8 merely reserves, so a cap of a few hundred MiB still lets Node start
 * (RLIMIT_AS would count those reservations). Why not an npm package: the maintained ones that call
 * setrlimit are native addons needing a compiler at install; prlimit is a maintained binary already here.
 */
import { spawn, type ChildProcess, type IOType, type Serializable } from 'node:child_process';
import { accessSync, constants } from 'node:fs';

export type CapLauncher = 'prlimit' | 'ulimit' | 'none';

export interface CappedSpawnOptions {
  /** Cap on writable memory (RLIMIT_DATA), MiB. */
  memoryMb: number;
  /** Cap on CPU seconds (RLIMIT_CPU); none when absent. */
  cpuSeconds?: number;
  /** Node's old-generation heap, MiB (default: half the memory cap, at least 64). */
  heapMb?: number;
  stdio: Array<IOType | 'ipc'>;
  /** The child's whole environment (nothing of the server's is passed unless given here). */
  env: NodeJS.ProcessEnv;
  serialization?: 'json' | 'advanced';
}

/** Where the launchers are looked for; tests replace it to see the fallbacks. */
export const CAP_LAUNCHER_PATHS = {
  prlimit: ['/usr/bin/prlimit', '/bin/prlimit', '/usr/sbin/prlimit'],
  shell: ['/bin/sh', '/usr/bin/sh'],
};

function executable(paths: readonly string[]): string | null {
  for (const p of paths) {
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // try the next place
    }
  }
  return null;
}

/** The launcher this machine offers (see the file comment). */
export function capLauncher(): CapLauncher {
  if (executable(CAP_LAUNCHER_PATHS.prlimit)) return 'prlimit';
  if (executable(CAP_LAUNCHER_PATHS.shell)) return 'ulimit';
  return 'none';
}

/** Spawns `node [--max-old-space-size] script` under the caps; `launcher` says how they were set. */
export function spawnCapped(script: string, opts: CappedSpawnOptions): { child: ChildProcess; launcher: CapLauncher } {
  const heapMb = opts.heapMb ?? Math.max(64, Math.floor(opts.memoryMb / 2));
  const node = [process.execPath, `--max-old-space-size=${heapMb}`, script];
  const dataKb = opts.memoryMb * 1024;
  const prlimit = executable(CAP_LAUNCHER_PATHS.prlimit);
  const shell = prlimit ? null : executable(CAP_LAUNCHER_PATHS.shell);
  const spawnOpts = { stdio: opts.stdio, env: opts.env, serialization: opts.serialization };
  if (prlimit) {
    const bytes = dataKb * 1024;
    const caps = [`--data=${bytes}:${bytes}`, ...(opts.cpuSeconds ? [`--cpu=${opts.cpuSeconds}:${opts.cpuSeconds}`] : [])];
    return { child: spawn(prlimit, [...caps, '--', ...node], spawnOpts), launcher: 'prlimit' };
  }
  if (shell) {
    const ulimits = [`ulimit -d ${dataKb}`, ...(opts.cpuSeconds ? [`ulimit -t ${opts.cpuSeconds}`] : [])].join(' && ');
    return { child: spawn(shell, ['-c', `${ulimits} && exec "$0" "$@"`, ...node], spawnOpts), launcher: 'ulimit' };
  }
  return { child: spawn(node[0]!, node.slice(1), spawnOpts), launcher: 'none' };
}

/**
 * Sends a message over the child's IPC channel; false when the channel is gone (the child died).
 * (`send`'s own false only means a backlog: the message is still queued and delivered.)
 */
export function sendToChild(child: ChildProcess, message: Serializable): boolean {
  if (!child.connected) return false;
  try {
    child.send(message, (e) => e && undefined); // a failed send shows as the child's exit
    return true;
  } catch {
    return false;
  }
}
