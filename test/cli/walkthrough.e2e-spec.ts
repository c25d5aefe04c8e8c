/**
 * The `kiln` CLI as a person runs it: each command is the real bin (`node bin/kiln.js`, what `npx kiln`
 * runs) as a child process against a live Kiln on embedded PostgreSQL. First exactly the README's
 * walkthrough (read from README.md, so the two cannot drift apart): upload a public table, train with
 * --follow, show, promote, predict, verify the audit log. Then what scripts and mistakes need: --json,
 * exit codes, field errors, a job that does not succeed, rollback, keys.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ROOT } from '../ingestion/ingestion-helpers';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { explain, runProcess, type Run } from './run-process';

const BIN = join(ROOT, 'bin', 'kiln.js');

function kilnCli(kiln: TestKiln, args: string[], options: { key?: string; input?: string } = {}): Promise<Run> {
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/tmp',
    KILN_URL: kiln.url,
    KILN_API_KEY: options.key ?? kiln.adminKey,
  };
  return runProcess(process.execPath, [BIN, ...args], env, options.input);
}

/** The `npx kiln …` lines of the README walkthrough, in order, as argument lists. */
function walkthroughCommands(): string[][] {
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  const start = readme.indexOf('### Walkthrough: from a public table');
  assert.ok(start >= 0, 'README has the walkthrough');
  const block = /```sh\n([\s\S]*?)```/.exec(readme.slice(start))![1]!;
  return block
    .split('\n')
    .filter((l) => l.startsWith('npx kiln '))
    .map((l) => l.slice('npx kiln '.length).trim().split(/\s+/));
}

