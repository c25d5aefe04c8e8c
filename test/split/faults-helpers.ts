/**
 * Shared steps of the split-mode fault, event and multi-host tests: the compiled `apps/<app>/main.js`
 * entries as separate processes, readiness, metrics scraping, and a small penguins model trained
 * through the API.
 */
import { join } from 'node:path';
import { readyUrl, spawnKiln, type SpawnedKiln } from '../utils/spawn-kiln';
import { httpRequest } from '../utils/test-kiln';

/** dist/test/split → dist/apps/<app>/main.js */
export const APPS_DIR = join(__dirname, '..', '..', 'apps');
export type AppName = 'gateway' | 'ingestion' | 'training' | 'inference' | 'audit';

export function appEntry(app: AppName): string {
  return join(APPS_DIR, app, 'main.js');
}

/** Starts one split app as its own process and waits until it answers /health/ready. */
export async function startApp(
  app: AppName,
  env: Record<string, string>,
  started: SpawnedKiln[],
): Promise<{ kiln: SpawnedKiln; url: string }> {
  const kiln = spawnKiln(env, appEntry(app));
  started.push(kiln);
  return { kiln, url: await readyUrl(kiln) };
}

/** SIGKILL (or the given signal) and wait for the exit; harmless for a process already gone. */
export async function stop(kiln: SpawnedKiln, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
  if (kiln.child.exitCode === null && kiln.child.signalCode === null) kiln.child.kill(signal);
  await kiln.exited;
}

/** One Prometheus sample (`name{labels}`) of a process's /metrics, 0 when absent. */
export async function metric(url: string, sample: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  for (const line of text.split('\n')) {
    if (line.startsWith(`${sample} `)) return Number(line.slice(sample.length + 1));
  }
  return 0;
}

/** The version a record-API call on `url` is answered by (the alias or deployment routing decides). */
export async function servedVersion(url: string, key: string, model: string, records: unknown[]): Promise<number | null> {
  const r = await httpRequest(url, key, 'POST', `/api/models/${model}/predict`, { body: { records } });
  return r.status === 200 ? (r.body.version as number) : null;
}
