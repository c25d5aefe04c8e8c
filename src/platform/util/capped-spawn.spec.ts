import assert from 'node:assert/strict';
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { CAP_LAUNCHER_PATHS, capLauncher, spawnCapped } from './capped-spawn';

/** A script that prints its RLIMIT_DATA and RLIMIT_CPU (soft limits, from /proc) and its heap limit. */
const dir = mkdtempSync(join(tmpdir(), 'kiln-capped-'));
const script = join(dir, 'limits.js');
writeFileSync(
  script,
  `const l = require('fs').readFileSync('/proc/self/limits', 'utf8');
   const soft = (name) => l.split('\\n').find((x) => x.startsWith(name)).slice(26).trim().split(/\\s+/)[0];
   const heap = require('v8').getHeapStatistics().heap_size_limit;
   process.stdout.write(JSON.stringify({ data: soft('Max data size'), cpu: soft('Max cpu time'), heapMb: Math.round(heap / 1048576) }));`,
);

async function limitsOf(memoryMb: number, cpuSeconds?: number): Promise<{ launcher: string; data: string; cpu: string; heapMb: number }> {
  const { child, launcher } = spawnCapped(script, { memoryMb, cpuSeconds, heapMb: 96, stdio: ['ignore', 'pipe', 'inherit'], env: {} });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const code = await new Promise((resolve) => child.on('close', resolve));
  assert.equal(code, 0, out);
  return { launcher, ...(JSON.parse(out) as { data: string; cpu: string; heapMb: number }) };
}

describe('spawnCapped: a child under a memory (and CPU) cap, with or without a shell', () => {
  const saved = { prlimit: [...CAP_LAUNCHER_PATHS.prlimit], shell: [...CAP_LAUNCHER_PATHS.shell] };
  after(() => {
    CAP_LAUNCHER_PATHS.prlimit = saved.prlimit;
    CAP_LAUNCHER_PATHS.shell = saved.shell;
  });

  it('uses prlimit (no shell) where util-linux is installed', async (t) => {
    if (capLauncher() !== 'prlimit') return t.skip('no prlimit on this machine');
    const got = await limitsOf(300, 7);
    assert.deepEqual(got, { launcher: 'prlimit', data: String(300 * 1024 * 1024), cpu: '7', heapMb: got.heapMb });
    assert.ok(got.heapMb >= 96 && got.heapMb < 200, `--max-old-space-size applies (${got.heapMb} MiB)`);
  });

  it("falls back to a shell's ulimit without prlimit", async () => {
    CAP_LAUNCHER_PATHS.prlimit = ['/nonexistent/prlimit'];
    assert.equal(capLauncher(), 'ulimit');
    const got = await limitsOf(300, 7);
    assert.equal(got.launcher, 'ulimit');
    assert.equal(got.data, String(300 * 1024 * 1024));
    assert.equal(got.cpu, '7');
  });

  it('still starts the child (uncapped but for its heap, launcher none) with neither prlimit nor /bin/sh', async () => {
    CAP_LAUNCHER_PATHS.prlimit = ['/nonexistent/prlimit'];
    CAP_LAUNCHER_PATHS.shell = ['/nonexistent/sh'];
    assert.equal(capLauncher(), 'none');
    const got = await limitsOf(300);
    assert.equal(got.launcher, 'none');
    assert.ok(got.heapMb >= 96 && got.heapMb < 200, `--max-old-space-size applies (${got.heapMb} MiB)`);
  });
});
