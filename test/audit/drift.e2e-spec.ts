/**
 * Drift detection end to end on PostgreSQL (queues on its backend): a model trained through the API
 * on vega-datasets penguins, live record-API traffic that reaches the prediction log through the
 * real pipeline (record API → AuditSink → audit queue → writer), then drift checks on the audit
 * queue. Traffic sampled from the unshifted table is not flagged; traffic from a shifted table
 * (one numeric feature + 1 std, one categorical's mix changed) is, feature by feature and at
 * dataset level. Also: the 30-record minimum, imported models (no profile), the webhook, the closed loop (retrain queued once),
 * the /metrics gauges, the API's 4xx answers and the per-model schedules.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { Client } from 'pg';
import { QueueName } from '../../src/contracts';
import { DriftScheduler, schedulerId } from '../../src/audit/drift/drift-scheduler';
import { handWrittenGraphModel } from '../support/tfjs/graph-model-fixture';
import { importGraphVersion } from '../models/model-import-helpers';
import { mulberry32 } from '../../src/platform/util/seeded-random';
import { createDataset, penguinsRows, readyVersion, sampleStd, type JsonRow } from '../ingestion/ingestion-helpers';
import { trainModel } from '../inference/inference-helpers';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

const MODEL = 'drift-penguins';
const FEATURES = ['Island', 'Beak Length (mm)', 'Flipper Length (mm)', 'Body Mass (g)'];
const SHIFTED_NUMERIC = 'Flipper Length (mm)';
const SHIFTED_CATEGORICAL = 'Island';
const WINDOW_ROWS = 240;

/** `n` rows drawn without replacement (seeded), so the sample comes from the table's own distribution. */
function sampleWithoutReplacement(rows: JsonRow[], n: number, seed: number): JsonRow[] {
  const rnd = mulberry32(seed);
  const copy = [...rows];
  for (let i = copy.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, n);
}

/**
 * The shifted table: rows drawn (seeded, with replacement) so that Torgersen — 15% of the penguins —
 * makes 60% of the traffic, and every flipper length 1 standard deviation longer.
 */
function shiftedRows(rows: JsonRow[], n: number, seed: number): JsonRow[] {
  const rnd = mulberry32(seed);
  const flipperStd = sampleStd(rows.map((r) => r[SHIFTED_NUMERIC]).filter((v): v is number => typeof v === 'number'));
  const byIsland = (island: string) => rows.filter((r) => r.Island === island);
  const mix: Array<[JsonRow[], number]> = [
    [byIsland('Torgersen'), 0.6],
    [byIsland('Dream'), 0.2],
    [byIsland('Biscoe'), 0.2],
  ];
  return Array.from({ length: n }, () => {
    let u = rnd();
    const [pool] = mix.find(([, share]) => (u -= share) < 0) ?? mix[mix.length - 1]!;
    const row = { ...pool[Math.floor(rnd() * pool.length)]! };
    if (typeof row[SHIFTED_NUMERIC] === 'number') row[SHIFTED_NUMERIC] = row[SHIFTED_NUMERIC] + flipperStd;
    return row;
  });
}

