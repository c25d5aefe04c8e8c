/** `kiln models list|show|promote|rollback`, `kiln predict`, `kiln batch start|list|show|cancel`. */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { contextOf, findDataset, intOption, UsageError } from '../cli-context';
import type { KilnClient } from '../kiln-client';
import { details, emit, headlineMetric, table, when } from '../output';

const enc = encodeURIComponent;

function aliasesOf(v: any): string {
  const a = v.aliases as unknown;
  if (Array.isArray(a)) return a.join(', ') || '-';
  if (a && typeof a === 'object') return Object.keys(a).join(', ') || '-';
  return '-';
}

async function moveAlias(client: KilnClient, model: string, alias: string, version: number) {
  return client.put(`/api/models/${enc(model)}/aliases/${enc(alias)}`, { version });
}

export function modelsCommand(): Command {
  const models = new Command('models').description('the model registry: versions, aliases, promotion');

  models
    .command('list')
    .description('registered models')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      table(out, await client.get<any[]>('/api/models'), [
        ['name', (m) => m.name],
        ['latest', (m) => (m.latestVersion ? `v${m.latestVersion}` : '-')],
        [
          'aliases',
          (m) =>
            Object.entries((m.aliases ?? {}) as Record<string, number>)
              .map(([a, v]) => `${a} → v${v}`)
              .join(', ') || '-',
        ],
        ['created', (m) => when(m.createdAt)],
      ]);
    });

  models
    .command('show')
    .description('a model’s versions with their test metrics and aliases')
    .argument('<model>', 'model name')
    .action(async (name: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const versions = await client.get<any[]>(`/api/models/${enc(name)}/versions`);
      table(out, versions, [
        ['version', (v) => v.version],
        ['status', (v) => v.status],
        ['task', (v) => v.task],
        ['test', (v) => headlineMetric(v.metrics)],
        ['aliases', (v) => aliasesOf(v)],
        ['dataset', (v) => (v.lineage?.datasetName ? `${v.lineage.datasetName} v${v.lineage.datasetVersion}` : '-')],
        ['created', (v) => when(v.createdAt)],
      ]);
    });

  models
    .command('promote')
    .description('point an alias (default production) at a version')
    .argument('<model>', 'model name')
    .argument('<version>', 'version number', intOption('version'))
    .option('-a, --alias <alias>', 'alias to move', 'production')
    .action(async (name: string, version: number, o: { alias: string }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const moved = await moveAlias(client, name, o.alias, version);
      emit(out, moved, () =>
        process.stdout.write(`${name} ${o.alias}: ${moved.from === null ? '(none)' : `v${moved.from}`} → v${moved.to}\n`),
      );
    });

  models
    .command('rollback')
    .description('move an alias (default production) back to the version it pointed at before its last move')
    .argument('<model>', 'model name')
    .option('-a, --alias <alias>', 'alias to move back', 'production')
    .action(async (name: string, o: { alias: string }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const history = await client.get<any[]>(`/api/models/${enc(name)}/aliases/${enc(o.alias)}/history`);
      const last = [...history].sort((a, b) => Date.parse(b.changedAt) - Date.parse(a.changedAt))[0];
      if (!last || last.from === null || last.from === undefined) {
        throw new UsageError(`${name} ${o.alias} has no earlier version to roll back to`);
      }
      const moved = await moveAlias(client, name, o.alias, last.from as number);
      emit(out, moved, () => process.stdout.write(`${name} ${o.alias}: v${moved.from} → v${moved.to} (rolled back)\n`));
    });

  return models;
}

/** Records from a JSON file or stdin: an array of records, `{records: [...]}`, or one record. */
function readRecords(file: string): unknown[] {
  const text = readFileSync(file === '-' ? 0 : file, 'utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`--file ${file}: not JSON (${(e as Error).message})`);
  }
  if (Array.isArray(parsed)) return parsed;
  if (parsed && typeof parsed === 'object' && Array.isArray((parsed as { records?: unknown }).records)) {
    return (parsed as { records: unknown[] }).records;
  }
  if (parsed && typeof parsed === 'object') return [parsed];
  throw new UsageError(`--file ${file}: expected an array of records, {"records": [...]} or one record object`);
}

/** A table longer than this shows its first rows and says how many more there are (--all prints them). */
const TABLE_ROWS = 20;

/** `good 1500, bad 357`: how many records got each label (classification), or '' for regression. */
function labelCounts(predictions: any[]): string {
  const counts = new Map<string, number>();
  for (const p of predictions) if (typeof p.label === 'string') counts.set(p.label, (counts.get(p.label) ?? 0) + 1);
  return [...counts].map(([label, n]) => `${label} ${n}`).join(', ');
}

