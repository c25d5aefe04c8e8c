/**
 * A typed client generated from a running Kiln's `/docs-json` (openapi-typescript + openapi-fetch), the
 * way a user would: the types are generated into a git-ignored directory, a client program is
 * type-checked against them with tsc (strict) and run with node. If the document lost a request or
 * response schema the program uses, tsc fails.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..', '..');
const BIN = join(ROOT, 'node_modules', '.bin');

/** The acceptance flow, written against the generated `paths` type: dataset, upload, train, wait, alias, predict, audit verify. */
export const CLIENT_FLOW_SOURCE = `
import createClient from 'openapi-fetch';
import { readFileSync } from 'node:fs';
import type { paths } from './kiln-api.js';

const env = (name: string): string => {
  const value = process.env[name];
  if (!value) throw new Error(name + ' is not set');
  return value;
};
const client = createClient<paths>({ baseUrl: env('KILN_URL'), headers: { authorization: 'Bearer ' + env('KILN_API_KEY') } });
const records: Record<string, unknown>[] = JSON.parse(env('PREDICT_RECORDS'));
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function must<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>, what: string): Promise<T> {
  const { data, error, response } = await call;
  if (data === undefined) throw new Error(what + ': HTTP ' + response.status + ' ' + JSON.stringify(error));
  return data;
}

const dataset = await must(client.POST('/api/datasets', { body: { name: 'penguins' } }), 'create dataset');
const accepted = await must(
  client.POST('/api/datasets/{id}/versions', {
    params: { path: { id: dataset.id } },
    body: { file: 'penguins.json' },
    bodySerializer: () => {
      const form = new FormData();
      form.append('file', new Blob([readFileSync(env('PENGUINS_FILE'))]), 'penguins.json');
      return form;
    },
  }),
  'upload',
);
let status: string = accepted.status;
while (status !== 'ready') {
  if (status === 'failed') throw new Error('the upload failed');
  await sleep(200);
  const version = await must(
    client.GET('/api/datasets/{id}/versions/{versionId}', { params: { path: { id: dataset.id, versionId: accepted.id } } }),
    'version',
  );
  status = version.status;
}
const queued = await must(
  client.POST('/api/training-jobs', {
    body: { datasetVersionId: accepted.id, target: 'Species', modelName: 'penguins', hyperparameters: { epochs: 3 } },
  }),
  'train',
);
let job = await must(client.GET('/api/training-jobs/{id}', { params: { path: { id: queued.id } } }), 'job');
while (job.status === 'queued' || job.status === 'running') {
  await sleep(300);
  job = await must(client.GET('/api/training-jobs/{id}', { params: { path: { id: queued.id } } }), 'job');
}
if (job.status !== 'succeeded' || !job.modelVersion) throw new Error('training ended ' + job.status + ': ' + JSON.stringify(job.error));
const alias = await must(
  client.PUT('/api/models/{name}/aliases/{alias}', {
    params: { path: { name: 'penguins', alias: 'production' } },
    body: { version: job.modelVersion.version },
  }),
  'alias',
);
const predicted = await must(
  client.POST('/api/models/{name}/predict', { params: { path: { name: 'penguins' } }, body: { records } }),
  'predict',
);
// The prediction log is chained by the audit worker shortly after the (already durable) call: wait for it.
let verify = await must(client.GET('/api/audit/verify', { params: { query: { chain: 'predictions' } } }), 'verify');
// With ?chain= the answer is that chain's report (without it: {ok, chains}, every chain's report).
const checked = (v: typeof verify) => ('checked' in v ? v.checked : v.chains.predictions.checked);
for (let i = 0; i < 150 && verify.ok && checked(verify) === 0; i++) {
  await sleep(200);
  verify = await must(client.GET('/api/audit/verify', { params: { query: { chain: 'predictions' } } }), 'verify');
}
console.log(
  JSON.stringify({
    epochs: job.history.length,
    bestEpoch: job.earlyStopping.bestEpoch,
    aliasVersion: alias.to,
    labels: predicted.predictions.map((p) => p.label ?? null),
    version: predicted.version,
    verified: verify.ok,
    checked: checked(verify),
  }),
);
`;

// Asynchronous: the Kiln under test may run in this same process, and must keep answering meanwhile.
async function run(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): Promise<string> {
  try {
    return (await promisify(execFile)(cmd, args, { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000, maxBuffer: 16 << 20 })).stdout;
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    throw new Error(`${cmd} ${args.join(' ')} exited ${e.code}:\n${e.stdout ?? ''}\n${e.stderr ?? ''}`, { cause: err });
  }
}

/** Generates `kiln-api.d.ts` from `document` with openapi-typescript into `dir` (git-ignored under test-artifacts/). */
export async function generateClient(document: unknown, name: string): Promise<string> {
  const dir = join(ROOT, 'test-artifacts', 'openapi-client', name);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'openapi.json'), JSON.stringify(document));
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: 'module', private: true }));
  // --default-non-nullable false: a property with a default (epochs, template, …) stays optional in request bodies.
  await run(join(BIN, 'openapi-typescript'), [
    join(dir, 'openapi.json'),
    '-o',
    join(dir, 'kiln-api.d.ts'),
    '--default-non-nullable',
    'false',
  ]);
  return dir;
}

/** Type-checks `source` (strict) against the generated types and compiles it; tsc's errors are thrown. */
export async function compileClientProgram(dir: string, source: string): Promise<string> {
  writeFileSync(join(dir, 'flow.ts'), source);
  const args = [
    '--strict',
    '--module',
    'nodenext',
    '--moduleResolution',
    'nodenext',
    '--target',
    'es2022',
    '--types',
    'node',
    '--skipLibCheck',
  ];
  await run(join(BIN, 'tsc'), [...args, '--outDir', join(dir, 'out'), join(dir, 'flow.ts')]);
  return join(dir, 'out', 'flow.js');
}

export function runClientProgram(file: string, env: Record<string, string>): Promise<string> {
  return run(process.execPath, [file], { ...process.env, ...env });
}
