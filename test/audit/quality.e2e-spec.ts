/**
 * Feedback and live quality end to end on PostgreSQL: models trained through the API on vega-datasets
 * penguins (multiclass Species, binary Sex, regression Body Mass), real traffic on the record API
 * (single- and multi-record requests, some failing), the audit pipeline writing `audit_predictions`,
 * feedback with the TRUE labels from the public table, and the monitoring document checked against
 * numbers computed here independently (own accuracy / F1 / pairwise AUC / RMSE / MAE / percentiles).
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client } from 'pg';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { createDataset, penguinsRows, readyVersion, type JsonRow } from '../ingestion/ingestion-helpers';
import { penguinsVersion, trainModel } from '../inference/inference-helpers';

const NUMERIC = ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];

interface Scenario {
  model: string;
  target: string;
  features: string[];
  rows: JsonRow[];
}

interface Sent {
  requestId: string;
  records: JsonRow[];
  predictions: any[];
}

// ---- independent computations (not the engine's) ----

function pairAuc(y: number[], s: number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < y.length; i++) {
    if (y[i] !== 1) continue;
    for (let j = 0; j < y.length; j++) {
      if (y[j] !== 0) continue;
      den++;
      num += s[i]! > s[j]! ? 1 : s[i] === s[j] ? 0.5 : 0;
    }
  }
  return num / den;
}

function macroF1(truth: string[], pred: string[], classes: string[]): number {
  const f1s = classes
    .filter((c) => truth.includes(c) || pred.includes(c))
    .map((c) => {
      const tp = pred.filter((p, i) => p === c && truth[i] === c).length;
      const fp = pred.filter((p, i) => p === c && truth[i] !== c).length;
      const fn = pred.filter((p, i) => p !== c && truth[i] === c).length;
      return tp === 0 ? 0 : (2 * tp) / (2 * tp + fp + fn);
    });
  return f1s.reduce((a, b) => a + b, 0) / f1s.length;
}

/** Linear-interpolation percentile (what PostgreSQL's percentile_cont computes). */
function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (pos - lo);
}

function close(actual: unknown, expected: number, what: string, eps = 1e-9): void {
  assert.ok(
    typeof actual === 'number' && Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected)),
    `${what}: expected ${expected}, got ${actual}`,
  );
}

