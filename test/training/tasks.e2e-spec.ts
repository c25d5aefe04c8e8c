/**
 * Training tasks end to end on the machine's PostgreSQL (PostgreSQL queue backend), on public tables
 * nobody on the team wrote (vega-datasets):
 *
 *  - binary, imbalanced: movies.json, target "good" = IMDB Rating ≥ 8 (≈7% positives), balanced class weights;
 *  - regression with categorical inputs and missing values: cars.json, Miles_per_Gallon from Origin,
 *    Horsepower (has nulls), Weight_in_lbs, …; and the same spec twice gives the same metrics;
 *  - server-sent events of a job: one `progress` per epoch, the final event, the stream ends; at once
 *    for a finished job; a disconnecting client stops its stream.
 *
 * Every job's stored test metrics are recomputed here, with reference implementations written
 * independently of src/ml/metrics.ts, from the stored test predictions
 * (GET /api/training-jobs/:id/test-predictions), whose true values are checked against the uploaded rows.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TrainingJobEvents } from '../../src/training/training-job-events';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { succeededTrainingJob } from '../utils/training-jobs';
import { createDataset, readyVersion, toCsv, vegaFile, type JsonRow } from '../ingestion/ingestion-helpers';

// ---- reference metrics (written from the textbook definitions, not from Kiln's code)

/** ROC AUC as P(score(pos) > score(neg)) over every positive/negative pair, ties counting one half. */
function pairwiseAuc(labels: number[], scores: number[]): number {
  const pos = scores.filter((_, i) => labels[i] === 1);
  const neg = scores.filter((_, i) => labels[i] === 0);
  let wins = 0;
  for (const p of pos) for (const n of neg) wins += p > n ? 1 : p === n ? 0.5 : 0;
  return wins / (pos.length * neg.length);
}

/** Average precision: Σ over distinct thresholds t (descending) of (R(t) − R(prev)) · P(t), predicting positive when score ≥ t. */
function averagePrecision(labels: number[], scores: number[]): number {
  const totalPos = labels.filter((l) => l === 1).length;
  const thresholds = [...new Set(scores)].sort((a, b) => b - a);
  let ap = 0;
  let prevRecall = 0;
  for (const t of thresholds) {
    let tp = 0;
    let fp = 0;
    scores.forEach((s, i) => {
      if (s >= t) labels[i] === 1 ? tp++ : fp++;
    });
    const recall = tp / totalPos;
    ap += (recall - prevRecall) * (tp / (tp + fp));
    prevRecall = recall;
  }
  return ap;
}

/** Mean negative log-likelihood; probabilities clipped to [1e-15, 1 − 1e-15] as scikit-learn does. */
function logLoss(labels: number[], p: number[]): number {
  const clip = (q: number) => Math.min(1 - 1e-15, Math.max(1e-15, q));
  return -labels.reduce((s, l, i) => s + (l === 1 ? Math.log(clip(p[i]!)) : Math.log(1 - clip(p[i]!))), 0) / labels.length;
}

function close(actual: unknown, expected: number, label: string, eps = 1e-9): void {
  assert.equal(typeof actual, 'number', `${label}: not a number (${String(actual)})`);
  assert.ok(
    Math.abs((actual as number) - expected) <= eps * Math.max(1, Math.abs(expected)),
    `${label}: stored ${String(actual)} vs recomputed ${expected}`,
  );
}

// ---- server-sent events client

interface SseEvent {
  event: string;
  id?: string;
  data: any;
}

