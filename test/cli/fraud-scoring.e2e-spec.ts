/**
 * examples/fraud-scoring/README.md as a person runs it: its command block (all but the first line,
 * which points the CLI at a local server; the test gives KILN_URL and KILN_API_KEY instead) runs in
 * bash, unchanged, against a live Kiln on embedded PostgreSQL. The data is Lending Club from Debian's
 * r-cran-modeldata, converted at test time; the test skips loudly without R or the package.
 *
 * Then, beyond what the walkthrough prints: the promoted model's scores on the 1 857 applications it
 * never saw are checked against their real outcomes (kept out of the applications file by the export
 * script, read here from the package) — a ROC AUC well above a constant score's 0.5.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { rocAuc } from '../../src/ml/metrics';
import { ROOT } from '../ingestion/ingestion-helpers';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { explain, runProcess } from './run-process';

const EXAMPLE = join(ROOT, 'examples', 'fraud-scoring', 'README.md');
const EXPORT_LINE = 'export KILN_URL=http://127.0.0.1:3000 KILN_API_KEY=$(cat data/admin.key)';

/** The example's command block: the second ```sh block of its README (the first installs the package). */
function exampleCommands(): string[] {
  const blocks = [...readFileSync(EXAMPLE, 'utf8').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  assert.equal(blocks.length, 2, 'the example has an install block and a command block');
  return blocks[1]!.trim().split('\n');
}

function modeldataUnavailable(): string | null {
  try {
    execFileSync('Rscript', ['-e', 'suppressMessages(library(modeldata))'], { stdio: 'pipe' });
    return null;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'ENOENT'
      ? 'Rscript is not installed (apt-get install r-cran-modeldata brings R and the data)'
      : 'the R package modeldata is not installed (apt-get install r-cran-modeldata)';
  }
}

/** The real outcomes of the applications (loans 8 001 … 9 857), which the export script leaves out. */
function applicationOutcomes(): string[] {
  const script =
    'suppressMessages(library(modeldata)); data(lending_club, package = "modeldata"); ' +
    'writeLines(as.character(lending_club$Class[8001:nrow(lending_club)]))';
  return execFileSync('Rscript', ['-e', script], { encoding: 'utf8' }).trim().split('\n');
}

async function main(): Promise<void> {
  const missing = modeldataUnavailable();
  if (missing) console.warn(`SKIP fraud-scoring walkthrough: ${missing}`);
  const skip = missing ?? (await skipUnless('embedded'));
  describe('examples/fraud-scoring: Lending Club from Debian to a promoted, audited, drift-checked model', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('embedded');
    });
    after(async () => {
      await kiln?.close();
    });

    it('runs the example command block unchanged and each step says what the README says', async () => {
      const [first, ...commands] = exampleCommands();
      assert.equal(first, EXPORT_LINE, 'the first line only points the CLI at a local server');
      const script = ['set -euo pipefail', ...commands].join('\n');
      const run = await runProcess('bash', ['-c', script], { ...process.env, KILN_URL: kiln.url, KILN_API_KEY: kiln.adminKey });
      const why = explain(run);
      assert.equal(run.code, 0, why);
      const out = run.stdout;
      assert.match(out, /wrote .+: loans\.csv \(8000 loans, 422 bad\) and applications\.json \(1857 applications\)/, why);
      assert.match(out, /^dataset loans \([0-9a-f-]{36}\) version 1 \([0-9a-f-]{36}\): ready, 8000 rows$/m, why);
      const trained = /^training job [0-9a-f-]{36} succeeded: model loan-risk v1, rocAuc (\d\.\d+)/m.exec(out);
      assert.ok(trained, why);
      assert.ok(Number(trained[1]) > 0.6, `test-split ROC AUC ${trained[1]} well above a constant score's 0.5`);
      assert.match(out, /│ 1\s+│ active\s+│ binary\s+│ rocAuc 0\.\d+/, why);
      assert.match(out, /loan-risk production: \(none\) → v1/, why);
      assert.match(out, /^loan-risk v1: 1857 predictions \((good \d+, bad \d+|bad \d+, good \d+)\)$/m, why);
      assert.match(out, /^the highest scores of 10 of 1857; --all or --json prints every one$/m, why);
      assert.match(out, /^loan-risk v1: no dataset drift — 0 of 22 features drifted/m, why);
      assert.match(out, /^window .+: 1857 live rows against loans v1 \(8000 rows\)/m, why);
      assert.match(out, /^predictions: ok, \d+ records checked/m, why);
      assert.match(out, /^events: ok, \d+ records checked/m, why);
    });

    it('the promoted model ranks the held-out applications by their real outcome (ROC AUC > 0.6)', async () => {
      const outcomes = applicationOutcomes();
      const dir = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
      execFileSync('Rscript', [join(ROOT, 'examples', 'fraud-scoring', 'export-loans.R'), dir], { stdio: 'pipe' });
      const records = JSON.parse(readFileSync(join(dir, 'applications.json'), 'utf8')) as object[];
      assert.equal(records.length, outcomes.length);
      const res = await kiln.request('POST', '/api/models/loan-risk/predict', { body: { records } });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const scores = (res.body.predictions as Array<{ probabilities: Record<string, number> }>).map((p) => p.probabilities.bad!);
      const auc = rocAuc(
        outcomes.map((o) => (o === 'bad' ? 1 : 0)),
        scores,
      );
      assert.ok(auc > 0.6, `ROC AUC on the 1 857 held-out applications: ${auc.toFixed(3)}`);
    });
  });
}

void main();
