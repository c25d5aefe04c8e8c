#!/usr/bin/env node
// Runs the compiled test files with Node's own test runner (node:test).
// Why a script: Node 20's `--test` has no glob support and only knows the *.test.js naming,
// while Kiln keeps unit tests beside the code as *.spec.ts and e2e tests in test/ as *.e2e-spec.ts.
//   node scripts/run-tests.mjs            every test
//   node scripts/run-tests.mjs ingestion  only files whose path contains "ingestion"
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { spawnSync } from 'node:child_process';

const root = new URL('..', import.meta.url).pathname;
const dist = join(root, 'dist');
const filters = process.argv.slice(2);

function walk(dir, out = []) {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (/\.(e2e-)?spec\.js$/.test(name)) out.push(path);
  }
  return out;
}

const files = ['src', 'test']
  .map((d) => join(dist, d))
  .flatMap((d) => {
    try {
      return walk(d);
    } catch {
      return [];
    }
  })
  // skip compiled leftovers whose source file was deleted or renamed
  .filter((f) => existsSync(join(root, relative(dist, f)).replace(/\.js$/, '.ts')))
  .filter((f) => filters.length === 0 || filters.some((x) => relative(root, f).includes(x)))
  // e2e files first, then unit specs: the runner starts files in this order, two at a time, and the
  // e2e files take seconds to minutes each while unit specs take about a second, so ending on the short
  // ones keeps both slots busy to the end instead of one long e2e file running alone (longest first).
  .sort((a, b) => Number(b.endsWith('.e2e-spec.js')) - Number(a.endsWith('.e2e-spec.js')) || a.localeCompare(b));

if (files.length === 0) {
  console.error('run-tests: no compiled test files found (did `tsc` run?)');
  process.exit(1);
}

const concurrency = process.env.KILN_TEST_CONCURRENCY ?? '2';
const result = spawnSync(
  process.execPath,
  ['--enable-source-maps', '--test', `--test-concurrency=${concurrency}`, '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env, NODE_ENV: 'test' } },
);
process.exit(result.status ?? 1);
