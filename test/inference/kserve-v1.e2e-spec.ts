/**
 * KServe's V1 data plane on Kiln's /v1 (TF Serving's REST API) and `/` (the console), on PostgreSQL,
 * replayed with the headers KServe's `InferenceRESTClient` sends (httpx: `Accept: *` `/` `*`) and the answers
 * KServe's own code expects, written down from kserve/kserve `python/kserve/test/test_inference_client.py`,
 * `test_server.py` and `kserve/protocol/rest/v1_endpoints.py`:
 *
 *   is_server_live   GET /                      → {"status": "alive"} (browsers still get the console)
 *   is_model_ready   GET /v1/models/{m}         → reads `ready` (true; false or 503 when not ready)
 *   infer            POST /v1/models/{m}:predict {"instances": …} → {"predictions": …}
 *   explain          POST /v1/models/{m}:explain → {"predictions": [...], "explanations": [...]} (V1 protocol doc)
 *
 * TF Serving's answers on the same paths stay as they were (its clients and tests read them): the status
 * of a version or a label, columnar `inputs` → `outputs`, 404 `{"error"}` for an unknown model.
 */
import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { gunzipSync, inflateSync } from 'node:zlib';
import * as tfl from '@tensorflow/tfjs-layers';
import * as ml from '../../src/ml';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { chainedAuditRecord } from '../utils/audit-lookup';
import { importLayersModel } from '../models/model-import-helpers';
import { servingReady } from './triton-test-client';
import { penguinRecords, penguinsVersion, trainModel } from './inference-helpers';

const IDENTITY = 'kserve-identity'; // KServe's DummyModel echoes its input: an identity layer stands in for it
const NOT_READY = 'kserve-not-ready'; // registered, nothing routes it (KServe's NotReadyModel)
const TRAINED = 'kserve-penguins';
const SIGNATURE = {
  inputs: [{ name: 'features', dtype: 'float32', shape: [-1, 2] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 2] }],
};

/** The headers httpx (KServe's InferenceRESTClient) sends on every call, with the bearer key the harness adds. */
const HTTPX_HEADERS = {
  accept: '*/*',
  'accept-encoding': 'gzip, deflate',
  connection: 'keep-alive',
  'user-agent': 'python-httpx/0.28.1',
};
/** Chromium's Accept on a top-level navigation. */
const BROWSER_ACCEPT =
  'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7';

interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

function identityModel(): tfl.LayersModel {
  const m = tfl.sequential();
  m.add(tfl.layers.dense({ units: 2, inputShape: [2], useBias: false, kernelInitializer: 'identity' }));
  return m;
}

