/**
 * CPU time of processes from /proc (Linux), for the serving benchmark's "CPU per request" columns:
 * a snapshot maps pid → user+system ticks; the difference of two snapshots is CPU seconds spent in
 * between (processes born in between count from zero; ones that exited in between are lost).
 */
import { readdirSync, readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on

interface Stat {
  ppid: number;
  comm: string;
  ticks: number;
}

function stat(pid: number): Stat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // comm may hold spaces and parentheses: the fields after it start at the last ')'
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { comm: text.slice(text.indexOf('(') + 1, close), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) };
}

/** Every live descendant of `root` (children, grandchildren, …), with its command name. */
export function descendants(root: number): Array<{ pid: number; comm: string }> {
  const children = new Map<number, Array<{ pid: number; comm: string }>>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = stat(Number(name));
    if (!s) continue;
    const list = children.get(s.ppid) ?? [];
    list.push({ pid: Number(name), comm: s.comm });
    children.set(s.ppid, list);
  }
  const out: Array<{ pid: number; comm: string }> = [];
  const walk = (p: number): void => {
    for (const c of children.get(p) ?? []) {
      out.push(c);
      walk(c.pid);
    }
  };
  walk(root);
  return out;
}

export type CpuSnapshot = Map<number, number>;

export function cpuSnapshot(pids: number[]): CpuSnapshot {
  const snap: CpuSnapshot = new Map();
  for (const pid of pids) {
    const s = stat(pid);
    if (s) snap.set(pid, s.ticks);
  }
  return snap;
}

/** CPU seconds spent between two snapshots by the processes of `after`. */
export function cpuSecondsBetween(before: CpuSnapshot, after: CpuSnapshot): number {
  let ticks = 0;
  for (const [pid, t] of after) ticks += t - (before.get(pid) ?? 0);
  return ticks / TICKS_PER_SECOND;
}

/** Busy (non-idle, non-iowait) CPU ticks of the whole machine, all cores. */
export function machineBusyTicks(): number {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal
  return f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + f[7]!;
}

export const ticksToSeconds = (ticks: number): number => ticks / TICKS_PER_SECOND;

/** CPU nanoseconds of a process's main thread alone (its task whose id is the pid; schedstat counts in ns). */
export function mainThreadCpuNs(pid: number): number {
  return Number(readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0]);
}

/**
 * CPU nanoseconds of each thread of a process (schedstat), keyed by the thread's name as the kernel
 * sees it (`comm`; Kiln names its worker threads, src/platform/util/thread-name.ts): `main` for the
 * thread whose id is the pid, threads of one name summed (Node's unnamed helpers are all "node").
 */
export function threadCpuNs(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const name = tid === String(pid) ? 'main' : readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
      const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      out.set(name, (out.get(name) ?? 0) + ns);
    } catch {
      // the thread ended meanwhile
    }
  }
  return out;
}
