/** `kiln drift check|show MODEL`: the served version's live inputs against its training data. */
import { Command } from 'commander';
import { contextOf, intOption } from '../cli-context';
import { emit, table, when } from '../output';

const enc = encodeURIComponent;
/** The server waits at most this long for a check (`Prefer: wait=N`, its MAX_CHECK_WAIT_SECONDS). */
const MAX_WAIT_SECONDS = 60;

/** A report as people read it: the verdict, the window, then one row per feature (drifted first). */
function printReport(report: any): void {
  if (!report) {
    process.stdout.write('no drift report yet (kiln drift check MODEL runs one)\n');
    return;
  }
  if (report.status === 'skipped') {
    process.stdout.write(`drift check skipped for ${report.model}: ${report.reason}\n`);
    return;
  }
  const r = report.report;
  process.stdout.write(
    `${report.model} v${report.modelVersion}: ${report.drift ? 'DATASET DRIFT' : 'no dataset drift'} — ` +
      `${r.driftedCount} of ${r.featureCount} features drifted (${(report.driftedShare * 100).toFixed(0)} %; drift at ≥ 50 %)\n` +
      `window ${when(report.windowFrom)} … ${when(report.windowTo)}: ${report.rows} live rows against ` +
      `${r.reference.datasetName} v${r.reference.datasetVersion} (${r.referenceRowCount} rows), ${r.method} tests\n`,
  );
  const features = [...(r.features as any[])].sort((a, b) => Number(b.drifted) - Number(a.drifted) || (b.psi ?? 0) - (a.psi ?? 0));
  table({ json: false }, features, [
    ['feature', (f) => f.feature],
    ['test', (f) => f.test],
    ['score', (f) => f.score],
    ['p-value', (f) => f.pValue],
    ['threshold', (f) => `${f.thresholdRule === 'p_value_below' ? 'p <' : '≥'} ${f.threshold}`],
    ['PSI', (f) => f.psi],
    ['drifted', (f) => (f.drifted ? 'DRIFT' : '-')],
  ]);
  const p = r.prediction;
  if (p?.result) {
    process.stdout.write(
      `predictions vs training ${p.target}: ${p.result.test} ${p.result.score.toPrecision(4)}` +
        `${p.result.drifted ? ' DRIFT' : ', no drift'} (not counted in the verdict)\n`,
    );
  }
  if (r.retrain) process.stdout.write(`closed loop: retrain ${r.retrain.status}${r.retrain.reason ? ` (${r.retrain.reason})` : ''}\n`);
}

export function driftCommand(): Command {
  const drift = new Command('drift').description("drift: the served version's live inputs against its training data");
  drift
    .command('check')
    .description('run a drift check now and print its report (exit 2 when the dataset drifted)')
    .argument('<model>', 'model name')
    .option('--wait <seconds>', `how long to wait for the report (at most ${MAX_WAIT_SECONDS})`, intOption('--wait'), MAX_WAIT_SECONDS)
    .action(async (name: string, o: { wait: number }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const wait = Math.max(1, Math.min(o.wait, MAX_WAIT_SECONDS));
      const outcome = await client.post(`/api/models/${enc(name)}/drift/check`, {}, { prefer: `wait=${wait}` });
      if (outcome.status === 'queued') {
        emit(out, outcome, () =>
          process.stdout.write(`drift check ${outcome.jobId} still queued after ${wait} s; kiln drift show ${name} prints it later\n`),
        );
        return;
      }
      emit(out, outcome.report, () => printReport(outcome.report));
      if (outcome.report?.drift === true) process.exitCode = 2;
    });
  drift
    .command('show')
    .description("the model's newest drift report")
    .argument('<model>', 'model name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const { latest } = await client.get<{ latest: any }>(`/api/models/${enc(name)}/drift?limit=1`);
      emit(out, latest, () => printReport(latest));
    });
  return drift;
}