async function pool<T, R>(items: T[], size: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: size }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i]!, i);
      }
    }),
  );
  return out;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('feedback, live quality and monitoring on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let db: Client;
    const keys: Record<'predictor' | 'developer' | 'auditor', string> = { predictor: '', developer: '', auditor: '' };
    const run = randomUUID().slice(0, 6);
    const all = penguinsRows();
    const species: Scenario = {
      model: `q-species-${run}`,
      target: 'Species',
      features: ['Island', ...NUMERIC, 'Sex'],
      rows: all,
    };
    const sex: Scenario = {
      model: `q-sex-${run}`,
      target: 'Sex',
      features: ['Species', 'Island', ...NUMERIC],
      rows: all.filter((r) => r.Sex === 'MALE' || r.Sex === 'FEMALE'),
    };
    const mass: Scenario = {
      model: `q-mass-${run}`,
      target: 'Body Mass (g)',
      features: ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Sex'],
      rows: all.filter((r) => typeof r['Body Mass (g)'] === 'number'),
    };
    const sent = new Map<string, Sent[]>();
    const failed = new Map<string, string[]>();

    const recordOf = (s: Scenario, r: JsonRow) => Object.fromEntries(s.features.map((f) => [f, r[f] ?? null]));
    const predict = (s: Scenario, records: JsonRow[], requestId: string) =>
      kiln.request('POST', `/api/models/${s.model}/predict`, {
        key: keys.predictor,
        body: { records: records.map((r) => recordOf(s, r)) },
        headers: { 'x-request-id': requestId },
      });
    const feedback = (body: unknown, key = keys.predictor) => kiln.request('POST', '/api/feedback', { key, body });
    const monitoring = (s: Scenario, query = '', key: string | null = keys.auditor) =>
      kiln.request('GET', `/api/models/${s.model}/monitoring${query}`, { key });

    /** 6 five-record requests then 40 one-record requests (70 records), plus 3 requests that fail validation. */
    async function traffic(s: Scenario): Promise<void> {
      const rows = s.rows.filter((_, i) => i % 3 === 0).slice(0, 70);
      const groups: JsonRow[][] = [...Array.from({ length: 6 }, (_, g) => rows.slice(g * 5, g * 5 + 5)), ...rows.slice(30).map((r) => [r])];
      const out = await pool(groups, 6, async (records, i) => {
        const res = await predict(s, records, `${s.model}-${i}`);
        assert.equal(res.status, 200, res.text);
        // labelled by the id the response carried (the client's own id is kept beside it)
        return { requestId: res.body.requestId as string, records, predictions: res.body.predictions };
      });
      sent.set(s.model, out);
      const bad: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await kiln.request('POST', `/api/models/${s.model}/predict`, { key: keys.predictor, body: { records: [{ nope: 1 }] } });
        assert.equal(res.status, 400, res.text);
        bad.push(res.headers.get('x-request-id')!);
      }
      failed.set(s.model, bad);
    }

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error' });
      db = new Client({ connectionString: kiln.databaseUrl });
      await db.connect();
      for (const role of Object.keys(keys) as Array<keyof typeof keys>) {
        const r = await kiln.request('POST', '/api/keys', { body: { name: `quality ${role}`, role } });
        assert.equal(r.status, 201, r.text);
        keys[role] = r.body.key;
      }
      const penguins = await penguinsVersion(kiln);
      const sexedId = await createDataset(kiln, `penguins-sexed-${run}`);
      const sexed = await readyVersion(kiln, sexedId, Buffer.from(JSON.stringify(sex.rows)), { fileName: 'penguins-sexed.json' });
      for (const [s, versionId] of [
        [species, penguins.id],
        [sex, sexed.id],
        [mass, penguins.id],
      ] as const) {
        await trainModel(kiln, {
          datasetVersionId: versionId,
          modelName: s.model,
          target: s.target,
          features: s.features,
          promote: 'always',
        });
        await traffic(s);
      }
      // The audit worker writes asynchronously after each response's record is durable in the queue.
      const expected = [species, sex, mass].reduce((n, s) => n + sent.get(s.model)!.length + 3, 0);
      await eventually(
        async () => {
          const { rows } = await db.query(`SELECT count(*)::int AS n FROM audit_predictions WHERE model = ANY($1)`, [
            [species.model, sex.model, mass.model],
          ]);
          return rows[0].n === expected ? true : undefined;
        },
        60_000,
        200,
      );
    });
    after(async () => {
      await db?.end();
      await kiln?.close();
    });

    /** Feedback for all but the last 4 (one-record) requests of a model: the unlabelled ones must not count. */
    function labelledItems(s: Scenario): Array<{ requestId: string; actual: unknown }> {
      return sent
        .get(s.model)!
        .slice(0, -4)
        .map((r) => ({
          requestId: r.requestId,
          actual: r.records.length === 1 ? r.records[0]![s.target] : r.records.map((x) => x[s.target]),
        }));
    }

    it('stores ground truth (201), replays idempotently (200) and answers 409 on a conflicting label', async () => {
      for (const s of [species, sex, mass]) {
        const items = labelledItems(s);
        const first = await feedback({ items });
        assert.equal(first.status, 201, first.text);
        assert.equal(first.body.created, items.length);
        const again = await feedback({ items }, keys.developer);
        assert.equal(again.status, 200, again.text);
        assert.equal(again.body.unchanged, items.length);
      }
      const [one, two] = sent.get(species.model)!.filter((r) => r.records.length === 1);
      const truth = String(one!.records[0]!.Species);
      const other = ['Adelie', 'Chinstrap', 'Gentoo'].find((c) => c !== truth)!;
      const single = await feedback({ requestId: one!.requestId, actual: truth });
      assert.equal(single.status, 200, single.text);
      assert.equal(single.body.items[0].stored, 'unchanged');
      const conflict = await feedback({
        items: [
          { requestId: two!.requestId, actual: two!.records[0]!.Species },
          { requestId: one!.requestId, actual: other },
        ],
      });
      assert.equal(conflict.status, 409, conflict.text);
      assert.equal(conflict.body.errors[0].field, 'items.1.actual');
      const { rows } = await db.query(`SELECT request_id, actual FROM audit_feedback WHERE request_id = ANY($1) ORDER BY request_id`, [
        [one!.requestId, sent.get(species.model)![0]!.requestId],
      ]);
      const stored = Object.fromEntries(rows.map((r) => [r.request_id, r.actual]));
      assert.deepEqual(stored[one!.requestId], [truth]);
      // A five-record request stores one label per record, in order.
      assert.deepEqual(
        stored[sent.get(species.model)![0]!.requestId],
        sent.get(species.model)![0]!.records.map((r) => r.Species),
      );
    });

    it('answers 404 naming unknown request ids, and stores nothing from that call', async () => {
      const unlabelled = sent.get(species.model)!.at(-1)!;
      const res = await feedback({
        items: [
          { requestId: unlabelled.requestId, actual: 'Adelie' },
          { requestId: `nope-${run}`, actual: 'Adelie' },
        ],
      });
      assert.equal(res.status, 404, res.text);
      assert.deepEqual(
        res.body.errors.map((e: any) => e.field),
        ['items.1.requestId'],
      );
      const { rows } = await db.query(`SELECT 1 FROM audit_feedback WHERE request_id = $1`, [unlabelled.requestId]);
      assert.equal(rows.length, 0, 'all or nothing');
    });

    it('answers 400 naming the field for values the model cannot have', async () => {
      const sp = sent.get(species.model)!;
      const single = sp.at(-1)!;
      const multi = sp[0]!;
      const reg = sent.get(mass.model)!.at(-1)!;
      const cases: Array<[unknown, string, RegExp]> = [
        [{ items: [{ requestId: single.requestId, actual: 'Emperor' }] }, 'items.0.actual', /not a class/],
        [
          {
            items: [
              { requestId: single.requestId, actual: 'Adelie' },
              { requestId: multi.requestId, actual: 'Adelie' },
            ],
          },
          'items.1.actual',
          /5 records/,
        ],
        [{ requestId: multi.requestId, actual: ['Adelie', 'Adelie', 'Adelie', 'Adelie', { x: 1 }] }, 'actual.4', /class label/],
        [{ requestId: reg.requestId, actual: '4200' }, 'actual', /finite number/],
        [{ requestId: failed.get(species.model)![0], actual: 'Adelie' }, 'requestId', /failed \(status 400\)/],
        [{ items: [{ requestId: single.requestId }] }, 'items.0.actual', /required/],
        [{ requestId: 7, actual: 'Adelie' }, 'requestId', /string/],
      ];
      for (const [body, field, reason] of cases) {
        const res = await feedback(body);
        assert.equal(res.status, 400, `${JSON.stringify(body)}: ${res.text}`);
        const e = res.body.errors.find((x: any) => x.field === field);
        assert.ok(e, `${field} in ${JSON.stringify(res.body.errors)}`);
        assert.match(e.reason, reason);
      }
      assert.equal((await feedback({ requestId: single.requestId, actual: 'Adelie' }, keys.auditor)).status, 403);
    });

    /** The labelled records of a model with the prediction the record API answered for each. */
    function labelled(s: Scenario): Array<{ p: any; truth: JsonRow[string] }> {
      return sent
        .get(s.model)!
        .slice(0, -4)
        .flatMap((r) => r.records.map((rec, i) => ({ p: r.predictions[i], truth: rec[s.target]! })));
    }

    async function versionDoc(s: Scenario): Promise<any> {
      const res = await monitoring(s);
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.versions.length, 1, JSON.stringify(res.body.versions));
      return res.body;
    }

    it('multiclass: accuracy, macro F1 and one-vs-rest AUC match an independent computation', async () => {
      const doc = await versionDoc(species);
      const v = doc.versions[0];
      assert.equal(v.task, 'multiclass');
      const l = labelled(species);
      const truth = l.map((x) => String(x.truth));
      const pred = l.map((x) => x.p.label as string);
      const classes = ['Adelie', 'Chinstrap', 'Gentoo'];
      assert.equal(v.quality.labelled, l.length);
      close(v.quality.accuracy, pred.filter((p, i) => p === truth[i]).length / l.length, 'accuracy');
      close(v.quality.macroF1, macroF1(truth, pred, classes), 'macroF1');
      const aucs = classes
        .filter((c) => truth.includes(c))
        .map((c) =>
          pairAuc(
            truth.map((t) => (t === c ? 1 : 0)),
            l.map((x) => x.p.probabilities[c]),
          ),
        );
      close(v.quality.rocAuc, aucs.reduce((a, b) => a + b, 0) / aucs.length, 'rocAuc');
      assert.ok(v.quality.accuracy > 0.8, `a real model: accuracy ${v.quality.accuracy}`);
      // Distribution over every answered record, labelled or not.
      const counts: Record<string, number> = {};
      for (const r of sent.get(species.model)!) for (const p of r.predictions) counts[p.label] = (counts[p.label] ?? 0) + 1;
      assert.deepEqual(v.predictions, { type: 'labels', counts });
    });

    it('binary: accuracy, F1 and ROC AUC from the stored positive-class score match', async () => {
      const doc = await versionDoc(sex);
      const v = doc.versions[0];
      assert.equal(v.task, 'binary');
      const l = labelled(sex);
      const truth = l.map((x) => String(x.truth));
      const pred = l.map((x) => x.p.label as string);
      // The registry's positive class (training picks the minority class by default: FEMALE here).
      const registered = await kiln.request('GET', `/api/models/${sex.model}/versions/1`);
      const positive: string = registered.body.target.positiveClass;
      assert.ok(positive === 'FEMALE' || positive === 'MALE', JSON.stringify(registered.body.target));
      const tp = pred.filter((p, i) => p === positive && truth[i] === positive).length;
      const fp = pred.filter((p, i) => p === positive && truth[i] !== positive).length;
      const fn = pred.filter((p, i) => p !== positive && truth[i] === positive).length;
      close(v.quality.accuracy, pred.filter((p, i) => p === truth[i]).length / l.length, 'accuracy');
      close(v.quality.f1, (2 * tp) / (2 * tp + fp + fn), 'f1');
      close(v.quality.macroF1, macroF1(truth, pred, ['FEMALE', 'MALE']), 'macroF1');
      for (const x of l) close(x.p.score, x.p.probabilities[positive], 'score is P(positive)');
      close(
        v.quality.rocAuc,
        pairAuc(
          truth.map((t) => (t === positive ? 1 : 0)),
          l.map((x) => x.p.score),
        ),
        'rocAuc',
      );
    });

    it('regression: RMSE and MAE match, and the prediction histogram covers every answered record', async () => {
      const doc = await versionDoc(mass);
      const v = doc.versions[0];
      assert.equal(v.task, 'regression');
      const l = labelled(mass);
      const err = l.map((x) => (x.truth as number) - x.p.value);
      close(v.quality.rmse, Math.sqrt(err.reduce((a, e) => a + e * e, 0) / err.length), 'rmse');
      close(v.quality.mae, err.reduce((a, e) => a + Math.abs(e), 0) / err.length, 'mae');
      const values = sent.get(mass.model)!.flatMap((r) => r.predictions.map((p: any) => p.value as number));
      assert.equal(v.predictions.type, 'histogram');
      assert.equal(
        v.predictions.counts.reduce((a: number, b: number) => a + b, 0),
        values.length,
      );
      close(v.predictions.edges[0], Math.min(...values), 'lowest edge');
      close(v.predictions.edges.at(-1), Math.max(...values), 'highest edge');
    });

    it('traffic: request count, error rate, latency percentiles and per-minute buckets', async () => {
      const doc = await versionDoc(species);
      const v = doc.versions[0];
      const ok = sent.get(species.model)!.length;
      assert.equal(v.requests.count, ok + 3);
      assert.equal(v.requests.errors, 3);
      close(v.requests.errorRate, 3 / (ok + 3), 'errorRate');
      close(v.requests.ratePerSecond, (ok + 3) / 3600, 'rate over the default 1h window');
      const { rows } = await db.query(`SELECT latency_ms FROM audit_predictions WHERE model = $1 AND kind = 'live'`, [species.model]);
      const lat = rows.map((r) => r.latency_ms as number);
      close(v.latencyMs.p50, percentile(lat, 0.5), 'p50');
      close(v.latencyMs.p95, percentile(lat, 0.95), 'p95');
      close(v.latencyMs.p99, percentile(lat, 0.99), 'p99');
      assert.equal(
        doc.latencyOverTime.reduce((a: number, b: any) => a + b.count, 0),
        ok + 3,
      );
      for (const b of doc.latencyOverTime) assert.ok(b.p50 <= b.p99 && /:00\.000Z$/.test(b.minute), JSON.stringify(b));
      const empty = await monitoring(species, '?from=2000-01-01T00:00:00Z&to=2000-01-02T00:00:00Z');
      assert.equal(empty.status, 200, empty.text);
      assert.deepEqual(empty.body.versions, []);
      assert.equal(empty.body.totals.requests, 0);
      assert.equal((await monitoring(species, '?window=15m')).body.totals.requests, ok + 3);
    });

    it('includes the latest drift report, and checks window, model and role', async () => {
      const features = [
        { feature: 'Flipper Length (mm)', kind: 'numeric', test: 'ks', score: 0.4, pValue: 0.001, threshold: 0.05, drifted: true },
      ];
      const histograms = { 'Flipper Length (mm)': { kind: 'numeric', edges: [170, 200, 230], reference: [10, 5], current: [2, 9] } };
      const id = randomUUID();
      // created_at in the future: newer than any report the drift monitor may write meanwhile.
      await db.query(
        `INSERT INTO drift_reports (id, model, model_version, created_at, window_from, window_to, ` +
          `rows, reference_dataset_version_id, drift, drifted_share, report)
         VALUES ($1, $2, 1, now() + interval '1 hour', now(), now(), 70, $3, true, 1, $4)`,
        [id, species.model, randomUUID(), JSON.stringify({ features, histograms, datasetDrift: true })],
      );
      const doc = (await monitoring(species, '', keys.developer)).body;
      assert.equal(doc.drift.id, id);
      assert.equal(doc.drift.drift, true);
      assert.deepEqual(doc.drift.report.features, features);
      assert.deepEqual(doc.drift.report.histograms, histograms);
      const bad = await monitoring(species, '?window=1week');
      assert.equal(bad.status, 400);
      assert.equal(bad.body.errors[0].field, 'window');
      assert.equal((await monitoring({ ...species, model: `nope-${run}` })).status, 404);
      assert.equal((await monitoring(species, '', keys.predictor)).status, 403);
      assert.equal((await monitoring(species, '', null)).status, 401);
    });

    it("redirects the old monitoring page to the web console's monitoring view", async () => {
      const res = await fetch(`${kiln.url}/monitoring/${species.model}`, { redirect: 'manual' });
      assert.equal(res.status, 302);
      assert.equal(res.headers.get('location'), `/#/monitoring/${species.model}`);
      assert.equal((await kiln.request('GET', '/monitoring/bad%20name', { key: null })).status, 404);
      const docs = await kiln.request('GET', '/docs-json', { key: null });
      for (const path of ['/api/feedback', '/api/models/{name}/monitoring']) assert.ok(docs.body.paths[path], path);
    });

    // Last: its extra prediction would change the counts the tests above check.
    it('lets exactly one of two concurrent conflicting labels win', async () => {
      const predicted = await predict(species, [species.rows[1]!], `${species.model}-race`);
      assert.equal(predicted.status, 200);
      const requestId = predicted.body.requestId as string;
      await eventually(async () =>
        (await db.query(`SELECT 1 FROM audit_predictions WHERE request_id = $1`, [requestId])).rows.length ? true : undefined,
      );
      const answers = await Promise.all(['Adelie', 'Gentoo', 'Adelie', 'Gentoo'].map((actual) => feedback({ requestId, actual })));
      const statuses = answers.map((a) => a.status);
      assert.equal(statuses.filter((x) => x === 201).length, 1, String(statuses));
      const winner = answers.find((a) => a.status === 201)!.body.items[0].actual[0];
      answers.forEach((a, i) =>
        assert.equal(
          a.status,
          a.status === 201 ? 201 : ['Adelie', 'Gentoo', 'Adelie', 'Gentoo'][i] === winner ? 200 : 409,
          String(statuses),
        ),
      );
    });
  });
}

void main();