export function predictCommand(): Command {
  return new Command('predict')
    .description('predict with a model (its production alias or deployment routes, unless --version/--alias)')
    .argument('<model>', 'model name')
    .requiredOption('--file <file>', "JSON records: an array, {records: [...]} or one object; '-' reads stdin")
    .option('--version <n>', 'a specific version', intOption('--version'))
    .option('--alias <alias>', 'an alias other than production')
    .option('--top <n>', 'show only the n records with the highest score (binary: the positive class probability)', intOption('--top'))
    .option('--all', `print every record (a longer answer shows its first ${TABLE_ROWS})`)
    .action(async (name: string, o: { file: string; version?: number; alias?: string; top?: number; all?: boolean }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const records = readRecords(o.file);
      const q = new URLSearchParams();
      if (o.version !== undefined) q.set('version', String(o.version));
      if (o.alias) q.set('alias', o.alias);
      const result = await client.post(`/api/models/${enc(name)}/predict${q.size ? `?${q.toString()}` : ''}`, { records });
      if (out.json) {
        emit(out, result, () => undefined);
        return;
      }
      const predictions = ((result.predictions ?? []) as any[]).map((p, index) => ({ ...p, index }));
      let shown = predictions;
      if (o.top !== undefined) shown = [...predictions].sort((a, b) => (b.score ?? -Infinity) - (a.score ?? -Infinity)).slice(0, o.top);
      else if (!o.all && predictions.length > TABLE_ROWS) shown = predictions.slice(0, TABLE_ROWS);
      const counts = labelCounts(predictions);
      process.stdout.write(
        predictions.length > 1
          ? `${result.model ?? name} v${result.version ?? '?'}: ${predictions.length} predictions${counts ? ` (${counts})` : ''}\n`
          : `${result.model ?? name} v${result.version ?? '?'}\n`,
      );
      table(out, shown, [
        ['#', (p) => p.index],
        ['prediction', (p) => p.label ?? p.value ?? p.prediction],
        ['score', (p) => p.score],
        [
          'probabilities',
          (p) =>
            p.probabilities
              ? Object.entries(p.probabilities as Record<string, number>)
                  .map(([c, x]) => `${c} ${x.toPrecision(3)}`)
                  .join(', ')
              : undefined,
        ],
      ]);
      if (shown.length < predictions.length) {
        const which = o.top !== undefined ? 'the highest scores of' : 'the first';
        process.stdout.write(`${which} ${shown.length} of ${predictions.length}; --all or --json prints every one\n`);
      }
    });
}

export function batchCommand(): Command {
  const batch = new Command('batch').description('batch predictions: score a dataset version into a new dataset version');

  batch
    .command('start')
    .description('score the newest ready version of a dataset with a model')
    .requiredOption('-m, --model <name>', 'model name')
    .requiredOption('-d, --dataset <dataset>', 'input dataset name or id')
    .option('--version <n>', 'model version (default the production alias)', intOption('--version'))
    .option('--alias <alias>', 'model alias (default production)')
    .option('-w, --wait', 'wait until it ends (exit 1 unless it succeeds)')
    .action(async (o: { model: string; dataset: string; version?: number; alias?: string; wait?: boolean }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const dataset = await findDataset(client, o.dataset);
      if (!dataset.latestReadyVersion) throw new UsageError(`dataset '${dataset.name}' has no ready version yet`);
      const body = {
        model: o.model,
        datasetVersionId: dataset.latestReadyVersion.id,
        ...(o.version !== undefined ? { version: o.version } : { alias: o.alias ?? 'production' }),
      };
      let job = await client.post('/api/batch-predictions', body);
      while (o.wait && (job.status === 'queued' || job.status === 'running')) {
        await new Promise((r) => setTimeout(r, 500));
        job = await client.get(`/api/batch-predictions/${job.id}`);
      }
      emit(out, job, () =>
        process.stdout.write(
          `batch prediction ${job.id} ${job.status}` +
            (job.outputDatasetVersionId ? `: output dataset ${job.outputDatasetId} version ${job.outputDatasetVersionId}` : '') +
            (job.error ? `: ${job.error.message ?? JSON.stringify(job.error)}` : '') +
            '\n',
        ),
      );
      if (o.wait && job.status !== 'succeeded') process.exitCode = 1;
    });

  batch
    .command('list')
    .description('batch predictions, newest first')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      table(out, await client.get<any[]>('/api/batch-predictions'), [
        ['id', (b) => b.id],
        ['status', (b) => b.status],
        ['model', (b) => (b.modelVersion ? `${b.model} v${b.modelVersion}` : b.model)],
        ['rows', (b) => `${b.progress?.rowsProcessed ?? 0}/${b.progress?.totalRows ?? '?'}`],
        ['created', (b) => when(b.createdAt)],
      ]);
    });

  batch
    .command('show')
    .description('one batch prediction')
    .argument('<id>', 'batch prediction id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      details(out, await client.get(`/api/batch-predictions/${id}`));
    });

  batch
    .command('cancel')
    .description('cancel a queued or running batch prediction')
    .argument('<id>', 'batch prediction id')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const job = await client.post(`/api/batch-predictions/${id}/cancel`);
      emit(out, job, () => process.stdout.write(`batch prediction ${job.id}: ${job.status}\n`));
    });

  return batch;
}
