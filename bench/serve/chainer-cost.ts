/**
 * bench/serve/chainer-cost.ts — the audit chainer's JavaScript work per record (what its worker thread
 * does between PostgreSQL round trips), this build against another build, in one process and one run:
 *
 *   npm run build --silent && node dist/bench/serve/chainer-cost.js <other build>/dist
 *   BENCH_ROUNDS=9 BENCH_MS=400 BENCH_BATCH=100 node dist/bench/serve/chainer-cost.js /tmp/base/dist
 *
 * The records are those `bench:serve` makes: record API, one record of 30 numeric features, the small
 * model's prediction as output (bench/serve/fixture.ts), staged as AuditSink stages them (one JSON
 * text per group commit of BENCH_BATCH records). Per staged batch, each build runs its own code for the
 * steps of a chainer pass that need no database, split into stages so the profile has names:
 *   parse      JSON.parse of the staged batch text (StagedChainer.pass)
 *   normalize  normalizePrediction of each record (contract checks, stored JSON, inputs hash)
 *   chain      canonical JSON of each record's content + SHA-256 over it and the previous hash
 *   encode     the INSERT's parameters as node-postgres sends them (utils.prepareValue of each, after the
 *              build's own wire form of its columns where it has one: jsonb columns as one JSON array)
 * Measured as CPU time of this process (`process.cpuUsage`) per record; the builds take turns for
 * BENCH_ROUNDS rounds of BENCH_MS each and the median round counts. Both builds' hashes and parameters
 * are compared first: they must be identical (same chain, same rows).
 */
import { join, resolve } from 'node:path';
import { stagedBatchText } from './audit-fixture';
import { runBench } from '../common/run-bench';

const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 7);
const MS = Number(process.env.BENCH_MS ?? 300);
const BATCH = Number(process.env.BENCH_BATCH ?? 100);

type Normalized = Record<string, unknown>;
interface Build {
  label: string;
  normalizePrediction(record: unknown, index: number, parsedJson: boolean): Normalized;
  /** Rows (one array of column values each) and the new head, as the writer inserts them. */
  chainRows(records: Normalized[], head: { seq: number; hash: string }, loggedAt: Date): { params: unknown[] };
  prepareValue(v: unknown): unknown;
  /** The build's wire form of the chained columns (identity where it had none). */
  wire(columns: unknown[]): unknown[];
}

/* eslint-disable @typescript-eslint/no-require-imports -- another build's compiled modules, by path */
function load(label: string, dist: string): Build {
  const incoming = require(join(dist, 'src/audit/log/incoming-records.js')) as Pick<Build, 'normalizePrediction'>;
  const writer = require(join(dist, 'src/audit/log/audit-log.writer.js')) as {
    predictionInsertParams?: (rs: Normalized[], h: { seq: number; hash: string }, at: Date) => { columns: unknown[][] };
    wireColumns?: (types: string[], columns: unknown[][]) => unknown[];
    PREDICTION_TYPES?: string[];
  };
  const pg = require('pg/lib/utils') as { prepareValue(v: unknown): unknown };
  return {
    label,
    normalizePrediction: incoming.normalizePrediction,
    chainRows: writer.predictionInsertParams
      ? (rs, h, at) => ({ params: writer.predictionInsertParams!(rs, h, at).columns })
      : legacyChainRows(dist),
    prepareValue: pg.prepareValue,
    wire: writer.wireColumns && writer.PREDICTION_TYPES ? (c) => writer.wireColumns!(writer.PREDICTION_TYPES!, c as unknown[][]) : (c) => c,
  };
}

/** What a build without `predictionInsertParams` did in appendPredictions (audit-log.writer.ts before it). */
function legacyChainRows(dist: string): Build['chainRows'] {
  const content = require(join(dist, 'src/audit/log/chain-content.js')) as {
    predictionCanonical(p: unknown, inputsCanonical?: string): string;
  };
  const chain = require(join(dist, 'src/audit/chain/index.js')) as { hashCanonical(prev: string, canonical: string): string };
  /* eslint-enable @typescript-eslint/no-require-imports */
  return (records, head, loggedAt) => {
    let prev = head.hash;
    let seq = head.seq;
    const rows = records.map((r) => {
      seq += 1;
      const hash = chain.hashCanonical(prev, content.predictionCanonical({ ...r, seq, loggedAt }, r.inputsCanonical as string | undefined));
      // prettier-ignore
      const row = [seq, loggedAt, r.requestId, r.clientRequestId, r.servedAt, r.callerKeyId, r.model, r.modelVersion, r.route, r.kind,
        r.canary, r.status, r.latencyMs, r.rows, r.inputsJson, r.inputsSha256, r.outputsJson, r.error, prev, hash];
      prev = hash;
      return row;
    });
    return { params: rows[0]!.map((_, i) => rows.map((row) => row[i])) };
  };
}

