/**
 * The audit log end to end on the machine's PostgreSQL (PostgreSQL queue backend): batches of
 * realistic prediction records and admin events enqueued as `audit.record-batch` jobs on the
 * `audit` queue, idempotent replay, hash-chain verification (edit, delete and truncation of stored
 * rows found at the right seq), retention dropping a daily partition (an expiry event, verification
 * anchored after it), concurrent writers, keyset pagination, the streamed NDJSON export, and roles.
 */
import assert from 'node:assert/strict';
import { createHash, randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { getQueueToken } from '@nestjs/bullmq';
import type { Job, Queue } from 'bullmq';
import { Client } from 'pg';
import { canonicalJson, hashRecord } from '../../src/audit/chain';
import { AuditLogWriter } from '../../src/audit/log/audit-log.writer';
import { RetentionScheduler } from '../../src/audit/log/retention.scheduler';
import { RetentionService } from '../../src/audit/log/retention.service';
import { partitionFor } from '../../src/audit/log/partitions';
import type { AdminEventRecord, AuditPredictionRecord, AuditRecordBatchPayload, AuditRecordBatchResult } from '../../src/contracts';
import { eventually, skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

const DAY_MS = 86_400_000;
const sha256 = (v: unknown) => createHash('sha256').update(canonicalJson(v)).digest('hex');

const PENGUINS = [
  { species: 'Adelie', island: 'Torgersen', bill_length_mm: 39.1, bill_depth_mm: 18.7, flipper_length_mm: 181, body_mass_g: 3750 },
  { species: 'Gentoo', island: 'Biscoe', bill_length_mm: 46.1, bill_depth_mm: 13.2, flipper_length_mm: 211, body_mass_g: 4500 },
  { species: 'Chinstrap', island: 'Dream', bill_length_mm: 46.5, bill_depth_mm: 17.9, flipper_length_mm: 192, body_mass_g: 3500 },
];

/** One realistic record per call shape: record API, TF Serving, OIP, batch chunk, shadow copy, failed call. */
function prediction(requestId: string, i: number, over: Partial<AuditPredictionRecord> = {}): AuditPredictionRecord {
  const shape = i % 6;
  const features = PENGUINS[i % PENGUINS.length]!;
  const { species: _label, ...record } = features;
  const tensor = [
    {
      name: 'features',
      shape: [1, 4],
      datatype: 'FP32',
      data: [record.bill_length_mm, record.bill_depth_mm, record.flipper_length_mm, record.body_mass_g],
    },
  ];
  const inputs =
    shape === 0 || shape === 4
      ? [record]
      : shape === 3
        ? null
        : shape === 1
          ? [{ name: 'features', shape: [1, 4], data: tensor[0]!.data }]
          : tensor;
  return {
    requestId,
    servedAt: new Date(Date.now() - 1000 + i).toISOString(),
    callerKeyId: 'kiln_3f9a0c1d2e4b',
    model: i % 4 === 3 ? 'fraud' : 'penguins',
    version: shape === 5 ? null : 3,
    route: (['record', 'tfserving', 'oip', 'batch', 'record', 'record'] as const)[shape],
    kind: shape === 3 ? 'batch' : shape === 4 ? 'shadow' : 'live',
    canary: i % 5 === 0,
    status: shape === 5 ? 404 : 200,
    latencyMs: 1.5 + i / 7,
    rows: shape === 3 ? 250 : 1,
    inputs,
    inputsSha256: sha256(inputs),
    outputs:
      shape === 5
        ? null
        : shape === 0 || shape === 4
          ? [{ label: 'Adelie', probabilities: { Adelie: 0.91, Chinstrap: 0.06, Gentoo: 0.03 } }]
          : [{ name: 'probabilities', shape: [1, 3], data: [0.91, 0.06, 0.03] }],
    error: shape === 5 ? "model 'penguins' has no servable version" : null,
    ...over,
  };
}

function event(action: string, target: Record<string, unknown>, before: unknown, after: unknown): AdminEventRecord {
  return {
    eventId: randomUUID(),
    at: new Date().toISOString(),
    requestId: `req-${randomUUID()}`,
    actorKeyId: 'kiln_a11ce0000000',
    action,
    target,
    before,
    after,
  };
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('audit log (postgres)', { skip }, () => {
    let kiln: TestKiln;
    let queue: Queue;
    let writer: AuditLogWriter;
    let pg: Client;
    const tag = randomUUID().slice(0, 8);
    const oldAt = new Date(Date.now() - 100 * DAY_MS);
    let batch: AuditRecordBatchPayload;
    let auditorKey: string;

    /** Enqueues a batch as a producer would and waits for the audit worker to finish it. */
    async function finishedJob(payload: AuditRecordBatchPayload): Promise<{ state: string; job: Job }> {
      const job = await queue.add('audit.record-batch', payload, { jobId: `audit.record-batch__${randomUUID()}` });
      return eventually(async () => {
        // state first, then the job: a job read before it completed has no return value yet
        const state = await queue.getJobState(job.id!);
        return state === 'completed' || state === 'failed' ? { state, job: (await queue.getJob(job.id!))! } : undefined;
      });
    }

    async function runBatch(payload: AuditRecordBatchPayload): Promise<AuditRecordBatchResult> {
      const { state, job } = await finishedJob(payload);
      assert.equal(state, 'completed', job.failedReason);
      return job.returnvalue as AuditRecordBatchResult;
    }

    /** The predictions chain unless `query` names another (`?chain=events`); `&…` adds to it. */
    const verify = async (query = '') => {
      const q = query.includes('chain=') ? query : `?chain=predictions${query.replace(/^\?/, '&')}`;
      const res = await kiln.request('GET', `/api/audit/verify${q}`, { key: auditorKey });
      assert.equal(res.status, 200, res.text);
      return res.body;
    };
    const headSeq = async () => Number((await pg.query(`SELECT seq FROM audit_chain_heads WHERE chain = 'predictions'`)).rows[0].seq);
    const seqOf = async (requestId: string) =>
      Number((await pg.query(`SELECT seq FROM audit_predictions WHERE request_id = $1`, [requestId])).rows[0].seq);

    before(async () => {
      // the daily scheduled retention keeps everything here; the test runs retention itself
      kiln = await startTestKiln('postgres', { KILN_AUDIT_RETENTION_DAYS: '36500' });
      queue = kiln.app.get<Queue>(getQueueToken('audit'));
      writer = kiln.app.get(AuditLogWriter);
      pg = new Client({ connectionString: kiln.databaseUrl });
      await pg.connect();
      const auditor = await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } });
      assert.equal(auditor.status, 201, auditor.text);
      auditorKey = auditor.body.key;
    });

    after(async () => {
      await pg?.end();
      await kiln?.close();
    });

    it('writes the first records into the partition of the day they are logged (an old day here)', async () => {
      const old = Array.from({ length: 5 }, (_, i) =>
        prediction(`${tag}-old-${i}`, i, { servedAt: new Date(oldAt.getTime() - 60_000).toISOString() }),
      );
      const result = await writer.writeBatch({ payloadVersion: 1, predictions: old, events: [] }, oldAt);
      assert.deepEqual(result, { predictionsWritten: 5, eventsWritten: 0, duplicates: 0 });
      const { rows } = await pg.query(`SELECT seq, tableoid::regclass::text AS part, logged_at FROM audit_predictions ORDER BY seq`);
      assert.deepEqual(
        rows.map((r) => Number(r.seq)),
        [1, 2, 3, 4, 5],
      );
      assert.ok(rows.every((r) => r.part === partitionFor(oldAt).name && r.logged_at.getTime() === oldAt.getTime()));
    });

    it('stores a queued batch of predictions and admin events, dropping duplicates inside the batch', async () => {
      // record 4 is the shadow copy of record 3 (shadow ids are `<requestId>/shadow`)
      const predictions = Array.from({ length: 12 }, (_, i) => prediction(i === 4 ? `${tag}-live-3/shadow` : `${tag}-live-${i}`, i));
      const events = [
        event('alias.moved', { model: 'penguins', alias: 'production' }, { version: 2 }, { version: 3 }),
        event('key.created', { keyId: 'kiln_0123456789ab' }, null, { name: 'ci', role: 'predictor', key: '[redacted]' }),
      ];
      batch = { payloadVersion: 1, predictions: [...predictions, predictions[4]!], events };
      assert.deepEqual(await runBatch(batch), { predictionsWritten: 12, eventsWritten: 2, duplicates: 1 });
      assert.equal(await headSeq(), 17);
      const stored = await kiln.request('GET', `/api/audit/predictions/${tag}-live-1`, { key: auditorKey });
      assert.equal(stored.status, 200, stored.text);
      const sent = predictions[1]!;
      assert.deepEqual(
        { ...stored.body, seq: undefined, loggedAt: undefined, prevHash: undefined, hash: undefined },
        { ...sent, seq: undefined, loggedAt: undefined, prevHash: undefined, hash: undefined },
      );
      assert.equal(stored.body.seq, 7);
      const shadow = await kiln.request('GET', `/api/audit/predictions/${encodeURIComponent(`${tag}-live-3/shadow`)}`, { key: auditorKey });
      assert.deepEqual([shadow.status, shadow.body.kind, shadow.body.seq], [200, 'shadow', 10]);
      const ev = await kiln.request('GET', `/api/audit/events?action=alias.moved`, { key: auditorKey });
      assert.deepEqual(
        ev.body.items.map((e: { eventId: string; before: unknown; after: unknown }) => [e.eventId, e.before, e.after]),
        [[events[0]!.eventId, { version: 2 }, { version: 3 }]],
      );
    });

    it('replaying the same job payload stores nothing twice and counts the duplicates', async () => {
      assert.deepEqual(await runBatch(batch), { predictionsWritten: 0, eventsWritten: 0, duplicates: 15 });
      const { rows } = await pg.query(`SELECT count(*)::int AS n, count(DISTINCT request_id)::int AS d FROM audit_predictions`);
      assert.deepEqual(rows[0], { n: 17, d: 17 });
      assert.equal(await headSeq(), 17);
    });

    it('keeps values jsonb cannot hold as hashed (NaN, Infinity, NUL, lone surrogates) and verifies them', async () => {
      const odd = prediction(`${tag}-odd`, 1, {
        inputs: [{ name: 'x', shape: [1, 3], datatype: 'FP64', data: [NaN, Infinity, -Infinity] }, { 'k\0': 'a\0b\uD800' }],
        outputs: [{ name: 'y', shape: [1], data: [1e21] }],
        latencyMs: 0.1 + 0.2,
      });
      assert.deepEqual(await writer.writeBatch({ payloadVersion: 1, predictions: [odd], events: [] }), {
        predictionsWritten: 1,
        eventsWritten: 0,
        duplicates: 0,
      });
      const res = await kiln.request('GET', `/api/audit/predictions/${tag}-odd`, { key: auditorKey });
      // strings round-trip exactly (stored escaped, see src/audit/chain/json-safe.ts), even from a producer that did not escape them
      assert.deepEqual(res.body.inputs, [
        { name: 'x', shape: [1, 3], datatype: 'FP64', data: ['NaN', 'Infinity', '-Infinity'] },
        { 'k\0': 'a\0b\uD800' },
      ]);
      assert.equal(res.body.latencyMs, 0.30000000000000004);
      assert.deepEqual(await verify(), { chain: 'predictions', ok: true, checked: 18, fromSeq: 1, toSeq: 18 });
    });

    it('serialises concurrent writers on the chain head: contiguous seqs, one row per request id, chain intact', async () => {
      const ids = Array.from({ length: 60 }, (_, i) => `${tag}-conc-${i}`);
      // five overlapping batches (every id in two of them) written at once on separate transactions
      const batches = Array.from({ length: 5 }, (_, b) =>
        ids.filter((_, i) => Math.floor(i / 12) === b || Math.floor(i / 12) === (b + 1) % 5).map((id, i) => prediction(id, i)),
      );
      const results = await Promise.all(batches.map((predictions) => writer.writeBatch({ payloadVersion: 1, predictions, events: [] })));
      assert.equal(
        results.reduce((s, r) => s + r.predictionsWritten, 0),
        60,
      );
      assert.equal(
        results.reduce((s, r) => s + r.duplicates, 0),
        60,
      );
      const { rows } = await pg.query(
        `SELECT min(seq)::int AS lo, max(seq)::int AS hi, count(*)::int AS n FROM audit_predictions WHERE request_id LIKE $1`,
        [`${tag}-conc-%`],
      );
      assert.deepEqual(rows[0], { lo: 19, hi: 78, n: 60 });
      assert.equal((await verify()).ok, true);
    });

    it('stores a large batch in chunks; verify and export page through it; the export re-verifies offline', async () => {
      const bulk = Array.from({ length: 2100 }, (_, i) => prediction(`${tag}-bulk-${i}`, i, { model: 'bulk' }));
      assert.deepEqual(await runBatch({ payloadVersion: 1, predictions: bulk, events: [] }), {
        predictionsWritten: 2100,
        eventsWritten: 0,
        duplicates: 0,
      });
      assert.deepEqual(await verify(), { chain: 'predictions', ok: true, checked: 2178, fromSeq: 1, toSeq: 2178 });

      const res = await fetch(`${kiln.url}/api/audit/predictions/export`, { headers: { authorization: `Bearer ${auditorKey}` } });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
      const lines = (await res.text())
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l));
      assert.equal(lines.length, 2178);
      assert.deepEqual(
        lines.map((l) => l.seq),
        Array.from({ length: 2178 }, (_, i) => i + 1),
      );
      for (const { prevHash, hash, ...content } of lines) assert.equal(hashRecord(prevHash, content), hash);
      for (let i = 1; i < lines.length; i++) assert.equal(lines[i].prevHash, lines[i - 1].hash);

      const filtered = await fetch(`${kiln.url}/api/audit/predictions/export?model=bulk`, {
        headers: { authorization: `Bearer ${auditorKey}` },
      });
      assert.equal((await filtered.text()).trim().split('\n').length, 2100);
    });

    it('paginates by cursor without gaps or repeats, filters by model and version, and names bad parameters', async () => {
      const seen: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const res: TestResponse = await kiln.request(
          'GET',
          `/api/audit/predictions?model=penguins&version=3&limit=4${cursor ? `&cursor=${cursor}` : ''}`,
          { key: auditorKey },
        );
        assert.equal(res.status, 200, res.text);
        assert.ok(res.body.items.length <= 4);
        for (const item of res.body.items) {
          assert.deepEqual([item.model, item.version], ['penguins', 3]);
          seen.push(item.seq);
        }
        cursor = res.body.nextCursor;
        pages++;
      } while (cursor);
      const { rows } = await pg.query(
        `SELECT seq::int FROM audit_predictions WHERE model = 'penguins' AND model_version = 3 ORDER BY seq DESC`,
      );
      assert.deepEqual(
        seen,
        rows.map((r) => r.seq),
      );
      assert.equal(pages, Math.ceil(rows.length / 4));
      const asc = await kiln.request('GET', '/api/audit/predictions?order=asc&limit=3', { key: auditorKey });
      assert.deepEqual(
        asc.body.items.map((i: { seq: number }) => i.seq),
        [1, 2, 3],
      );
      assert.equal(asc.body.nextCursor, '3');

      const bad: Array<[string, string]> = [
        ['/api/audit/predictions?version=3', 'version'],
        ['/api/audit/predictions?limit=0', 'limit'],
        ['/api/audit/predictions?limit=5000', 'limit'],
        ['/api/audit/predictions?cursor=abc', 'cursor'],
        ['/api/audit/predictions?from=yesterday', 'from'],
        ['/api/audit/predictions?sort=seq', 'sort'],
        ['/api/audit/predictions/export?to=2025-13-45', 'to'],
        ['/api/audit/events?from=soon', 'from'],
        ['/api/audit/verify?chain=models', 'chain'],
        ['/api/audit/verify?from=last-week', 'from'],
      ];
      for (const [path, field] of bad) {
        const res = await kiln.request('GET', path, { key: auditorKey });
        assert.equal(res.status, 400, path);
        assert.ok(
          res.body.errors.some((e: { field: string }) => e.field === field),
          `${path}: ${res.text}`,
        );
      }
      assert.equal((await kiln.request('GET', `/api/audit/predictions/${tag}-nope`, { key: auditorKey })).status, 404);
    });

    it('refuses the data plane role and accepts auditor and admin', async () => {
      const predictor = await kiln.request('POST', '/api/keys', { body: { name: 'scoring', role: 'predictor' } });
      for (const path of [
        '/api/audit/predictions',
        `/api/audit/predictions/${tag}-live-1`,
        '/api/audit/predictions/export',
        '/api/audit/events',
        '/api/audit/verify',
      ]) {
        assert.equal((await kiln.request('GET', path, { key: predictor.body.key })).status, 403, path);
        assert.equal((await kiln.request('GET', path, { key: null })).status, 401, path);
      }
      assert.equal((await kiln.request('GET', '/api/audit/verify?chain=events')).status, 200);
    });

    it('finds a row edited in PostgreSQL at exactly its seq', async () => {
      const seq = await seqOf(`${tag}-live-9`);
      const original = (await pg.query(`SELECT outputs::text AS o FROM audit_predictions WHERE seq = $1`, [seq])).rows[0].o;
      await pg.query(`UPDATE audit_predictions SET outputs = '[{"label": "Gentoo"}]' WHERE seq = $1`, [seq]);
      const broken = await verify();
      assert.equal(broken.ok, false);
      assert.deepEqual(
        broken.firstBroken && { seq: broken.firstBroken.seq, requestId: broken.firstBroken.requestId, reason: broken.firstBroken.reason },
        {
          seq,
          requestId: `${tag}-live-9`,
          reason: 'hash_mismatch',
        },
      );
      assert.equal(broken.checked, seq);
      // a range that ends before the edit is intact; one that starts after it links to it and is intact too
      assert.equal((await verify(`?to=${seq - 1}`)).ok, true);
      const tail = await verify(`?from=${seq + 1}`);
      assert.deepEqual([tail.ok, tail.anchoredAt.by, tail.anchoredAt.seq], [true, 'range', seq + 1]);
      await pg.query(`UPDATE audit_predictions SET outputs = $2::jsonb WHERE seq = $1`, [seq, original]);
      assert.equal((await verify()).ok, true);
    });

    it('verify without chain checks every chain and reports each: an edited admin event fails it, ?chain= picks one', async () => {
      const all = async () => {
        const res = await kiln.request('GET', '/api/audit/verify', { key: auditorKey });
        assert.equal(res.status, 200, res.text);
        return res.body;
      };
      const intact = await all();
      assert.deepEqual(
        [
          intact.ok,
          intact.chains?.predictions?.chain,
          intact.chains?.predictions?.ok,
          intact.chains?.events?.chain,
          intact.chains?.events?.ok,
        ],
        [true, 'predictions', true, 'events', true],
        JSON.stringify(intact),
      );
      assert.ok(intact.chains.events.checked > 0 && intact.chains.predictions.checked > 0, JSON.stringify(intact));
      const { seq, action } = (await pg.query(`SELECT seq, action FROM audit_events ORDER BY seq DESC LIMIT 1`)).rows[0];
      await pg.query(`UPDATE audit_events SET action = 'forged.action' WHERE seq = $1`, [seq]);
      try {
        const broken = await all();
        assert.deepEqual(
          [broken.ok, broken.chains.predictions.ok, broken.chains.events.ok, broken.chains.events.firstBroken?.seq],
          [false, true, false, Number(seq)],
          JSON.stringify(broken),
        );
        assert.equal((await verify('?chain=predictions')).ok, true);
        assert.equal((await verify('?chain=events')).ok, false);
      } finally {
        await pg.query(`UPDATE audit_events SET action = $2 WHERE seq = $1`, [seq, action]);
      }
      assert.equal((await all()).ok, true);
    });

    it('finds a deleted row (at the next seq) and deleted newest rows (missing at the head)', async () => {
      const seq = await seqOf(`${tag}-live-3`);
      await pg.query(
        `CREATE TEMP TABLE kept AS SELECT * FROM audit_predictions ` +
          `WHERE seq = $1 OR seq = (SELECT seq FROM audit_chain_heads WHERE chain = 'predictions')`,
        [seq],
      );
      await pg.query(`DELETE FROM audit_predictions WHERE seq = $1`, [seq]);
      const gap = await verify();
      assert.deepEqual([gap.ok, gap.firstBroken.seq, gap.firstBroken.reason], [false, seq + 1, 'prev_hash_mismatch']);
      await pg.query(`INSERT INTO audit_predictions SELECT * FROM kept WHERE seq = $1`, [seq]);
      const head = await headSeq();
      await pg.query(`DELETE FROM audit_predictions WHERE seq = $1`, [head]);
      const truncated = await verify();
      assert.deepEqual(
        [truncated.ok, truncated.firstBroken.seq, truncated.firstBroken.reason, truncated.checked],
        [false, head, 'missing', head - 1],
      );
      await pg.query(`INSERT INTO audit_predictions SELECT * FROM kept WHERE seq = $1`, [head]);
      await pg.query(`DROP TABLE kept`);
      assert.equal((await verify()).ok, true);
    });

    it('retention drops the expired daily partition, records it as an admin event, and verification anchors after it', async () => {
      const retention = kiln.app.get(RetentionService);
      const partition = partitionFor(oldAt).name;
      const firstHash = (await pg.query(`SELECT hash FROM audit_predictions WHERE seq = 5`)).rows[0].hash;
      assert.deepEqual(await retention.run({ payloadVersion: 1, retentionDays: 30 }), { droppedPartitions: [partition] });
      assert.equal((await pg.query(`SELECT to_regclass($1) AS t`, [partition])).rows[0].t, null);
      assert.equal((await pg.query(`SELECT min(seq)::int AS m FROM audit_predictions`)).rows[0].m, 6);

      const events = await kiln.request('GET', '/api/audit/events?action=audit.retention-expired', { key: auditorKey });
      assert.equal(events.body.items.length, 1);
      const expiry = events.body.items[0];
      assert.deepEqual(expiry.target, {
        partition,
        from: partitionFor(oldAt).from.toISOString(),
        to: partitionFor(oldAt).to.toISOString(),
      });
      assert.deepEqual(expiry.after, { rowsDropped: 5, throughSeq: 5, throughHash: firstHash, retentionDays: 30 });

      const head = await headSeq();
      const v = await verify();
      assert.deepEqual(v, {
        chain: 'predictions',
        ok: true,
        checked: head - 5,
        fromSeq: 6,
        toSeq: head,
        anchoredAt: { seq: 6, prevHash: firstHash, by: 'retention', eventId: expiry.eventId },
      });
      assert.equal((await verify('?chain=events')).ok, true);
      // nothing left to drop; a range inside the dropped days starts at the anchor
      assert.deepEqual(await retention.run({ payloadVersion: 1, retentionDays: 30 }), { droppedPartitions: [] });
      assert.equal((await verify(`?from=${new Date(oldAt.getTime() - DAY_MS).toISOString()}`)).anchoredAt.by, 'retention');

      // deleting the first remaining record is still found: it no longer links to the anchor
      await pg.query(`CREATE TEMP TABLE first_kept AS SELECT * FROM audit_predictions WHERE seq = 6`);
      await pg.query(`DELETE FROM audit_predictions WHERE seq = 6`);
      const cut = await verify();
      assert.deepEqual([cut.ok, cut.firstBroken.seq, cut.firstBroken.reason], [false, 7, 'prev_hash_mismatch']);
      await pg.query(`INSERT INTO audit_predictions SELECT * FROM first_kept`);
      assert.equal((await verify()).ok, true);
    });

    it('fails a batch that breaks the record contract at once, naming the record and field', async () => {
      const bad = { payloadVersion: 1 as const, predictions: [prediction(`${tag}-bad`, 0, { servedAt: 'not a time' })], events: [] };
      const { state, job } = await finishedJob(bad);
      assert.equal(state, 'failed');
      assert.match(job.failedReason, /predictions\[0\]\.servedAt: must be an ISO 8601 time/);
      assert.equal(job.attemptsMade, 1, 'not retried: retrying cannot fix it');
      assert.equal((await pg.query(`SELECT count(*)::int AS n FROM audit_predictions WHERE request_id = $1`, [`${tag}-bad`])).rows[0].n, 0);
      // A bad record never takes the good records of its group commit with it.
      const mixed = {
        payloadVersion: 1 as const,
        predictions: [prediction(`${tag}-good`, 0), prediction(`${tag}-bad2`, 1, { servedAt: 'not a time' })],
        events: [],
      };
      const second = await finishedJob(mixed);
      assert.equal(second.state, 'failed');
      assert.match(second.job.failedReason, /1 record\(s\) refused \(the others were written\): predictions\[1\]\.servedAt/);
      const stored = await pg.query(`SELECT request_id FROM audit_predictions WHERE request_id IN ($1, $2)`, [
        `${tag}-good`,
        `${tag}-bad2`,
      ]);
      assert.deepEqual(
        stored.rows.map((r: { request_id: string }) => r.request_id),
        [`${tag}-good`],
      );
    });

    it('schedules retention as a daily repeatable job on the audit queue, which the audit worker runs', async () => {
      await new RetentionScheduler(queue).onApplicationBootstrap();
      const scheduler = await queue.getJobScheduler('audit.retention__daily');
      assert.equal(scheduler?.every, DAY_MS);
      const ran = await eventually(async () => {
        const jobs = await queue.getJobs(['completed']);
        return jobs.find((j) => j.name === 'audit.retention');
      });
      assert.deepEqual(ran.returnvalue, { droppedPartitions: [] });
    });

    it('selects verify ranges by logged_at time', async () => {
      const v = await verify(
        `?from=${new Date(Date.now() - 3_600_000).toISOString()}&to=${new Date(Date.now() + 3_600_000).toISOString()}`,
      );
      assert.deepEqual([v.ok, v.fromSeq, v.toSeq, v.checked], [true, 6, await headSeq(), (await headSeq()) - 5]);
      const none = await verify(`?from=${new Date(Date.now() + DAY_MS).toISOString()}`);
      assert.deepEqual([none.ok, none.checked], [true, 0]);
    });
  });
}

void main();