const asRecord = (r: JsonRow) => Object.fromEntries(FEATURES.map((f) => [f, r[f] ?? null]));

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('drift detection on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let webhook: Server;
    const alerts: any[] = [];
    let datasetId: string;
    let trainedOn: string;
    let unshiftedReport: any;
    let shiftedReport: any;
    const penguins = penguinsRows();

    before(async () => {
      webhook = createServer((req, res) => {
        let body = '';
        req.on('data', (c: Buffer) => (body += c.toString('utf8')));
        req.on('end', () => {
          alerts.push({ path: req.url, contentType: req.headers['content-type'], body: JSON.parse(body) });
          res.writeHead(204).end();
        });
      });
      await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
      const port = (webhook.address() as AddressInfo).port;
      kiln = await startTestKiln('postgres', {
        KILN_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/drift`,
        KILN_DRIFT_WINDOW_ROWS: String(WINDOW_ROWS),
        KILN_DRIFT_INTERVAL_MS: '3600000',
        KILN_ROUTING_REFRESH_MS: '200',
      });
      datasetId = await createDataset(kiln, `penguins-drift-${Math.random().toString(36).slice(2, 8)}`);
      trainedOn = (await readyVersion(kiln, datasetId, Buffer.from(JSON.stringify(penguins)), { fileName: 'penguins.json' })).id;
      assert.equal(
        await trainModel(kiln, { datasetVersionId: trainedOn, modelName: MODEL, target: 'Species', features: FEATURES, promote: 'always' }),
        1,
      );
    });
    after(async () => {
      await kiln?.close();
      await new Promise((r) => webhook?.close(r));
    });

    /** Live record-API traffic, 20 records per call; waits until the audit worker has logged all of it. */
    async function sendTraffic(rows: JsonRow[]): Promise<void> {
      const before = await loggedRecords();
      for (let i = 0; i < rows.length; i += 20) {
        const res = await kiln.request('POST', `/api/models/${MODEL}/predict`, { body: { records: rows.slice(i, i + 20).map(asRecord) } });
        assert.equal(res.status, 200, res.text);
      }
      await eventually(async () => ((await loggedRecords()) === before + rows.length ? true : undefined), 30_000, 100);
    }

    async function loggedRecords(): Promise<number> {
      const pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      try {
        const r = await pg.query(
          `SELECT coalesce(sum(rows), 0)::int AS n FROM audit_predictions WHERE model = $1 AND kind = 'live' AND status = 200`,
          [MODEL],
        );
        return r.rows[0].n as number;
      } finally {
        await pg.end();
      }
    }

    /** POST …/drift/check and wait for the outcome. */
    async function checkNow(): Promise<any> {
      const res = await kiln.request('POST', `/api/models/${MODEL}/drift/check`, { headers: { prefer: 'wait=60' } });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.model, MODEL);
      return res.body;
    }

    const byFeature = (report: any) => new Map<string, any>(report.report.features.map((f: any) => [f.feature, f]));

    it('keeps one drift-check schedule per served model on the audit queue', async () => {
      const scheduler = kiln.app.get(DriftScheduler, { strict: false });
      await scheduler.sync();
      const queue = kiln.app.get<Queue>(getQueueToken(QueueName.Audit), { strict: false });
      const s = (await queue.getJobSchedulers(0, -1)).find((j) => j.key === schedulerId(MODEL));
      assert.ok(s, 'a scheduler for the served model');
      assert.equal(s.every, 3_600_000);
      assert.equal(s.name, 'audit.drift-check');
      assert.deepEqual(s.template?.data, { payloadVersion: 1, model: MODEL });
    });

    it('skips a check while fewer than 30 records are logged, storing a skipped report with the reason', async () => {
      await sendTraffic(sampleWithoutReplacement(penguins, 20, 1));
      const outcome = await checkNow();
      assert.equal(outcome.drift, null);
      assert.match(outcome.skipped, /too few logged records for version 1: 20 < 30/);
      const res = await kiln.request('GET', `/api/models/${MODEL}/drift`);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        [res.body.latest.id, res.body.latest.status, res.body.latest.modelVersion, res.body.latest.rows],
        [outcome.reportId, 'skipped', 1, 20],
      );
      assert.equal(res.body.latest.reason, outcome.skipped);
      // the schedule's first run (no traffic yet) may have stored a skipped report before this one
      assert.ok(res.body.history.every((r: any) => r.status === 'skipped' && r.drift === null && typeof r.reason === 'string'));
    });

    it('does not flag traffic sampled from the unshifted table', async () => {
      await sendTraffic(sampleWithoutReplacement(penguins, WINDOW_ROWS, 2));
      const outcome = await checkNow();
      assert.equal(outcome.drift, false, JSON.stringify(outcome.report?.report.features));
      unshiftedReport = outcome.report;
      const r = unshiftedReport;
      assert.equal(r.id, outcome.reportId);
      assert.equal(r.modelVersion, 1);
      assert.equal(r.rows, WINDOW_ROWS, 'the window is the newest KILN_DRIFT_WINDOW_ROWS records');
      assert.equal(r.referenceDatasetVersionId, trainedOn);
      assert.equal(r.report.method, 'statistical', '344 reference rows ≤ 1000: KS / chi-square');
      const features = byFeature(r);
      assert.deepEqual([...features.keys()].sort(), [...FEATURES].sort());
      for (const f of features.values()) {
        assert.equal(f.drifted, false, `${f.feature}: ${f.test} p=${f.pValue}`);
        assert.equal(f.test, f.kind === 'numeric' ? 'ks' : 'chi_square');
        assert.equal(f.threshold, 0.05);
        assert.equal(f.thresholdRule, 'p_value_below');
        assert.ok(f.pValue >= 0.05 && typeof f.score === 'number' && typeof f.psi === 'number');
      }
      assert.equal(r.drift, false);
      assert.equal(r.driftedShare, 0);
      // The predictions (species) are compared with the training target's column.
      assert.equal(r.report.prediction.target, 'Species');
      assert.equal(r.report.prediction.result.test, 'chi_square');
      assert.equal(r.report.prediction.result.drifted, false, `prediction p=${r.report.prediction.result.pValue}`);
      assert.equal(
        r.report.histograms[SHIFTED_NUMERIC].current.reduce((a: number, b: number) => a + b, 0) +
          r.report.histograms[SHIFTED_NUMERIC].currentAbove +
          r.report.histograms[SHIFTED_NUMERIC].currentBelow,
        features.get(SHIFTED_NUMERIC).currentCount,
      );
      assert.equal(r.report.retrain, null);
      assert.equal(alerts.length, 0, 'no webhook call without a drift verdict');
    });

    it('validates and stores the closed-loop settings', async () => {
      const path = `/api/models/${MODEL}/drift-settings`;
      assert.deepEqual((await kiln.request('GET', path)).body.onDrift, null);
      const bad = await kiln.request('PUT', path, { body: { onDrift: { retrainFromDatasetId: 'nope' } } });
      assert.equal(bad.status, 400, bad.text);
      assert.equal(bad.body.errors[0].field, 'onDrift.retrainFromDatasetId');
      const unknown = await kiln.request('PUT', path, {
        body: { onDrift: { retrainFromDatasetId: '00000000-0000-4000-8000-000000000000' } },
      });
      assert.equal(unknown.status, 400, unknown.text);
      assert.match(unknown.body.errors[0].reason, /not found/);
      const missing = await kiln.request('PUT', path, { body: {} });
      assert.equal(missing.status, 400, missing.text);
      assert.equal(missing.body.errors[0].field, 'onDrift');
      const ok = await kiln.request('PUT', path, { body: { onDrift: { retrainFromDatasetId: datasetId } } });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body.onDrift, { retrainFromDatasetId: datasetId, promote: 'if-better' });
      assert.deepEqual((await kiln.request('GET', path)).body.onDrift, { retrainFromDatasetId: datasetId, promote: 'if-better' });
      assert.equal((await kiln.request('PUT', `/api/models/no-such-model/drift-settings`, { body: { onDrift: null } })).status, 404);
      // The change is an admin event with what it replaced.
      const event = await eventually(
        async () => (await kiln.request('GET', '/api/audit/events?action=drift-settings.changed')).body.items?.[0],
      );
      assert.deepEqual(event.target, { name: MODEL });
      assert.equal(event.before.onDrift, null);
      assert.deepEqual(event.after.onDrift, { retrainFromDatasetId: datasetId, promote: 'if-better' });
    });

    it('flags the shifted features and the dataset, calls the webhook and queues one retrain on the newest data', async () => {
      // New data arrives (a second version of the dataset): the closed loop retrains on it.
      const newer = await readyVersion(kiln, datasetId, Buffer.from(JSON.stringify(shiftedRows(penguins, 344, 4))), {
        fileName: 'penguins.json',
      });
      await sendTraffic(shiftedRows(penguins, WINDOW_ROWS, 3));
      const outcome = await checkNow();
      assert.equal(outcome.drift, true, JSON.stringify(outcome.report?.report.features));
      shiftedReport = outcome.report;
      const retrain = shiftedReport.report.retrain;
      assert.equal(retrain?.status, 'queued', JSON.stringify(retrain));
      // Stop the retrain at once: it being queued is what is tested, and a promoted retrained
      // version (trained on the shifted data) would change what the later checks compare.
      const cancelled = await kiln.request('POST', `/api/training-jobs/${retrain.trainingJobId}/cancel`);
      assert.equal(cancelled.status, 202, cancelled.text);
      const features = byFeature(shiftedReport);
      for (const name of [SHIFTED_NUMERIC, SHIFTED_CATEGORICAL]) {
        const f = features.get(name);
        assert.equal(f.drifted, true, `${name} flagged`);
        assert.ok(f.pValue < 1e-6, `${name}: p=${f.pValue}`);
        assert.equal(f.psiLevel, 'major', `${name}: psi=${f.psi}`);
      }
      assert.equal(features.get(SHIFTED_NUMERIC).test, 'ks');
      assert.equal(features.get(SHIFTED_CATEGORICAL).test, 'chi_square');
      assert.equal(shiftedReport.drift, true);
      assert.ok(shiftedReport.driftedShare >= 0.5);
      assert.equal(shiftedReport.report.datasetDrift, true);
      // Torgersen penguins are all Adelie: the predicted species mix moved with the island mix.
      assert.equal(shiftedReport.report.prediction.result.drifted, true);

      // The webhook got one JSON alert for this report.
      const alert = await eventually(async () => alerts.find((a) => a.body.reportId === shiftedReport.id));
      assert.equal(alert.path, '/hooks/drift');
      assert.match(alert.contentType, /application\/json/);
      assert.equal(alert.body.type, 'kiln.drift');
      assert.equal(alert.body.model, MODEL);
      assert.equal(alert.body.version, 1);
      const flagged = alert.body.driftedFeatures.map((f: any) => f.feature);
      assert.ok(flagged.includes(SHIFTED_NUMERIC) && flagged.includes(SHIFTED_CATEGORICAL), flagged.join());
      assert.ok(alerts.every((a) => a.body.reportId !== unshiftedReport.id));

      // The closed loop queued a training job like version 1's on the newest version, promote if-better.
      assert.equal(retrain.datasetVersionId, newer.id);
      const job = (await kiln.request('GET', `/api/training-jobs/${retrain.trainingJobId}`)).body;
      assert.equal(job.datasetVersionId, newer.id);
      assert.equal(job.modelName, MODEL);
      assert.equal(job.createdBy, 'drift-monitor');
      assert.equal(job.spec.promote, 'if-better');
      assert.equal(job.spec.target, 'Species');
      assert.deepEqual(job.spec.features, FEATURES);
      // Started by no API key: the admin trail names the drift report that caused it.
      const started = await eventually(async () =>
        (await kiln.request('GET', '/api/audit/events?action=training.started')).body.items?.find(
          (e: any) => e.target?.trainingJobId === retrain.trainingJobId,
        ),
      );
      assert.equal(started.requestId, `drift:${shiftedReport.id}`);
      assert.equal(started.actorKeyId, null);
      assert.equal(started.after.cause.driftReportId, shiftedReport.id);
      assert.deepEqual(started.target, { trainingJobId: retrain.trainingJobId, datasetVersionId: newer.id, model: MODEL });

      // Drift again with no newer data: alerted again, but the same retrain is not queued twice.
      const again = await checkNow();
      assert.equal(again.drift, true);
      assert.equal(again.report.report.retrain.status, 'skipped');
      assert.match(again.report.report.retrain.reason, /already queued/);
      await eventually(async () => alerts.find((a) => a.body.reportId === again.reportId));
    });

    it('answers the newest report and its history, for auditors too', async () => {
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'drift auditor', role: 'auditor' } });
      assert.equal(auditor.status, 201, auditor.text);
      const res = await kiln.request('GET', `/api/models/${MODEL}/drift?limit=2`, { key: auditor.body.key });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.history.length, 2);
      assert.equal(res.body.latest.id, res.body.history[0].id);
      assert.ok(res.body.history[0].createdAt >= res.body.history[1].createdAt);
      assert.equal(res.body.history[1].id, shiftedReport.id);
      const all = await kiln.request('GET', `/api/models/${MODEL}/drift?limit=50`);
      assert.deepEqual(
        all.body.history
          .filter((r: any) => r.status === 'completed')
          .map((r: any) => r.drift)
          .reverse(),
        [false, true, true],
      );
      assert.equal((await kiln.request('GET', `/api/models/${MODEL}/drift?limit=0`)).status, 400);
      assert.equal((await kiln.request('GET', `/api/models/no-such-model/drift`)).status, 404);
      // Auditors read; only developers (and admins) change settings or run checks.
      assert.equal(
        (await kiln.request('PUT', `/api/models/${MODEL}/drift-settings`, { key: auditor.body.key, body: { onDrift: null } })).status,
        403,
      );
      assert.equal((await kiln.request('POST', `/api/models/${MODEL}/drift/check`, { key: auditor.body.key })).status, 403);
      const queued = await kiln.request('POST', `/api/models/${MODEL}/drift/check`);
      assert.equal(queued.status, 202, queued.text);
      assert.equal(queued.body.status, 'queued');
    });

    it('exposes the newest report as gauges in /metrics', async () => {
      const text = await eventually(async () => {
        const res = await kiln.request('GET', '/metrics', { key: null });
        assert.equal(res.status, 200);
        return /kiln_drift_detected\{model="drift-penguins",version="1"\} 1/.test(res.text) ? res.text : undefined;
      });
      const line = (metric: string, labels: string) => {
        const m = new RegExp(`^${metric}\\{${labels.replace(/[()]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text);
        assert.ok(m, `${metric}{${labels}} in /metrics`);
        return Number(m[1]);
      };
      const latest = (await kiln.request('GET', `/api/models/${MODEL}/drift?limit=1`)).body.latest;
      const flipper = latest.report.features.find((f: any) => f.feature === SHIFTED_NUMERIC);
      assert.equal(line('kiln_drift_score', `model="${MODEL}",version="1",feature="${SHIFTED_NUMERIC}",test="ks"`), flipper.score);
      assert.equal(line('kiln_drift_feature_detected', `model="${MODEL}",version="1",feature="${SHIFTED_CATEGORICAL}"`), 1);
      assert.equal(line('kiln_drift_drifted_share', `model="${MODEL}",version="1"`), latest.driftedShare);
      assert.equal(line('kiln_drift_feature_detected', `model="${MODEL}",version="1",feature="prediction:Species"`), 1);
    });

    it('skips an imported model: it has no training dataset profile', async () => {
      await importGraphVersion(kiln, 'drift-imported', handWrittenGraphModel(), {
        inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
        outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
      });
      assert.equal((await kiln.request('PUT', '/api/models/drift-imported/aliases/production', { body: { version: 1 } })).status, 200);
      const res = await kiln.request('POST', '/api/models/drift-imported/drift/check', { headers: { prefer: 'wait=60' } });
      assert.equal(res.status, 200, res.text);
      assert.match(res.body.skipped, /version 1 was imported: there is no training dataset profile/);
      assert.deepEqual(
        [res.body.report.id, res.body.report.status, res.body.report.reason],
        [res.body.reportId, 'skipped', res.body.skipped],
      );
    });

    it('removes the schedule of a model that is no longer served', async () => {
      assert.equal((await kiln.request('DELETE', `/api/models/${MODEL}/aliases/production`)).status, 200);
      const result = await kiln.app.get(DriftScheduler, { strict: false }).sync();
      assert.deepEqual(result.removed, [MODEL]);
      const queue = kiln.app.get<Queue>(getQueueToken(QueueName.Audit), { strict: false });
      assert.equal(
        (await queue.getJobSchedulers(0, -1)).some((j) => j.key === schedulerId(MODEL)),
        false,
      );
      const outcome = await checkNow();
      assert.match(outcome.skipped, /not served/);
    });
  });
}

void main();
