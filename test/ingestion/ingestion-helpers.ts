/**
 * Helpers for the ingestion e2e tests: multipart uploads over real HTTP, waiting for a version to
 * finish, public data files, and plain statistics written independently of the pipeline.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { mean, quantile, sampleStd } from '../support/ingestion/ingest-helpers';
import { eventually, type KilnClient, type TestResponse } from '../utils/test-kiln';

/** Repository root: the nearest ancestor with a package.json (works from test/, dist/test/ or any build dir). */
export const ROOT = ((): string => {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
})();
/** vega-datasets (BSD-3-Clause): tables nobody on the team wrote. */
export const VEGA = join(ROOT, 'node_modules', 'vega-datasets', 'data');

export function vegaFile(name: string): Buffer {
  return readFileSync(join(VEGA, name));
}

export type JsonRow = Record<string, string | number | null>;

export function penguinsRows(): JsonRow[] {
  return JSON.parse(vegaFile('penguins.json').toString('utf8')) as JsonRow[];
}

/** RFC 4180 CSV of JSON rows (null → empty cell), written here independently of Kiln's code. */
export function toCsv(rows: JsonRow[], columns = Object.keys(rows[0]!)): string {
  const cell = (v: string | number | null | undefined): string => {
    if (v === null || v === undefined) return '';
    const s = String(v);
    return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [columns.map(cell).join(','), ...rows.map((r) => columns.map((c) => cell(r[c])).join(','))].join('\n') + '\n';
}

export interface UploadOptions {
  fileName?: string;
  fieldName?: string;
  /** Option fields, sent before the file part. */
  fields?: Record<string, string>;
  key?: string;
  headers?: Record<string, string>;
}

/** POST /api/datasets/:id/versions as multipart/form-data. */
export async function upload(kiln: KilnClient, datasetId: string, data: Buffer | string, opts: UploadOptions = {}): Promise<TestResponse> {
  const form = new FormData();
  for (const [k, v] of Object.entries(opts.fields ?? {})) form.append(k, v);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  form.append(opts.fieldName ?? 'file', new Blob([bytes]), opts.fileName ?? 'data.csv');
  return kiln.request('POST', `/api/datasets/${datasetId}/versions`, { body: form, key: opts.key, headers: opts.headers });
}

export async function createDataset(kiln: KilnClient, name: string): Promise<string> {
  const res = await kiln.request('POST', '/api/datasets', { body: { name } });
  assert.equal(res.status, 201, res.text);
  return res.body.id as string;
}

/** Waits until the version is ready or failed and returns it. */
export async function settled(kiln: KilnClient, datasetId: string, versionId: string, timeoutMs = 30_000): Promise<any> {
  return eventually(async () => {
    const res = await kiln.request('GET', `/api/datasets/${datasetId}/versions/${versionId}`);
    assert.equal(res.status, 200, res.text);
    return res.body.status === 'ready' || res.body.status === 'failed' ? res.body : undefined;
  }, timeoutMs);
}

/** Uploads and waits; asserts 202 first. */
export async function ingest(kiln: KilnClient, datasetId: string, data: Buffer | string, opts: UploadOptions = {}): Promise<any> {
  const res = await upload(kiln, datasetId, data, opts);
  assert.equal(res.status, 202, res.text);
  assert.equal(res.body.status, 'pending');
  return settled(kiln, datasetId, res.body.id);
}

export async function readyVersion(kiln: KilnClient, datasetId: string, data: Buffer | string, opts: UploadOptions = {}): Promise<any> {
  const v = await ingest(kiln, datasetId, data, opts);
  assert.equal(v.status, 'ready', `expected ready, got ${v.status}: ${v.failureReason}`);
  return v;
}

// ---- plain statistics
export { mean, quantile, sampleStd };
export function assertClose(actual: unknown, expected: number, label: string, eps = 1e-9): void {
  assert.ok(
    typeof actual === 'number' && Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)),
    `${label}: ${String(actual)} vs ${expected}`,
  );
}

/** Asserts a numeric column profile against a direct computation over the raw values. */
export function assertNumericProfile(p: any, values: Array<number | null>, label: string): void {
  const nums = values.filter((v): v is number => typeof v === 'number');
  assert.equal(p.kind, 'numeric', label);
  assert.equal(p.count, nums.length, `${label} count`);
  assert.equal(p.missing, values.length - nums.length, `${label} missing`);
  assert.equal(p.distinct, new Set(nums).size, `${label} distinct`);
  assert.equal(p.min, Math.min(...nums), `${label} min`);
  assert.equal(p.max, Math.max(...nums), `${label} max`);
  assertClose(p.mean, mean(nums), `${label} mean`);
  assertClose(p.std, sampleStd(nums), `${label} std`);
  for (const [k, q] of [
    ['p25', 0.25],
    ['p50', 0.5],
    ['p75', 0.75],
  ] as const)
    assertClose(p.quantiles[k], quantile(nums, q), `${label} ${k}`);
  assert.equal(
    p.histogram.counts.reduce((a: number, b: number) => a + b, 0),
    nums.length,
    `${label} histogram total`,
  );
  assert.equal(p.histogram.edges.length, p.histogram.counts.length + 1);
  assert.equal(p.sample.length, Math.min(1000, nums.length), `${label} reservoir sample`);
}

export function countBy(values: unknown[]): Record<string, number> {
  const m: Record<string, number> = {};
  for (const v of values) if (typeof v === 'string' && v !== '') m[v] = (m[v] ?? 0) + 1;
  return m;
}
