/**
 * Issue 10, "bad input never gives 5xx" and "resource abuse": the review's reproductions, each a
 * 4xx naming the field with nothing stored; the import dry run refused before it allocates; slow
 * clients disconnected by the configured timeouts.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { after, before, describe, it } from 'node:test';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { importLayersModel } from '../models/model-import-helpers';
import { skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

function assertRefused(res: TestResponse, field: string | RegExp, status = 400): void {
  assert.equal(res.status, status, `expected ${status}, got ${res.status}: ${res.text.slice(0, 300)}`);
  assert.match(res.headers.get('content-type') ?? '', /^application\/problem\+json/);
  const fields = ((res.body?.errors ?? []) as Array<{ field: string }>).map((e) => e.field);
  const named = fields.some((f) => (typeof field === 'string' ? f === field : field.test(f)));
  assert.ok(named, `no error names ${String(field)}: ${res.text.slice(0, 300)}`);
}

/** `body` as it is: a string under `contentType`, or a FormData as multipart. */
function raw(kiln: TestKiln, method: string, path: string, body: string | FormData, contentType?: string): Promise<TestResponse> {
  return kiln.request(method, path, { body, headers: contentType ? { 'content-type': contentType } : {} });
}

const SIGNATURE = { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }] };

/** model.json + shard of a 2 → 1 dense model, for hand-made import forms. */
async function importForm(signature: unknown, edit: (modelJson: any) => void = () => undefined): Promise<FormData> {
  const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
  let form: FormData | undefined;
  await model.save({
    save: async (a) => {
      const modelJson = {
        modelTopology: a.modelTopology,
        format: a.format,
        weightsManifest: [{ paths: ['w.bin'], weights: a.weightSpecs }],
      };
      edit(modelJson);
      form = new FormData();
      form.append('signature', JSON.stringify(signature));
      form.append('model', new Blob([JSON.stringify(modelJson)]), 'model.json');
      form.append('weights', new Blob([Buffer.from(a.weightData as ArrayBuffer)]), 'w.bin');
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    },
  });
  return form!;
}