async function main(): Promise<void> {
  const skip = await skipUnless('embedded');
  describe('the kiln CLI against a live Kiln', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('embedded');
    });
    after(async () => {
      await kiln?.close();
    });

    it('runs the README walkthrough: upload, train --follow, show, promote, predict, audit verify', async () => {
      const commands = walkthroughCommands();
      assert.deepEqual(
        commands.map((c) => c.slice(0, 2).join(' ')),
        ['datasets upload', 'train --dataset', 'models show', 'models promote', 'predict penguins', 'audit verify'],
      );
      const checks: Array<(r: Run) => void> = [
        (r) => assert.match(r.stdout, /dataset penguins \([0-9a-f-]{36}\) version 1 \([0-9a-f-]{36}\): ready, 344 rows/),
        (r) => {
          assert.match(r.stdout, /^training job [0-9a-f-]{36} succeeded: model penguins v1, macroF1 \d\.\d+, best epoch \d+ of 20/m);
          assert.match(r.stderr, /^epoch 1\/20 loss \d/m, 'one line per epoch when stderr is not a terminal');
          assert.match(r.stderr, /^epoch 20\/20 loss \d/m);
        },
        (r) => assert.match(r.stdout, /│ 1\s+│ active │ multiclass │ macroF1/),
        (r) => assert.match(r.stdout, /penguins production: \(none\) → v1/),
        (r) => {
          assert.match(r.stdout, /^penguins v1: 3 predictions \(\w+ \d, \w+ \d, \w+ \d\)$/m);
          for (const species of ['Adelie', 'Chinstrap', 'Gentoo']) assert.match(r.stdout, new RegExp(`│ \\d │ ${species}\\s+│`));
        },
        (r) => {
          assert.match(r.stdout, /^predictions: ok, [01] records checked/m); // the audit worker may not have chained it yet
          assert.match(r.stdout, /^events: ok, \d+ records checked/m);
        },
      ];
      for (const [i, args] of commands.entries()) {
        const r = await kilnCli(kiln, args);
        assert.equal(r.code, 0, `kiln ${args.join(' ')}: ${explain(r)}`);
        checks[i]!(r);
      }
    });

    it('--json answers for scripts; jobs list leaves histories out, jobs show has early stopping', async () => {
      const jobs = await kilnCli(kiln, ['jobs', 'list', '--model', 'penguins', '--status', 'succeeded', '--json']);
      assert.equal(jobs.code, 0, explain(jobs));
      const listed = JSON.parse(jobs.stdout) as any[];
      assert.equal(listed.length, 1);
      assert.equal('history' in listed[0], false);
      const shown = await kilnCli(kiln, ['jobs', 'show', listed[0].id, '--json']);
      const job = JSON.parse(shown.stdout);
      assert.equal(job.history.length, job.earlyStopping.epochsCompleted);
      assert.equal(job.resolved.hyperparameters.epochs, 20);
      assert.equal(typeof job.earlyStopping.bestEpoch, 'number');
      const records = readFileSync(join(ROOT, 'examples', 'penguins', 'records.json'), 'utf8');
      const predicted = await kilnCli(kiln, ['predict', 'penguins', '--file', '-', '--json'], { input: records });
      assert.equal(predicted.code, 0, explain(predicted));
      const body = JSON.parse(predicted.stdout);
      assert.deepEqual(
        body.predictions.map((p: any) => p.label),
        ['Adelie', 'Chinstrap', 'Gentoo'],
      );
      assert.equal(body.version, 1);
    });

    it('mistakes exit 1 with the reason: unknown column, bad option, unknown dataset, unreachable server', async () => {
      const badTarget = await kilnCli(kiln, ['train', '--dataset', 'penguins', '--target', 'Wingspan', '--model', 'x']);
      assert.equal(badTarget.code, 1);
      assert.match(badTarget.stderr, /^kiln: 400 Bad Request\n {2}target: 'Wingspan' is not a column/);
      const badEpochs = await kilnCli(kiln, ['train', '--dataset', 'penguins', '--target', 'Species', '--model', 'x', '--epochs', 'many']);
      assert.equal(badEpochs.code, 1);
      assert.match(badEpochs.stderr, /--epochs: must be an integer, got 'many'/);
      const noDataset = await kilnCli(kiln, ['train', '--dataset', 'no-such', '--target', 'Species', '--model', 'x']);
      assert.equal(noDataset.code, 1);
      assert.match(noDataset.stderr, /dataset 'no-such' not found/);
      const noFile = await kilnCli(kiln, ['datasets', 'upload', join(ROOT, 'no-such.csv'), '--name', 'never-created']);
      assert.equal(noFile.code, 1);
      assert.match(noFile.stderr, /cannot read .*no-such\.csv: no such file/);
      assert.doesNotMatch((await kilnCli(kiln, ['datasets', 'list'])).stdout, /never-created/, 'nothing created for a missing file');
      const unreachable = await kilnCli(kiln, ['--url', 'http://127.0.0.1:1', 'models', 'list']);
      assert.equal(unreachable.code, 1);
      assert.match(unreachable.stderr, /cannot reach Kiln at http:\/\/127\.0\.0\.1:1/);
      for (const r of [badTarget, badEpochs, noDataset, noFile, unreachable]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
    });

    it('a followed job that does not succeed exits 1; rollback moves production back', async () => {
      const queued = await kilnCli(kiln, ['train', '-d', 'penguins', '-t', 'Species', '-m', 'penguins', '--epochs', '10000', '--json']);
      const id = JSON.parse(queued.stdout).id as string;
      const cancelled = await kilnCli(kiln, ['jobs', 'cancel', id]);
      assert.equal(cancelled.code, 0, explain(cancelled));
      const followed = await kilnCli(kiln, ['jobs', 'follow', id]);
      assert.equal(followed.code, 1, explain(followed));
      assert.match(followed.stdout, new RegExp(`training job ${id} cancelled`));

      const v2 = await kilnCli(kiln, [
        'train',
        '-d',
        'penguins',
        '-t',
        'Species',
        '-m',
        'penguins',
        '--epochs',
        '3',
        '--promote',
        'always',
        '-f',
      ]);
      assert.equal(v2.code, 0, explain(v2));
      assert.match(v2.stdout, /model penguins v2.*promoted to production/);
      const rollback = await kilnCli(kiln, ['models', 'rollback', 'penguins']);
      assert.equal(rollback.code, 0, explain(rollback));
      assert.match(rollback.stdout, /penguins production: v2 → v1 \(rolled back\)/);
      const models = JSON.parse((await kilnCli(kiln, ['models', 'list', '--json'])).stdout) as any[];
      assert.deepEqual(models.find((m) => m.name === 'penguins').aliases, { production: 1 });
    });

    it('keys: a predictor key created by the CLI predicts until it is revoked', async () => {
      const created = await kilnCli(kiln, ['keys', 'create', '--name', 'cli-test', '--role', 'predictor', '--json']);
      assert.equal(created.code, 0, explain(created));
      const key = JSON.parse(created.stdout);
      const file = join(ROOT, 'examples', 'penguins', 'records.json');
      assert.equal((await kilnCli(kiln, ['predict', 'penguins', '--file', file], { key: key.key })).code, 0);
      const refused = await kilnCli(kiln, ['keys', 'list'], { key: key.key });
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /^kiln: 403/);
      assert.equal((await kilnCli(kiln, ['keys', 'revoke', key.id])).code, 0);
      const revoked = await kilnCli(kiln, ['predict', 'penguins', '--file', file], { key: key.key });
      assert.equal(revoked.code, 1);
      assert.match(revoked.stderr, /^kiln: 401/);
    });
  });
}

void main();