/** Reads an event stream until the server ends it (or `stopAfter` events arrived: then the client disconnects). */
async function readEvents(
  kiln: TestKiln,
  path: string,
  opts: { stopAfter?: number; lastEventId?: string } = {},
): Promise<{ status: number; contentType: string | null; events: SseEvent[] }> {
  const abort = new AbortController();
  const res = await fetch(`${kiln.url}${path}`, {
    headers: {
      authorization: `Bearer ${kiln.adminKey}`,
      accept: 'text/event-stream',
      ...(opts.lastEventId ? { 'last-event-id': opts.lastEventId } : {}),
    },
    signal: abort.signal,
  });
  const events: SseEvent[] = [];
  if (res.status !== 200 || !res.body) return { status: res.status, contentType: res.headers.get('content-type'), events };
  const decoder = new TextDecoder();
  let buf = '';
  const reader = res.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      buf += decoder.decode(value, { stream: true });
      let cut: number;
      while ((cut = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        const fields: Record<string, string> = {};
        for (const line of block.split('\n')) {
          if (!line || line.startsWith(':')) continue;
          const i = line.indexOf(':');
          const k = i < 0 ? line : line.slice(0, i);
          const v = i < 0 ? '' : line.slice(i + 1).replace(/^ /, '');
          fields[k] = fields[k] !== undefined && k === 'data' ? `${fields[k]}\n${v}` : v;
        }
        if (fields.data === undefined) continue;
        events.push({
          event: fields.event ?? 'message',
          ...(fields.id !== undefined ? { id: fields.id } : {}),
          data: JSON.parse(fields.data),
        });
        if (opts.stopAfter !== undefined && events.length >= opts.stopAfter) {
          abort.abort();
          return { status: res.status, contentType: res.headers.get('content-type'), events };
        }
      }
    }
  } catch (e) {
    if (!abort.signal.aborted) throw e;
  }
  return { status: res.status, contentType: res.headers.get('content-type'), events };
}

async function submit(kiln: TestKiln, body: object): Promise<string> {
  const res = await kiln.request('POST', '/api/training-jobs', { body });
  assert.equal(res.status, 202, res.text);
  return res.body.id as string;
}

async function testPredictions(
  kiln: TestKiln,
  id: string,
): Promise<{ rowIndices: number[]; yTrue: Array<string | number>; yPred: Array<string | number>; probabilities?: number[][] }> {
  const r = await kiln.request('GET', `/api/training-jobs/${id}/test-predictions`);
  assert.equal(r.status, 200, r.text);
  return r.body;
}

// ---- the public tables, with the derived binary target

const MOVIE_FEATURES = [
  'Rotten Tomatoes Rating',
  'IMDB Votes',
  'Production Budget',
  'Running Time min',
  'US Gross',
  'Worldwide Gross',
  'MPAA Rating',
  'Major Genre',
  'Creative Type',
  'Source',
];

function movieRows(): JsonRow[] {
  const all = JSON.parse(vegaFile('movies.json').toString('utf8')) as JsonRow[];
  return all
    .filter((m) => typeof m['IMDB Rating'] === 'number')
    .map((m) => {
      const r: JsonRow = {};
      for (const f of MOVIE_FEATURES) r[f] = m[f] ?? null;
      r.Quality = (m['IMDB Rating'] as number) >= 8 ? 'good' : 'other';
      return r;
    });
}

const CAR_COLUMNS = ['Origin', 'Horsepower', 'Weight_in_lbs', 'Cylinders', 'Displacement', 'Acceleration', 'Miles_per_Gallon'];