void (async () => {
  const skip = await skipUnless('postgres');

  describe('bad input is a 4xx naming the field, nothing stored', { skip }, () => {
    let kiln: TestKiln;
    let datasetId: string;
    before(async () => {
      kiln = await startTestKiln('postgres');
      await TfRuntime.initForTests();
      await importLayersModel(kiln, 'm', tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] }), SIGNATURE);
      datasetId = (await kiln.request('POST', '/api/datasets', { body: { name: 'ds' } })).body.id;
    });
    after(() => kiln?.close());

    it('refuses broken multipart bodies on dataset upload and model import', async () => {
      const cut = '--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2';
      for (const path of [`/api/datasets/${datasetId}/versions`, '/api/models/m2/versions']) {
        assertRefused(await raw(kiln, 'POST', path, '{"records":[]}', 'multipart/form-data; boundary=x'), 'body');
        assertRefused(await raw(kiln, 'POST', path, '{"records":[]}', 'multipart/form-data'), 'body');
        assertRefused(await raw(kiln, 'POST', path, cut, 'multipart/form-data; boundary=x'), 'body');
      }
      assert.deepEqual((await kiln.request('GET', `/api/datasets/${datasetId}/versions`)).body, []);
      assert.equal((await kiln.request('GET', '/api/models/m2')).status, 404);
    });

    it('refuses NUL in every stored string', async () => {
      assertRefused(await kiln.request('POST', '/api/datasets', { body: { name: 'nul', description: 'a\u0000b' } }), 'description');
      assertRefused(await kiln.request('POST', '/api/datasets', { body: { name: 'a\u0000b' } }), 'name');
      assertRefused(await kiln.request('POST', '/api/keys', { body: { name: 'a\u0000b', role: 'predictor' } }), 'name');
      assertRefused(await kiln.request('POST', '/api/keys', { body: { name: 'a\ud800b', role: 'predictor' } }), 'name');
      const records = { records: [{ a: 1 }], nullTokens: ['NA', 'x\u0000'] };
      assertRefused(await kiln.request('POST', `/api/datasets/${datasetId}/versions`, { body: records }), 'nullTokens.1');
      const form = new FormData();
      form.append('nullTokens', JSON.stringify(['\u0000']));
      form.append('file', new Blob(['a,b\n1,2\n']), 'a.csv');
      assertRefused(await raw(kiln, 'POST', `/api/datasets/${datasetId}/versions`, form), 'nullTokens.0');
      const named = new FormData();
      named.append('file', new Blob(['a,b\n1,2\n']), 'a\u0000.csv');
      assertRefused(await raw(kiln, 'POST', `/api/datasets/${datasetId}/versions`, named), 'file');
      assertRefused(await kiln.request('POST', '/api/feedback', { body: { requestId: 'a\u0000b', actual: 1 } }), 'requestId');
      assertRefused(await kiln.request('GET', '/api/audit/predictions?model=a%00b'), 'model');
      assertRefused(await kiln.request('GET', '/api/audit/events?action=a%00b'), 'action');
      assertRefused(await kiln.request('GET', '/api/audit/predictions/a%00b'), 'requestId');
      assertRefused(await kiln.request('GET', '/api/training-jobs/a%00b'), 'id');
      assert.deepEqual(
        (await kiln.request('GET', '/api/datasets')).body.map((d: { name: string }) => d.name),
        ['ds'],
      );
      assert.deepEqual((await kiln.request('GET', `/api/datasets/${datasetId}/versions`)).body, []);
      assert.equal((await kiln.request('GET', '/api/keys')).body.length, 1, 'only the admin key');
    });

    it('refuses version numbers past the int4 column range', async () => {
      assertRefused(await kiln.request('GET', '/api/models/m/versions/2147483648'), 'version');
      assertRefused(await kiln.request('POST', '/api/models/m/versions/99999999999999999999/archive'), 'version');
      assertRefused(await kiln.request('PUT', '/api/models/m/aliases/staging', { body: { version: 2147483648 } }), 'version');
      const deployment = { routes: [{ version: 2147483648, weight: 1 }], shadow: 2147483648 };
      assertRefused(await kiln.request('PUT', '/api/models/m/deployment', { body: deployment }), /^routes\.0\.version$|^shadow$/);
      assertRefused(await kiln.request('GET', '/api/audit/predictions?model=m&version=2147483648'), 'version');
      assertRefused(await kiln.request('POST', '/api/models/m/predict?version=2147483648', { body: { records: [{ x: 1 }] } }), 'version');
      for (const path of [
        '/v1/models/m/versions/2147483648',
        '/v2/models/m/versions/2147483648',
        '/v2/models/m/versions/2147483648/ready',
      ]) {
        assert.equal((await kiln.request('GET', path)).status, 404, path);
      }
      const infer = { inputs: [{ name: 'x', datatype: 'FP32', shape: [1, 2], data: [1, 2] }] };
      assert.equal((await kiln.request('POST', '/v2/models/m/versions/2147483648/infer', { body: infer })).status, 404);
      assert.equal((await kiln.request('POST', '/v1/models/m/versions/2147483648:predict', { body: { instances: [[1, 2]] } })).status, 404);
      assert.equal((await kiln.request('GET', '/api/models/m/aliases/staging/history')).body.length ?? 0, 0);
    });

    it('refuses an import whose weightsManifest paths hold non-strings', async () => {
      const form = await importForm(SIGNATURE, (j) => (j.weightsManifest[0].paths = [1, { a: 'w.bin' }]));
      assertRefused(await raw(kiln, 'POST', '/api/models/m3/versions', form), 'model');
      assert.equal((await kiln.request('GET', '/api/models/m3')).status, 404);
    });

    it('refuses a huge import signature quickly, before allocating, without stalling the server', async () => {
      const hostile = {
        inputs: Array.from({ length: 64 }, (_, i) => ({ name: `x${i}`, dtype: 'float32', shape: [-1, 10, 1_000_000] })),
        outputs: SIGNATURE.outputs,
      };
      const form = await importForm(hostile);
      const rssBefore = process.memoryUsage().rss;
      const delay = monitorEventLoopDelay({ resolution: 10 });
      delay.enable();
      const probes: number[] = [];
      let importing = true;
      const probing = (async () => {
        while (importing) {
          const t0 = performance.now();
          assert.equal((await fetch(`${kiln.url}/health/live`)).status, 200);
          probes.push(performance.now() - t0);
          await new Promise((r) => setTimeout(r, 5));
        }
      })();
      const t0 = performance.now();
      const res = await raw(kiln, 'POST', '/api/models/big/versions', form);
      const ms = performance.now() - t0;
      importing = false;
      await probing;
      delay.disable();
      assertRefused(res, 'signature.inputs');
      assert.match(res.body.errors[0].reason, /KILN_IMPORT_MAX_ELEMENTS/);
      assert.ok(ms < 2_000, `refused after ${ms.toFixed(0)} ms`);
      const maxDelayMs = delay.max / 1e6;
      assert.ok(maxDelayMs < 100, `event loop stalled for ${maxDelayMs.toFixed(0)} ms`);
      assert.ok(probes.length > 0 && Math.max(...probes) < 100, `slowest /health/live ${Math.max(...probes).toFixed(0)} ms`);
      const grownMb = (process.memoryUsage().rss - rssBefore) / 2 ** 20;
      assert.ok(grownMb < 200, `process grew by ${grownMb.toFixed(0)} MB`);
      process.stdout.write(
        `hostile import: refused in ${ms.toFixed(0)} ms, max event-loop delay ${maxDelayMs.toFixed(1)} ms, ` +
          `${probes.length} health probes (max ${Math.max(...probes).toFixed(1)} ms), rss +${grownMb.toFixed(0)} MB\n`,
      );
      assert.equal((await kiln.request('GET', '/api/models/big')).status, 404);
    });
  });

  describe('slow clients are disconnected (KILN_HTTP_*_TIMEOUT_MS)', { skip }, () => {
    let kiln: TestKiln;
    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_HTTP_HEADERS_TIMEOUT_MS: '500', KILN_HTTP_REQUEST_TIMEOUT_MS: '1000' });
    });
    after(() => kiln?.close());

    /** Opens a connection, writes `head`, then dribbles one byte every 100 ms; resolves when the server hangs up. */
    function dribble(head: string): Promise<{ ms: number; answer: string }> {
      const { hostname, port } = new URL(kiln.url);
      return new Promise((resolve, reject) => {
        const socket = connect(Number(port), hostname);
        let answer = '';
        const started = performance.now();
        let timer: NodeJS.Timeout | undefined;
        const giveUp = setTimeout(() => {
          socket.destroy();
          reject(new Error(`still connected after 10 s (answer so far: ${answer.slice(0, 100)})`));
        }, 10_000);
        socket.on('connect', () => {
          socket.write(head);
          timer = setInterval(() => socket.write('a'), 100);
        });
        socket.on('data', (d) => (answer += d.toString()));
        socket.on('error', () => undefined);
        socket.on('close', () => {
          clearInterval(timer);
          clearTimeout(giveUp);
          resolve({ ms: performance.now() - started, answer });
        });
      });
    }

    it('closes a connection whose body dribbles in past the request timeout', async () => {
      const head =
        `POST /api/datasets HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${kiln.adminKey}\r\n` +
        'content-type: application/json\r\ncontent-length: 100000\r\n\r\n';
      const { ms, answer } = await dribble(head);
      assert.ok(ms < 3_000, `disconnected after ${ms.toFixed(0)} ms`);
      assert.ok(answer === '' || /^HTTP\/1\.1 408/.test(answer), answer.slice(0, 100));
    });

    it('closes a connection whose headers dribble in past the headers timeout', async () => {
      const { ms } = await dribble('GET /health/live HTTP/1.1\r\nx-slow: ');
      assert.ok(ms < 2_500, `disconnected after ${ms.toFixed(0)} ms`);
    });
  });
})();
