/**
 * `npm run lint` fails on what it exists to catch. Each case writes a small source tree into its own
 * temporary directory (outside the repository, so concurrent tests and builds never see it), links the
 * repository's node_modules and tsconfig.json into it, and runs dependency-cruiser or ESLint there with
 * the repository's own config file: a forbidden import or a floating promise exits non-zero naming the
 * rule, and the same tree with the import or the promise done right passes (so a failure is the rule,
 * not a broken setup).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';

// Compiled to dist/test/tooling/lint.e2e-spec.js: the repository is three levels up.
const ROOT = join(__dirname, '..', '..', '..');
const DEPCRUISE = join(ROOT, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
const ESLINT = join(ROOT, 'node_modules', 'eslint', 'bin', 'eslint.js');

interface Run {
  status: number | null;
  output: string;
}

/** Writes `files` (path → source) into a fresh temporary tree, runs `check` in it, and always removes it. */
function inProbeTree(files: Record<string, string>, check: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'kiln-lint-probe-'));
  try {
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
    copyFileSync(join(ROOT, 'tsconfig.json'), join(dir, 'tsconfig.json'));
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'migrations'));
    for (const [path, source] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), source);
    }
    check(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function run(dir: string, script: string, args: string[]): Run {
  const r = spawnSync(process.execPath, [script, ...args], { cwd: dir, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

const depcruise = (dir: string): Run => run(dir, DEPCRUISE, ['--config', join(ROOT, '.dependency-cruiser.cjs'), 'src', 'migrations']);
const eslint = (dir: string): Run => run(dir, ESLINT, ['--config', join(ROOT, 'eslint.config.mjs'), 'src']);

function assertFails(r: Run, rule: string, culprit: string): void {
  assert.notEqual(r.status, 0, `expected a failure naming ${rule}:\n${r.output}`);
  assert.match(r.output, new RegExp(`${rule.replace(/[/.]/g, '\\$&')}[^\\n]*`), r.output);
  assert.ok(r.output.includes(culprit), `the report names ${culprit}:\n${r.output}`);
}

function assertPasses(r: Run): void {
  assert.equal(r.status, 0, `expected no violation:\n${r.output}`);
}

// Two domains with a facade each and one internal file, imported as `import { … } from '<path>'`.
const DOMAINS = {
  'src/models/index.ts': "export { latestVersion } from './versions';\n",
  'src/models/versions.ts': 'export const latestVersion = (): number => 1;\n',
  'src/inference/index.ts': "export { predict } from './predict';\n",
};
const predictImporting = (from: string): Record<string, string> => ({
  ...DOMAINS,
  'src/inference/predict.ts': `import { latestVersion } from '${from}';\nexport const predict = (): number => latestVersion();\n`,
});

describe('npm run lint: dependency-cruiser boundaries', () => {
  it('fails when a domain imports another domain past its index.ts, passes through the index', () => {
    inProbeTree(predictImporting('../models/versions'), (dir) =>
      assertFails(depcruise(dir), 'domain-through-index', 'src/inference/predict.ts'),
    );
    inProbeTree(predictImporting('../models'), (dir) => assertPasses(depcruise(dir)));
  });

  it('fails when platform or a migration imports a domain or the composition root', () => {
    const files = {
      ...predictImporting('../models'),
      'src/platform/boot.ts': "import { predict } from '../inference';\nexport const boot = (): number => predict();\n",
    };
    inProbeTree(files, (dir) => assertFails(depcruise(dir), 'kernel-imports-no-domain', 'src/platform/boot.ts → src/inference/index.ts'));
    const migration = {
      ...predictImporting('../models'),
      'src/app.module.ts': 'export class AppModule {}\n',
      'src/main.ts':
        "import { AppModule } from './app.module';\nimport { predict } from './inference';\nexport const app = [AppModule, predict];\n",
      'migrations/1-init.ts': "import { AppModule } from '../src/app.module';\nexport const m = AppModule;\n",
    };
    inProbeTree(migration, (dir) => assertFails(depcruise(dir), 'kernel-imports-no-domain', 'migrations/1-init.ts → src/app.module.ts'));
  });

  it('fails when the composition root reaches into a domain', () => {
    const files = {
      ...predictImporting('../models'),
      'src/main.ts': "import { predict } from './inference/predict';\nexport const app = predict;\n",
    };
    inProbeTree(files, (dir) => assertFails(depcruise(dir), 'root-through-index', 'src/main.ts → src/inference/predict.ts'));
  });

  it('fails on an import cycle', () => {
    const files = {
      ...predictImporting('../models'),
      'src/inference/a.ts': "import { b } from './b';\nexport const a = (): number => b() + 1;\n",
      'src/inference/b.ts': "import { a } from './a';\nexport const b = (): number => (Math.random() > 2 ? a() : 0);\n",
    };
    inProbeTree(files, (dir) => assertFails(depcruise(dir), 'no-circular', 'src/inference/a.ts'));
  });

  it('fails when the CLI imports server code or the server imports the CLI; passes within src/cli', () => {
    const cli = {
      'src/cli/output.ts': 'export const show = (x: unknown): string => String(x);\n',
      'src/platform/config.ts': 'export const port = 3000;\n',
    };
    const cliImportsPlatform = {
      ...cli,
      'src/cli/main.ts':
        "import { port } from '../platform/config';\nimport { show } from './output';\nexport const run = (): string => show(port);\n",
    };
    inProbeTree(cliImportsPlatform, (dir) => assertFails(depcruise(dir), 'cli-is-an-api-client', 'src/cli/main.ts'));
    const serverImportsCli = {
      ...cli,
      'src/cli/main.ts': "import { show } from './output';\nexport const run = (): string => show(1);\n",
      'src/platform/uses-cli.ts':
        "import { run } from '../cli/main';\nimport { port } from './config';\nexport const x = (): string => run() + port;\n",
    };
    inProbeTree(serverImportsCli, (dir) => assertFails(depcruise(dir), 'nothing-imports-the-cli', 'src/platform/uses-cli.ts'));
    const fine = {
      'src/cli/output.ts': cli['src/cli/output.ts'],
      'src/cli/main.ts': "import { show } from './output';\nexport const run = (): string => show(1);\n",
    };
    inProbeTree(fine, (dir) => assertPasses(depcruise(dir)));
  });

  it('fails when src/ml imports NestJS', () => {
    const files = { 'src/ml/kernel.ts': "import { Injectable } from '@nestjs/common';\n@Injectable()\nexport class Kernel {}\n" };
    inProbeTree(files, (dir) => assertFails(depcruise(dir), 'ml-is-framework-free', 'src/ml/kernel.ts'));
  });
});

describe('npm run lint: typescript-eslint', () => {
  const caller = (call: string): Record<string, string> => ({
    'src/platform/job.ts':
      'export async function work(): Promise<number> {\n  return 1;\n}\n' +
      `export async function caller(): Promise<void> {\n  ${call};\n}\n`,
  });

  it('fails on a floating promise, passes once it is awaited', () => {
    inProbeTree(caller('work()'), (dir) => assertFails(eslint(dir), '@typescript-eslint/no-floating-promises', 'src/platform/job.ts'));
    inProbeTree(caller('await work()'), (dir) => assertPasses(eslint(dir)));
  });

  it('fails on a switch that misses a member of a union', () => {
    const files = {
      'src/platform/task.ts':
        "export type Task = 'regression' | 'binary' | 'multiclass';\n" +
        'export function metric(task: Task): string {\n' +
        '  switch (task) {\n' +
        "    case 'regression':\n      return 'rmse';\n" +
        "    case 'binary':\n      return 'auc';\n" +
        '  }\n' +
        "  return 'none';\n" +
        '}\n',
    };
    inProbeTree(files, (dir) => assertFails(eslint(dir), '@typescript-eslint/switch-exhaustiveness-check', 'multiclass'));
  });
});