const stagedBatch = (): string => stagedBatchText(BATCH);

/** logged_at and served_at in PREDICTION_INSERT_COLUMNS. */
const TIME_COLUMNS = [1, 4];
const HEAD = { seq: 41, hash: 'a'.repeat(64) };
const LOGGED_AT = new Date(Date.UTC(2026, 11, 7, 3, 0, 1));

function stages(build: Build, text: string) {
  let parsed: { predictions: unknown[] } = { predictions: [] };
  let normalized: Normalized[] = [];
  let params: unknown[] = [];
  return {
    parse: () => (parsed = JSON.parse(text) as { predictions: unknown[] }),
    normalize: () => (normalized = parsed.predictions.map((r, i) => build.normalizePrediction(r, i, true))),
    chain: () => (params = build.chainRows(normalized, HEAD, LOGGED_AT).params),
    encode: () => build.wire(params).map((p) => build.prepareValue(p)),
  };
}

/** CPU µs per record of `fn` (one call = one batch of BATCH records) over about `ms` of wall time. */
function cpuPerRecord(fn: () => unknown, ms: number): number {
  const until = performance.now() + ms;
  const c0 = process.cpuUsage();
  let calls = 0;
  // at least once: the next stage works on this one's output (a loaded machine may not run us before `until`)
  do {
    fn();
    calls++;
  } while (performance.now() < until);
  const c = process.cpuUsage(c0);
  return (c.user + c.system) / calls / BATCH;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

function main(): void {
  const other = process.argv[2];
  if (!other) throw new Error('usage: node dist/bench/serve/chainer-cost.js <other build>/dist');
  const builds = [load(`baseline (${other})`, resolve(other)), load('this build', resolve(__dirname, '..', '..'))];
  const text = stagedBatch();
  console.log(`${BATCH} records per staged batch (${text.length} B)`);

  // Same input, same chain (the hashes cover every column) and the same column values (timestamps
  // compared as instants: a build may send them as ISO text rather than node-postgres's local format).
  const outputs = builds.map((b) => {
    const s = stages(b, text);
    s.parse();
    s.normalize();
    const params = s.chain().map((p) => b.prepareValue(p)) as string[];
    const instants = (literal: string) =>
      literal
        .slice(1, -1)
        .split(',')
        .map((t) => new Date(t.replace(/"/g, '')).getTime());
    return JSON.stringify(params.map((p, i) => (TIME_COLUMNS.includes(i) ? instants(p) : p)));
  });
  if (outputs[0] !== outputs[1]) throw new Error('the two builds chain or encode the batch differently');

  const names = ['parse', 'normalize', 'chain', 'encode'] as const;
  const samples = builds.map(() => Object.fromEntries(names.map((n) => [n, [] as number[]])) as Record<(typeof names)[number], number[]>);
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? [0, 1] : [1, 0];
    for (const b of order) {
      const s = stages(builds[b]!, text);
      for (const n of names) {
        // each stage timed alone, its inputs prepared by the stages before it
        samples[b]![n].push(cpuPerRecord(s[n], MS / names.length));
      }
    }
  }
  const rows: Array<Record<string, string>> = names.map((n) => {
    const [a, b] = [median(samples[0]![n]), median(samples[1]![n])];
    return { stage: n, 'baseline µs/record': a.toFixed(2), 'this build µs/record': b.toFixed(2), ratio: (b / a).toFixed(2) };
  });
  const total = (i: number) => names.reduce((t, n) => t + median(samples[i]![n]), 0);
  rows.push({
    stage: 'total',
    'baseline µs/record': total(0).toFixed(2),
    'this build µs/record': total(1).toFixed(2),
    ratio: (total(1) / total(0)).toFixed(2),
  });
  console.table(rows);
}

runBench(main);