function closeTo(got: number, want: number, tolerance: number, what: string): void {
  assert.ok(Math.abs(got - want) <= tolerance, `${what}: ${got} vs ${want}`);
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe("KServe's V1 protocol beside TF Serving's on /v1 and /", { skip }, () => {
    let kiln: TestKiln;
    let auditorKey: string;
    let rows: number[][];
    let records: Array<Record<string, unknown>>;
    let features: string[];

    /**
     * One call with exactly these headers (node:http adds none but Host and Content-Length), the body
     * inflated as httpx does. `key` null sends no authorization.
     */
    function raw(
      method: string,
      path: string,
      o: { headers?: Record<string, string>; body?: string; key?: string | null } = {},
    ): Promise<RawResponse> {
      const headers: Record<string, string> = { ...(o.headers ?? HTTPX_HEADERS) };
      const key = o.key === undefined ? kiln.adminKey : o.key;
      if (key !== null) headers.authorization = `Bearer ${key}`;
      if (o.body !== undefined) headers['content-type'] ??= 'application/json';
      return new Promise((resolve, reject) => {
        const req = httpRequest(new URL(path, kiln.url), { method, headers }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            let body = Buffer.concat(chunks);
            const encoding = res.headers['content-encoding'];
            if (encoding === 'gzip') body = gunzipSync(body);
            else if (encoding === 'deflate') body = inflateSync(body);
            const text = body.toString('utf8');
            let json: unknown;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
          });
        });
        req.on('error', reject);
        req.end(o.body);
      });
    }

    /** The audit records of one request id: each answered call has exactly one. */
    async function auditedOnce(requestId: unknown): Promise<any> {
      assert.equal(typeof requestId, 'string');
      // the listing shows chained records only: wait for this one to be chained
      const record = await chainedAuditRecord(kiln, requestId as string);
      const listed = await kiln.request('GET', '/api/audit/predictions?limit=500');
      const ids = (listed.body.items ?? listed.body).map((r: { requestId: string }) => r.requestId);
      assert.equal(ids.filter((id: string) => id === requestId).length, 1, `request ${requestId as string} audited once`);
      return record;
    }

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres', { KILN_ROUTING_REFRESH_MS: '200' });
      await importLayersModel(kiln, IDENTITY, identityModel(), SIGNATURE);
      await importLayersModel(kiln, NOT_READY, identityModel(), SIGNATURE);
      const alias = await kiln.request('PUT', `/api/models/${IDENTITY}/aliases/production`, { body: { version: 1 } });
      assert.equal(alias.status, 200, alias.text);
      const data = await penguinsVersion(kiln);
      const trained = { datasetVersionId: data.id, modelName: TRAINED, target: 'Species', promote: 'always' as const };
      assert.equal(await trainModel(kiln, { ...trained, hyperparameters: { epochs: 4 } }), 1);
      auditorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'auditor', role: 'auditor' } })).body.key;
      // /v1's input of a Kiln-trained model is the preprocessed feature tensor the record API builds.
      const version = (await kiln.request('GET', `/api/models/${TRAINED}/versions/1`)).body;
      records = penguinRecords(5, 20);
      const x = ml.Preprocessor.fromJSON(version.preprocessing).transform(records);
      const width = x.length / records.length;
      rows = Array.from({ length: records.length }, (_, i) => Array.from(x.subarray(i * width, (i + 1) * width)));
      features = (version.preprocessing.features as Array<{ name: string }>).map((f) => f.name);
      await servingReady(kiln);
    });
    after(async () => {
      await kiln?.close();
    });

    it("InferenceRESTClient's V1 calls, as test_inference_client.py makes them, get the answers it expects", async () => {
      // is_server_live: GET {base}/ → response.json()["status"].lower() == "alive"
      const live = await raw('GET', '/', { key: null });
      assert.equal(live.status, 200, live.text);
      assert.equal(live.json.status.toLowerCase(), 'alive');
      // is_model_ready: 503 → False; other non-2xx → raise; else response.json()["ready"]
      const ready = await raw('GET', `/v1/models/${IDENTITY}`);
      assert.equal(ready.status, 200, ready.text);
      assert.equal(ready.json.ready, true);
      const notReady = await raw('GET', `/v1/models/${NOT_READY}`);
      assert.ok(notReady.status === 503 || (notReady.status === 200 && notReady.json.ready === false), notReady.text);
      // infer: {"instances": [...]} → res["predictions"] (the identity stands in for the DummyModel's echo)
      const infer = await raw('POST', `/v1/models/${IDENTITY}:predict`, { body: '{"instances":[[1,2]]}' });
      assert.equal(infer.status, 200, infer.text);
      assert.deepEqual(infer.json.predictions, [[1, 2]]);
      // infer {"inputs": [...]}: test_infer expects res["predictions"], its DummyModel's own answer. TF Serving's
      // columnar form answers "outputs" and its tests compare the whole document; nothing in the request tells
      // the two clients apart, so Kiln keeps TF Serving's answer (a deliberate difference, docs/protocols.md).
      const columnar = await raw('POST', `/v1/models/${IDENTITY}:predict`, { body: '{"inputs":[[1,2]]}' });
      assert.equal(columnar.status, 200, columnar.text);
      assert.deepEqual(columnar.json, { outputs: [[1, 2]] });
      // explain: {"instances": [...]} → {"predictions": [...], "explanations": [...]} (KServe's V1 protocol)
      const explain = await raw('POST', `/v1/models/${TRAINED}:explain`, { body: JSON.stringify({ instances: rows }) });
      assert.equal(explain.status, 200, explain.text);
      assert.deepEqual(Object.keys(explain.json), ['predictions', 'explanations']);
      assert.equal(explain.json.predictions.length, rows.length);
      assert.equal(explain.json.explanations.length, rows.length);
    });

    it('GET / answers KServe V1 liveness JSON unless the client ranks text/html first (browsers get the console)', async () => {
      // test_server.py test_liveness_handler: resp.content == b'{"status":"alive"}'
      const clients: Array<Record<string, string>> = [
        HTTPX_HEADERS,
        {}, // no Accept (urllib): anything goes, JSON first
        { accept: 'application/json' },
        { accept: 'text/html;q=0.5, application/json' },
      ];
      for (const headers of clients) {
        const res = await raw('GET', '/', { headers, key: null });
        assert.equal(res.status, 200, res.text);
        assert.match(String(res.headers['content-type']), /^application\/json\b/, JSON.stringify(headers));
        assert.equal(res.text, '{"status":"alive"}', JSON.stringify(headers));
        assert.match(String(res.headers.vary), /accept/i);
      }
      for (const accept of [BROWSER_ACCEPT, 'text/html']) {
        const page = await raw('GET', '/', { headers: { accept }, key: null });
        assert.equal(page.status, 200, page.text);
        assert.match(String(page.headers['content-type']), /^text\/html/);
        assert.match(page.text, /<html/i);
        assert.match(String(page.headers.vary), /accept/i);
      }
    });

    it("GET /v1/models/{name} has KServe's name and ready before TF Serving's status; versions and labels stay TF Serving's", async () => {
      const available = [{ version: '1', state: 'AVAILABLE', status: { error_code: 'OK', error_message: '' } }];
      const bare = await raw('GET', `/v1/models/${IDENTITY}`);
      assert.equal(bare.headers['content-type'], 'application/json');
      // KServe: {"name": m, "ready": true} (v1_endpoints.py model_ready); TF Serving: model_version_status
      assert.equal(bare.text, JSON.stringify({ name: IDENTITY, ready: true, model_version_status: available }));
      for (const path of [`/v1/models/${IDENTITY}/versions/1`, `/v1/models/${IDENTITY}/labels/production`]) {
        const res = await raw('GET', path);
        assert.equal(res.status, 200, res.text);
        assert.deepEqual(res.json, { model_version_status: available }, path);
      }
      // a model nothing routes: ready false (KServe's client returns False), no version loaded
      const idle = await raw('GET', `/v1/models/${NOT_READY}`);
      assert.equal(idle.status, 200, idle.text);
      assert.deepEqual(idle.json, { name: NOT_READY, ready: false, model_version_status: [] });
      // an unknown model stays TF Serving's 404 {"error"}
      const unknown = await raw('GET', '/v1/models/no-such-model');
      assert.equal(unknown.status, 404, unknown.text);
      assert.deepEqual(Object.keys(unknown.json), ['error']);
      // after a load through the model repository API the model answers calls without a version: ready
      const load = await kiln.request('POST', `/v2/repository/models/${NOT_READY}/load`, { body: {} });
      assert.equal(load.status, 200, load.text);
      assert.equal((await raw('GET', `/v1/models/${NOT_READY}`)).json.ready, true);
      const unload = await kiln.request('POST', `/v2/repository/models/${NOT_READY}/unload`, { body: {} });
      assert.equal(unload.status, 200, unload.text);
      assert.equal((await raw('GET', `/v1/models/${NOT_READY}`)).json.ready, false);
    });

    it(":explain answers {predictions, explanations}: :predict's numbers, the record API's explanations; audited once", async () => {
      const explained = await raw('POST', `/v1/models/${TRAINED}:explain`, { body: JSON.stringify({ instances: rows }) });
      assert.equal(explained.status, 200, explained.text);
      assert.equal(explained.headers['content-type'], 'application/json');
      const predicted = await raw('POST', `/v1/models/${TRAINED}:predict`, { body: JSON.stringify({ instances: rows }) });
      assert.deepEqual(explained.json.predictions, predicted.json.predictions);
      const viaRecords = await kiln.request('POST', `/api/models/${TRAINED}/predict?explain=true`, { body: { records } });
      assert.equal(viaRecords.status, 200, viaRecords.text);
      explained.json.explanations.forEach((e: any, i: number) => {
        const want = viaRecords.body.predictions[i].explanation;
        assert.deepEqual(Object.keys(e.attributions).sort(), [...features].sort(), `row ${i}: one attribution per source feature`);
        assert.equal(e.method, 'integrated-gradients');
        assert.equal(e.output, want.output);
        for (const f of features) closeTo(e.attributions[f], want.attributions[f], 1e-6, `row ${i} ${f}`);
        closeTo(e.prediction, want.prediction, 1e-6, `row ${i} prediction`);
        // completeness: the attributions add up to prediction − baseline
        const sum = Object.values(e.attributions as Record<string, number>).reduce((s, v) => s + v, 0);
        closeTo(sum, e.prediction - e.baseline, 1e-3, `row ${i} completeness`);
      });
      // the columnar form explains the same rows, answered per row
      const columnar = await raw('POST', `/v1/models/${TRAINED}:explain`, { body: JSON.stringify({ inputs: rows }) });
      assert.equal(columnar.status, 200, columnar.text);
      assert.deepEqual(columnar.json, explained.json);
      const record = await auditedOnce(explained.headers['x-request-id']);
      assert.deepEqual(
        [record.route, record.status, record.model, record.version, record.rows],
        ['tfserving', 200, TRAINED, 1, rows.length],
      );
    });

    it(':explain refusals: a clear 400 naming the reason (never 5xx), audited once; auth as :predict', async () => {
      const explain = (model: string, body: string, key?: string | null) => raw('POST', `/v1/models/${model}:explain`, { body, key });
      const imported = await explain(IDENTITY, '{"instances":[[1,2]]}');
      assert.equal(imported.status, 400, imported.text);
      assert.match(imported.json.error, /^explain: model kserve-identity version 1 has no named source features/);
      const record = await auditedOnce(imported.headers['x-request-id']);
      assert.deepEqual([record.route, record.status], ['tfserving', 400]);

      const width = rows[0]!.length;
      const tooMany = await explain(TRAINED, JSON.stringify({ instances: Array.from({ length: 101 }, () => rows[0]) }));
      assert.equal(tooMany.status, 400, tooMany.text);
      assert.match(tooMany.json.error, /^instances: explanations are computed for at most 100 rows per request; this one has 101$/);
      const nan = await explain(TRAINED, `{"instances": [[NaN${', 0'.repeat(width - 1)}]]}`);
      assert.equal(nan.status, 400, nan.text);
      assert.match(nan.json.error, /^instances: contains a non-finite value/);
      const columnarNaN = await explain(TRAINED, `{"inputs": [[Infinity${', 0'.repeat(width - 1)}]]}`);
      assert.match(columnarNaN.json.error, /^inputs: contains a non-finite value/);
      const narrow = await explain(TRAINED, '{"instances": [[1, 2]]}');
      assert.equal(narrow.status, 400, narrow.text);
      assert.match(narrow.json.error, /features/);
      const neither = await explain(TRAINED, '{"records": []}');
      assert.equal(neither.status, 400, neither.text);
      assert.match(neither.json.error, /exactly one of "instances" \(row form\) or "inputs"/);

      // refused before the runtime (no key): audited once by the answer hook, as a /v1 call
      const noKey = await explain(TRAINED, JSON.stringify({ instances: rows }), null);
      assert.equal(noKey.status, 401, noKey.text);
      const refused = await auditedOnce(noKey.headers['x-request-id']);
      assert.deepEqual([refused.route, refused.status, refused.model], ['tfserving', 401, TRAINED]);
      assert.equal((await explain(TRAINED, JSON.stringify({ instances: rows }), auditorKey)).status, 403);
      assert.equal((await explain('no-such-model', JSON.stringify({ instances: rows }))).status, 404);
      const get = await raw('GET', `/v1/models/${TRAINED}:explain`);
      assert.equal(get.status, 400, get.text);
      assert.deepEqual(get.json, { error: `Malformed request: GET /v1/models/${TRAINED}:explain` });
    });

    // Last: it moves the trained model to ONNX Runtime.
    it(':explain on a version served by ONNX Runtime (no gradients): 400 naming the reason, :predict still answers', async () => {
      const engine = await kiln.request('PUT', `/api/models/${TRAINED}/serving`, { body: { engine: 'onnxruntime' } });
      assert.equal(engine.status, 200, engine.text);
      await eventually(async () => {
        const meta = await kiln.request('GET', `/v2/models/${TRAINED}`);
        return meta.body.platform === 'onnxruntime_onnx' ? true : undefined;
      }, 30_000);
      const body = JSON.stringify({ instances: rows });
      const refused = await raw('POST', `/v1/models/${TRAINED}:explain`, { body });
      assert.equal(refused.status, 400, refused.text);
      assert.match(refused.json.error, /^explain: model kserve-penguins version 1 is served by ONNX Runtime, which computes no gradients/);
      assert.equal((await raw('POST', `/v1/models/${TRAINED}:predict`, { body })).status, 200);
    });
  });
}

void main();
