/** `kiln datasets upload|list|show`. */
import { stat } from 'node:fs/promises';
import { Command } from 'commander';
import { contextOf, findDataset, UsageError } from '../cli-context';
import type { KilnClient } from '../kiln-client';
import { details, emit, table, when } from '../output';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a version until it is ready or failed. */
async function settle(client: KilnClient, datasetId: string, versionId: string): Promise<any> {
  for (;;) {
    const v = await client.get(`/api/datasets/${datasetId}/versions/${versionId}`);
    if (v.status === 'ready' || v.status === 'failed') return v;
    await sleep(500);
  }
}

function columnsOf(v: any): string {
  return (v.columns ?? []).map((c: { name: string; type: string }) => `${c.name}:${c.type}`).join(', ');
}

export function datasetsCommand(): Command {
  const datasets = new Command('datasets').description('upload and inspect datasets');

  datasets
    .command('upload')
    .description('upload FILE (CSV, NDJSON or a JSON array; gzip too) as a new version of dataset NAME (created when missing)')
    .argument('<file>', 'the file to upload')
    .requiredOption('-n, --name <name>', 'dataset name')
    .option('-w, --wait', 'wait until the version is ingested (exit 1 when it fails)')
    .action(async (file: string, o: { name: string; wait?: boolean }, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      if (!(await stat(file)).isFile()) throw new UsageError(`${file}: not a file`); // before creating the dataset
      const existing = (await client.get<any[]>('/api/datasets')).find((d) => d.name === o.name);
      const dataset = existing ?? (await client.post('/api/datasets', { name: o.name }));
      let version = await client.upload(`/api/datasets/${dataset.id}/versions`, file);
      if (o.wait) version = await settle(client, dataset.id, version.id);
      emit(out, { dataset: { id: dataset.id, name: dataset.name }, version }, () => {
        const head = `dataset ${dataset.name} (${dataset.id}) version ${version.version} (${version.id}): ${version.status}`;
        process.stdout.write(
          version.status === 'ready' ? `${head}, ${version.rowCount} rows\n  columns: ${columnsOf(version)}\n` : `${head}\n`,
        );
      });
      if (version.status === 'failed') {
        throw new UsageError(`ingestion failed: ${version.failureReason ?? JSON.stringify(version.errors?.slice(0, 3))}`);
      }
    });

  datasets
    .command('list')
    .description('datasets with their newest versions')
    .action(async (_o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      table(out, await client.get<any[]>('/api/datasets'), [
        ['name', (d) => d.name],
        ['id', (d) => d.id],
        ['versions', (d) => d.versionCount],
        ['latest', (d) => (d.latestVersion ? `v${d.latestVersion.version} ${d.latestVersion.status}` : '-')],
        ['created', (d) => when(d.createdAt)],
      ]);
    });

  datasets
    .command('show')
    .description('a dataset (by name or id) and its versions')
    .argument('<dataset>', 'name or id')
    .action(async (ref: string, _o: unknown, cmd: Command) => {
      const { client, out } = contextOf(cmd);
      const dataset = await findDataset(client, ref);
      const versions = await client.get<any[]>(`/api/datasets/${dataset.id}/versions`);
      if (out.json) {
        emit(out, { ...dataset, versions }, () => undefined);
        return;
      }
      details(out, dataset, ['name', 'id', 'description', 'versionCount', 'createdAt']);
      process.stdout.write('\n');
      table(out, versions, [
        ['version', (v) => v.version],
        ['id', (v) => v.id],
        ['status', (v) => v.status],
        ['rows', (v) => v.rowCount],
        ['columns', (v) => (v.columns ?? []).length],
        ['created', (v) => when(v.createdAt)],
      ]);
    });

  return datasets;
}