function carRows(): JsonRow[] {
  const all = JSON.parse(vegaFile('cars.json').toString('utf8')) as JsonRow[];
  return all.map((c) => Object.fromEntries(CAR_COLUMNS.map((k) => [k, c[k] ?? null])) as JsonRow);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('training tasks on public tables, configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    const movies = movieRows();
    const cars = carRows();
    let moviesVersion: any;
    let carsVersion: any;
    const carsJob = {
      target: 'Miles_per_Gallon',
      modelName: 'cars-mpg',
      hyperparameters: { epochs: 60, batchSize: 16, learningRate: 0.01, hiddenUnits: [16], seed: 11 },
    };

    before(async () => {
      kiln = await startTestKiln('postgres');
      moviesVersion = await readyVersion(kiln, await createDataset(kiln, 'movies'), toCsv(movies), { fileName: 'movies.csv' });
      carsVersion = await readyVersion(kiln, await createDataset(kiln, 'cars'), toCsv(cars, CAR_COLUMNS), { fileName: 'cars.csv' });
    });
    after(async () => {
      await kiln?.close();
    });

    it(
      'binary, imbalanced (movies, IMDB ≥ 8, balanced class weights): ' + 'beats a trivial model; metrics recompute; SSE follows the job',
      async () => {
        const positives = movies.filter((m) => m.Quality === 'good').length;
        assert.ok(positives / movies.length < 0.1, `imbalanced: ${positives}/${movies.length} positives`);
        const epochs = 25;
        const id = await submit(kiln, {
          datasetVersionId: moviesVersion.id,
          target: 'Quality',
          task: 'binary',
          positiveClass: 'good',
          modelName: 'movies-good',
          hyperparameters: {
            epochs,
            batchSize: 32,
            learningRate: 0.005,
            hiddenUnits: [32],
            classWeights: 'balanced',
            seed: 3,
            earlyStoppingPatience: 1000,
          },
        });
        // Subscribed while queued/running: every epoch arrives once, in order, then the final event, then the end.
        const live = await readEvents(kiln, `/api/training-jobs/${id}/events`);
        assert.equal(live.status, 200);
        assert.match(live.contentType ?? '', /^text\/event-stream/);
        const progress = live.events.filter((e) => e.event === 'progress');
        assert.deepEqual(
          progress.map((e) => e.data.epoch),
          Array.from({ length: epochs }, (_, i) => i + 1),
        );
        assert.deepEqual(
          progress.map((e) => e.id),
          progress.map((e) => String(e.data.epoch)),
        );
        assert.ok(progress.every((e) => e.data.epochs === epochs && Number.isFinite(e.data.loss) && e.data.valMetricName === 'rocAuc'));
        const last = live.events.at(-1)!;
        assert.equal(last.event, 'succeeded', JSON.stringify(last));
        // Nothing after the final event, and nothing but progress before it save what a slow machine
        // adds: `queued` while the job waits for a worker, `heartbeat` when an epoch takes over 5 s.
        assert.deepEqual(
          live.events.filter((e) => e.event !== 'queued' && e.event !== 'heartbeat').map((e) => e.event),
          [...Array(epochs).fill('progress'), 'succeeded'],
          'nothing after the final event',
        );
        const job = await succeededTrainingJob(kiln, id);
        assert.deepEqual(last.data.metrics, job.metrics);
        assert.deepEqual(last.data.modelVersion, { model: 'movies-good', version: 1 });

        // A finished job: the whole story at once; Last-Event-ID skips what the client has seen.
        const replay = await readEvents(kiln, `/api/training-jobs/${id}/events`);
        assert.deepEqual(
          replay.events.map((e) => e.event),
          [...Array(epochs).fill('progress'), 'succeeded'],
        );
        const resumed = await readEvents(kiln, `/api/training-jobs/${id}/events`, { lastEventId: String(epochs - 2) });
        assert.deepEqual(
          resumed.events.map((e) => [e.event, e.data.epoch]),
          [
            ['progress', epochs - 1],
            ['progress', epochs],
            ['succeeded', undefined],
          ],
        );
        const unknown = await kiln.request('GET', '/api/training-jobs/00000000-0000-4000-8000-000000000000/events');
        assert.equal(unknown.status, 404, unknown.text);

        // Quality: a trivial model has ROC AUC 0.5 and (majority class) recall 0 on the positives.
        const t = job.metrics.test;
        assert.ok(t.rocAuc >= 0.85, `test rocAuc ${t.rocAuc}`);
        assert.ok(t.prAuc >= 2 * (positives / movies.length), `test prAuc ${t.prAuc} vs base rate ${positives / movies.length}`);
        // Always predicting "good" has F1 = 2·rate/(1 + rate) ≈ 0.13; the majority class has recall 0.
        assert.ok(t.recall >= 0.3, `test recall ${t.recall} (balanced class weights)`);
        assert.ok(t.f1 >= 0.3, `test f1 ${t.f1}`);

        // The stored test split, checked against the uploaded rows, and every metric recomputed from it.
        const tp = await testPredictions(kiln, id);
        const n = tp.rowIndices.length;
        assert.ok(n >= 0.1 * movies.length && n <= 0.2 * movies.length, `test rows ${n}`);
        assert.equal(new Set(tp.rowIndices).size, n);
        assert.deepEqual(
          tp.yTrue,
          tp.rowIndices.map((i) => movies[i]!.Quality),
        );
        const labels = tp.yTrue.map((y) => (y === 'good' ? 1 : 0));
        const p = tp.probabilities!.map((row) => row[1]!);
        assert.ok(tp.probabilities!.every((row) => Math.abs(row[0]! + row[1]! - 1) < 1e-9));
        const threshold = t.threshold as number;
        assert.deepEqual(
          tp.yPred,
          p.map((q) => (q >= threshold ? 'good' : 'other')),
        );
        close(t.rocAuc, pairwiseAuc(labels, p), 'rocAuc');
        close(t.prAuc, averagePrecision(labels, p), 'prAuc');
        close(t.logLoss, logLoss(labels, p), 'logLoss');
        let tpos = 0;
        let fpos = 0;
        let tneg = 0;
        let fneg = 0;
        labels.forEach((l, i) => {
          const yhat = tp.yPred[i] === 'good';
          if (l === 1 && yhat) tpos++;
          else if (l === 1) fneg++;
          else if (yhat) fpos++;
          else tneg++;
        });
        close(t.accuracy, (tpos + tneg) / n, 'accuracy');
        close(t.precision, tpos / (tpos + fpos), 'precision');
        close(t.recall, tpos / (tpos + fneg), 'recall');
        close(t.f1, (2 * tpos) / (2 * tpos + fpos + fneg), 'f1');
        assert.deepEqual(t.confusionMatrix.matrix, [
          [tneg, fpos],
          [fneg, tpos],
        ]);
        // The registered version carries the same evaluation.
        const v = await kiln.request('GET', '/api/models/movies-good/versions/1');
        assert.equal(v.status, 200, v.text);
        assert.deepEqual(v.body.metrics, job.metrics);
      },
    );

    it('regression with categorical inputs and missing values (cars → Miles_per_Gallon): beats the mean; metrics recompute', async () => {
      assert.ok(
        cars.some((c) => c.Horsepower === null),
        'Horsepower has missing values',
      );
      assert.ok(
        cars.some((c) => c.Miles_per_Gallon === null),
        'so does the target (those rows are dropped)',
      );
      const id = await submit(kiln, { datasetVersionId: carsVersion.id, ...carsJob });
      const job = await succeededTrainingJob(kiln, id);
      const v = await kiln.request('GET', '/api/models/cars-mpg/versions/1');
      assert.equal(v.status, 200, v.text);
      assert.equal(v.body.task, 'regression');
      const origin = v.body.signature.features.find((f: any) => f.name === 'Origin');
      assert.ok(origin && ['categorical', 'string'].includes(origin.type), JSON.stringify(origin));

      const tp = await testPredictions(kiln, id);
      const n = tp.rowIndices.length;
      assert.ok(n >= 40, `test rows ${n}`);
      assert.deepEqual(
        tp.yTrue,
        tp.rowIndices.map((i) => cars[i]!.Miles_per_Gallon),
      );
      const y = tp.yTrue as number[];
      const yhat = tp.yPred as number[];
      const mean = y.reduce((a, b) => a + b, 0) / n;
      const sse = y.reduce((s, yi, i) => s + (yi - yhat[i]!) ** 2, 0);
      const sst = y.reduce((s, yi) => s + (yi - mean) ** 2, 0);
      const t = job.metrics.test;
      close(t.rmse, Math.sqrt(sse / n), 'rmse');
      close(t.mae, y.reduce((s, yi, i) => s + Math.abs(yi - yhat[i]!), 0) / n, 'mae');
      close(t.r2, 1 - sse / sst, 'r2');
      // Predicting the mean has R² ≈ 0 and RMSE = the target's std (≈ 7.8 mpg).
      const std = Math.sqrt(sst / n);
      assert.ok(t.r2 >= 0.7, `test r2 ${t.r2}`);
      assert.ok(t.rmse <= 0.6 * std, `test rmse ${t.rmse} vs std ${std}`);
      assert.ok(Number.isFinite(job.metrics.validation.rmse));
    });

    it('the same job spec twice gives the same metrics and the same test predictions', async () => {
      const first = await kiln.request('GET', '/api/training-jobs');
      const listed = first.body.find((j: any) => j.modelName === 'cars-mpg');
      assert.ok(listed, 'the regression job ran');
      const original = (await kiln.request('GET', `/api/training-jobs/${listed.id}`)).body; // lists leave the history out
      const id = await submit(kiln, { datasetVersionId: carsVersion.id, ...carsJob });
      const again = await succeededTrainingJob(kiln, id);
      assert.deepEqual(again.metrics, original.metrics);
      assert.deepEqual(again.history, original.history);
      assert.deepEqual(await testPredictions(kiln, id), await testPredictions(kiln, original.id));
      assert.deepEqual(again.modelVersion, { model: 'cars-mpg', version: 2 });
    });

    it('an event stream stops when its client disconnects', async () => {
      // early stopping off and many epochs: the job must still be running when it is cancelled below
      const id = await submit(kiln, {
        datasetVersionId: carsVersion.id,
        ...carsJob,
        modelName: 'cars-sse',
        hyperparameters: { ...carsJob.hyperparameters, epochs: 2000, earlyStoppingPatience: 0 },
      });
      const events = kiln.app.get(TrainingJobEvents) as unknown as { open: Set<unknown> };
      const partial = await readEvents(kiln, `/api/training-jobs/${id}/events`, { stopAfter: 1 });
      assert.equal(partial.events.length, 1);
      await eventually(async () => (events.open.size === 0 ? true : undefined), 60_000);
      const cancelled = await kiln.request('POST', `/api/training-jobs/${id}/cancel`);
      assert.equal(cancelled.status, 202, cancelled.text);
      const rest = await readEvents(kiln, `/api/training-jobs/${id}/events`);
      assert.equal(rest.events.at(-1)?.event, 'cancelled', JSON.stringify(rest.events.at(-1)));
      assert.equal(rest.events.at(-1)?.data.modelVersion, null);
    });

    it('shutting Kiln down ends open event streams instead of waiting for them (runs last: it closes Kiln)', async () => {
      const id = await submit(kiln, {
        datasetVersionId: carsVersion.id,
        ...carsJob,
        modelName: 'cars-shutdown',
        // early stopping off: the job must still run when Kiln closes (else the stream ends with the job)
        hyperparameters: { ...carsJob.hyperparameters, epochs: 2000, earlyStoppingPatience: 0 },
      });
      const events = kiln.app.get(TrainingJobEvents) as unknown as { open: Set<unknown> };
      const stream = readEvents(kiln, `/api/training-jobs/${id}/events`).catch((e: unknown) =>
        e instanceof Error ? e : new Error(String(e)),
      );
      await eventually(async () => (events.open.size === 1 ? true : undefined), 60_000);
      // Bound by function, not wall time: the stream ends because Kiln shuts down, while the job still
      // runs (no final event), and close() returns (the cap only turns a hang into a failure).
      let cap: NodeJS.Timeout | undefined;
      const hung = new Promise<'hung'>((resolve) => (cap = setTimeout(() => resolve('hung'), 120_000)));
      assert.equal(await Promise.race([kiln.close().then(() => 'closed' as const), hung]), 'closed', 'close() waited for the open stream');
      clearTimeout(cap);
      const result = await stream;
      assert.ok(!(result instanceof Error) || /terminated|aborted|closed/i.test(String(result)), String(result));
      if (!(result instanceof Error)) {
        const ended = result.events.filter((e) => !['queued', 'progress', 'heartbeat'].includes(e.event));
        assert.deepEqual(ended, [], 'the stream ended at shutdown, not because the job ended or its reads failed');
      }
      assert.equal(events.open.size, 0);
    });
  });
}

void main();
