/**
 * Several "hosts" on one Linux machine: each a network namespace (`ip netns`) with its own address
 * on a private /24, joined by veth pairs to a bridge in the root namespace (which the test process
 * reaches them through). Needs root and iproute2. Every name carries a random suffix; `destroy()`
 * kills whatever still runs inside the namespaces, deletes them and the bridge, and is also run on
 * process exit, so a failing or interrupted test leaves nothing behind.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';

export interface NetnsHost {
  name: string;
  /** The namespace (`ip netns exec <ns> …`). */
  ns: string;
  address: string;
  /** Command prefix that runs a program inside this host. */
  prefix: string[];
  /** Cuts this host off the network (its veth on the bridge goes down) until `linkUp`. */
  linkDown(): void;
  linkUp(): void;
}

export interface NetnsLab {
  /** The root namespace's address on the bridge (how the test process is seen by the hosts). */
  bridgeAddress: string;
  hosts: Record<string, NetnsHost>;
  destroy(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Why namespaces cannot be used here, or null when they can. */
export function netnsUnavailableReason(programs: string[] = []): string | null {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  for (const program of ['ip', ...programs]) {
    const found = spawnSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' });
    if (found.status !== 0) return `${program} is not installed`;
  }
  const probe = `kp${randomBytes(4).toString('hex')}`;
  try {
    ip('netns', 'add', probe);
    ip('netns', 'del', probe);
  } catch (err) {
    return `ip netns add failed: ${(err as { stderr?: Buffer }).stderr?.toString().trim() ?? (err as Error).message}`;
  }
  return null;
}

/** Creates one namespace per name, addresses .2, .3, … on a random 10.x.y.0/24, the bridge at .1. */
export function createNetnsLab(names: string[]): NetnsLab {
  const suffix = randomBytes(3).toString('hex');
  const net = `10.${randomInt(160, 250)}.${randomInt(1, 250)}`;
  const bridge = `kb${suffix}`;
  const namespaces: string[] = [];
  const hostVeths: string[] = [];
  let destroyed = false;
  const destroy = () => {
    if (destroyed) return;
    destroyed = true;
    process.removeListener('exit', destroy);
    for (const ns of namespaces) {
      const pids = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).stdout?.split(/\s+/).filter(Boolean) ?? [];
      for (const pid of pids) {
        try {
          process.kill(Number(pid), 'SIGKILL');
        } catch {
          // already gone
        }
      }
      spawnSync('ip', ['netns', 'del', ns]);
    }
    for (const veth of hostVeths) spawnSync('ip', ['link', 'del', veth], { stdio: 'ignore' });
    spawnSync('ip', ['link', 'del', bridge], { stdio: 'ignore' });
  };
  process.once('exit', destroy);
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${net}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const hosts: Record<string, NetnsHost> = {};
    names.forEach((name, i) => {
      const ns = `kn${i}${suffix}`;
      const outer = `kv${i}${suffix}`;
      const inner = `ke${i}${suffix}`;
      const address = `${net}.${i + 2}`;
      ip('netns', 'add', ns);
      namespaces.push(ns);
      ip('link', 'add', outer, 'type', 'veth', 'peer', 'name', inner);
      hostVeths.push(outer);
      ip('link', 'set', outer, 'master', bridge, 'up');
      ip('link', 'set', inner, 'netns', ns);
      ip('-n', ns, 'link', 'set', inner, 'name', 'eth0');
      ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
      ip('-n', ns, 'link', 'set', 'eth0', 'up');
      ip('-n', ns, 'link', 'set', 'lo', 'up');
      hosts[name] = {
        name,
        ns,
        address,
        prefix: ['ip', 'netns', 'exec', ns],
        linkDown: () => ip('link', 'set', outer, 'down'),
        linkUp: () => ip('link', 'set', outer, 'up'),
      };
    });
    return { bridgeAddress: `${net}.1`, hosts, destroy };
  } catch (err) {
    destroy();
    throw err;
  }
}

/** Names of the namespaces and links this lab made that still exist (for the test's own cleanup check). */
export function leftovers(lab: NetnsLab): string[] {
  const suffixes = Object.values(lab.hosts).map((h) => h.ns);
  const nsList = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' }).stdout ?? '';
  const links = spawnSync('ip', ['-o', 'link'], { encoding: 'utf8' }).stdout ?? '';
  const suffix = suffixes[0]?.slice(3) ?? '';
  return [
    ...suffixes.filter((ns) => nsList.split('\n').some((l) => l.split(' ')[0] === ns)),
    ...(suffix ? links.split('\n').filter((l) => l.includes(suffix)) : []),
  ];
}
