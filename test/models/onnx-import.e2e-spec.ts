/**
 * ONNX import end to end on the machine's PostgreSQL: a model exported by PyTorch's own exporter
 * (test/support/onnx/make-torch-fixture.py) imports with only its `.onnx` file, is served by ONNX
 * Runtime and answers /v2 and /v1 with PyTorch's own numbers; with a `signature` naming its features
 * and classes the record API answers with labels. Bad and unsupported graphs are 400 naming the
 * problem, and nothing is stored.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import {
  externalDataGraph,
  linearSoftmaxGraph,
  oneNodeGraph,
  ONNX_TYPES,
  torchIrisMlp,
  type TorchExpected,
} from '../support/onnx/onnx-fixtures';
import { penguinsRows } from '../ingestion/ingestion-helpers';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { chainedAuditRecord } from '../utils/audit-lookup';
import { assertRefused, importOnnx } from './onnx-import-helpers';

function assertClose(actual: number[], expected: number[], tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: element count`);
  actual.forEach((v, i) =>
    assert.ok(Math.abs(v - expected[i]!) <= tol, `${what}[${i}]: ${v} vs PyTorch ${expected[i]} (tolerance ${tol})`),
  );
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('ONNX import and serving on ONNX Runtime on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let graph: Buffer;
    let expected: TorchExpected;

    before(async () => {
      kiln = await startTestKiln('postgres');
      ({ bytes: graph, expected } = torchIrisMlp());
    });
    after(async () => {
      await kiln?.close();
    });

    it('imports a PyTorch export with only its .onnx file: tensors read from the graph, dynamic axes as -1', async () => {
      const res = await importOnnx(kiln, 'torch-iris', graph);
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.version, 1);
      assert.equal(res.body.source, 'imported');
      assert.equal(res.body.format, 'onnx');
      assert.deepEqual(res.body.signature.inputs, [{ name: 'features', dtype: 'float32', shape: [-1, 4] }]);
      assert.deepEqual(res.body.signature.outputs, [{ name: 'probabilities', dtype: 'float32', shape: [-1, 3] }]);
      assert.match(res.body.lineage.imported.producer, /^pytorch /);
      assert.equal(res.body.lineage.imported.opset, 13);
      assert.equal(res.body.lineage.engine.engine, 'onnxruntime');
      assert.equal((await kiln.request('PUT', '/api/models/torch-iris/aliases/production', { body: { version: 1 } })).status, 200);
    });

    it('answers /v2 infer with PyTorch’s own numbers (within 1e-5), platform onnxruntime_onnx, audited once', async () => {
      const meta = await kiln.request('GET', '/v2/models/torch-iris');
      assert.equal(meta.status, 200, meta.text);
      assert.equal(meta.body.platform, 'onnxruntime_onnx');
      assert.deepEqual(meta.body.inputs, [{ name: 'features', datatype: 'FP32', shape: [-1, 4] }]);
      const rows = expected.inputs;
      const res = await kiln.request('POST', '/v2/models/torch-iris/infer', {
        body: { id: 'torch-parity', inputs: [{ name: 'features', datatype: 'FP32', shape: [rows.length, 4], data: rows.flat() }] },
      });
      assert.equal(res.status, 200, res.text);
      assert.equal(res.body.id, 'torch-parity');
      assert.deepEqual(res.body.outputs[0].shape, [rows.length, 3]);
      assertClose(res.body.outputs[0].data, expected.probabilities.flat(), 1e-5, '/v2 probabilities');
      const requestId = res.headers.get('x-request-id')!;
      // The record is durable before the answer; the listing below holds it once the chainer has moved it into the log.
      const record = await chainedAuditRecord(kiln, requestId);
      assert.equal(record.model, 'torch-iris');
      assert.equal(record.rows, rows.length);
      const listed = await kiln.request('GET', '/api/audit/predictions?clientRequestId=torch-parity');
      assert.equal(listed.status, 200, listed.text);
      assert.equal((listed.body.items ?? listed.body).length, 1);
    });

    it('answers /v1 predict with the same numbers, one row per instance', async () => {
      const res = await kiln.request('POST', '/v1/models/torch-iris:predict', { body: { instances: expected.inputs } });
      assert.equal(res.status, 200, res.text);
      assertClose((res.body.predictions as number[][]).flat(), expected.probabilities.flat(), 1e-5, '/v1 predictions');
    });

    it('batches concurrent /v2 calls on ONNX Runtime without mixing rows', async () => {
      const answers = await Promise.all(
        expected.inputs.map((row) =>
          kiln.request('POST', '/v2/models/torch-iris/infer', {
            body: { inputs: [{ name: 'features', datatype: 'FP32', shape: [1, 4], data: row }] },
          }),
        ),
      );
      answers.forEach((res, i) => {
        assert.equal(res.status, 200, res.text);
        assertClose(res.body.outputs[0].data, expected.probabilities[i]!, 1e-5, `row ${i}`);
      });
    });

    it('without a signature the record API says the version has no named features (400)', async () => {
      const res = await kiln.request('POST', '/api/models/torch-iris/predict', { body: { records: [{ a: 1 }] } });
      assert.equal(res.status, 400, res.text);
      assert.match(res.text, /no named features/);
    });

    it('with a signature naming features and classes, the record API answers with PyTorch’s labels', async () => {
      const res = await importOnnx(kiln, 'torch-iris', graph, { signature: expected.signature });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.version, 2);
      assert.equal(res.body.task, 'multiclass');
      assert.deepEqual(
        res.body.signature.features.map((f: { name: string }) => f.name),
        expected.signature.features.map((f) => f.name),
      );
      const names = expected.signature.features.map((f) => f.name);
      const records = expected.inputs.map((row) => Object.fromEntries(names.map((n, j) => [n, row[j]])));
      const pred = await kiln.request('POST', '/api/models/torch-iris/predict?version=2', { body: { records } });
      assert.equal(pred.status, 200, pred.text);
      assert.deepEqual(
        pred.body.predictions.map((p: { label: string }) => p.label),
        expected.labels,
      );
      pred.body.predictions.forEach((p: { probabilities: Record<string, number>; score: number }, i: number) => {
        assertClose(
          expected.signature.classes.map((c) => p.probabilities[c]!),
          expected.probabilities[i]!,
          1e-5,
          `record ${i} probabilities`,
        );
      });
      const missing = await kiln.request('POST', '/api/models/torch-iris/predict?version=2', {
        body: { records: [{ ...records[0], petal_width: 'wide' }] },
      });
      assertRefused(missing, 'records.0.petal_width', /number/);
    });

    it('takes a categorical feature as one-hot columns (one per category, then one for other values)', async () => {
      // penguins (vega-datasets): Island one-hot [Biscoe, Dream, Torgersen, other] then Flipper Length / 100
      const islands = ['Biscoe', 'Dream', 'Torgersen'];
      const w = [
        [1.5, -0.5, 0.1],
        [-0.2, 1.1, 0.3],
        [0.4, 0.2, -1.3],
        [-2, 2, 0.5],
        [0.8, -0.6, 1.2],
      ];
      const b = [0.1, -0.2, 0.05];
      const signature = {
        features: [
          { name: 'Island', type: 'categorical', categories: islands },
          { name: 'flipper', type: 'number' },
        ],
        task: 'multiclass',
        classes: ['Adelie', 'Chinstrap', 'Gentoo'],
        target: 'Species',
      };
      const res = await importOnnx(kiln, 'penguins-onehot', linearSoftmaxGraph(w, b), { signature });
      assert.equal(res.status, 201, res.text);
      assert.deepEqual(res.body.signature.features, [
        { name: 'Island', type: 'categorical' },
        { name: 'flipper', type: 'number' },
      ]);
      assert.deepEqual(res.body.preprocessing.outputNames, [
        'Island=Biscoe',
        'Island=Dream',
        'Island=Torgersen',
        'Island=__oov__',
        'flipper',
      ]);
      const rows = penguinsRows().filter((_, i) => i % 17 === 0);
      const records = [
        ...rows.map((r) => ({
          Island: r.Island,
          flipper: (r['Flipper Length (mm)'] as number | null) === null ? null : (r['Flipper Length (mm)'] as number) / 100,
        })),
        { Island: 'Atlantis', flipper: 2 }, // not a category: the "other" column
        { Island: null, flipper: 1.9 },
      ];
      const pred = await kiln.request('POST', '/api/models/penguins-onehot/predict?version=1', { body: { records } });
      assert.equal(pred.status, 200, pred.text);
      records.forEach((rec, i) => {
        // the encoding computed here, independently of Kiln: one-hot with an "other" slot, null → 0
        const x = [...islands.map((c) => (rec.Island === c ? 1 : 0)), islands.includes(rec.Island as string) ? 0 : 1, rec.flipper ?? 0];
        const logits = signature.classes.map((_, k) => x.reduce((s, v, j) => s + v * w[j]![k]!, b[k]!));
        const e = logits.map((l) => Math.exp(l - Math.max(...logits)));
        const p = e.map((v) => v / e.reduce((a, c) => a + c, 0));
        assertClose(
          signature.classes.map((c) => pred.body.predictions[i].probabilities[c]),
          p,
          1e-5,
          `record ${i} (${JSON.stringify(rec)})`,
        );
      });
      const wrongType = await kiln.request('POST', '/api/models/penguins-onehot/predict?version=1', {
        body: { records: [{ Island: 3, flipper: 1 }] },
      });
      assertRefused(wrongType, 'records.0.Island', /string/);
      // the graph has 5 columns; 4 categories would take 6
      const tooWide = await importOnnx(kiln, 'penguins-onehot', linearSoftmaxGraph(w, b), {
        signature: { ...signature, features: [{ name: 'Island', type: 'categorical', categories: [...islands, 'Atlantis'] }, 'flipper'] },
      });
      assertRefused(tooWide, 'signature.features', /taking 6 column\(s\) \(a categorical feature takes one per category/);
      const noCategories = await importOnnx(kiln, 'penguins-onehot', linearSoftmaxGraph(w, b), {
        signature: { ...signature, features: [{ name: 'Island', type: 'categorical' }, 'flipper'] },
      });
      assertRefused(noCategories, 'signature.features.0.categories', /needs 1–1000 categories/);
    });

    it('refuses explanations on ONNX Runtime with a 400 naming explain', async () => {
      const names = expected.signature.features.map((f) => f.name);
      const res = await kiln.request('POST', '/api/models/torch-iris/predict?version=2&explain=true', {
        body: { records: [Object.fromEntries(names.map((n) => [n, 1]))] },
      });
      assertRefused(res, 'explain', /ONNX Runtime/);
    });

    it('a rank-1 graph input (shown as [-1], which takes any rank) given a rank-2 tensor is a 400 naming it, not a 500', async () => {
      // KServe's test_inference_client.py test_infer[v2] sends input-0 INT32 [2, 2] to its TestModel; a graph
      // whose input is [n] cannot take it, and ONNX Runtime's own feed check says so ("Invalid rank for input").
      const rank1 = oneNodeGraph({ inType: ONNX_TYPES.INT32, outType: ONNX_TYPES.INT32, inShape: ['n'], outShape: ['n'] });
      assert.equal((await importOnnx(kiln, 'rank-one', rank1)).status, 201);
      assert.equal((await kiln.request('PUT', '/api/models/rank-one/aliases/production', { body: { version: 1 } })).status, 200);
      const ok = await kiln.request('POST', '/v2/models/rank-one/infer', {
        body: { inputs: [{ name: 'x', datatype: 'INT32', shape: [4], data: [1, 2, 3, 4] }] },
      });
      assert.equal(ok.status, 200, ok.text);
      assert.deepEqual(ok.body.outputs[0].data, [1, 2, 3, 4]);
      const v2 = await kiln.request('POST', '/v2/models/rank-one/infer', {
        body: {
          id: '2ja0ls9j1309',
          inputs: [
            {
              name: 'x',
              datatype: 'INT32',
              shape: [2, 2],
              data: [
                [1, 2],
                [3, 4],
              ],
            },
          ],
        },
      });
      assert.equal(v2.status, 400, v2.text);
      assert.match(v2.body.error, /Invalid rank for input: x Got: 2 Expected: 1/);
      const v1 = await kiln.request('POST', '/v1/models/rank-one:predict', {
        body: {
          instances: [
            [1, 2],
            [3, 4],
          ],
        },
      });
      assert.equal(v1.status, 400, v1.text);
      assert.match(v1.body.error, /Invalid rank for input: x/);
    });

    it('refuses bad and unsupported graphs with 400 naming the problem, storing nothing', async () => {
      const cases: Array<[string, Buffer, { signature?: unknown; weights?: Buffer }, string, RegExp]> = [
        ['not protobuf', Buffer.from('\u0000garbage that is not a graph'), {}, 'model', /cannot load the graph/],
        ['unknown operator', oneNodeGraph({ op: 'NoSuchOp', inShape: ['n', 2], outShape: ['n', 2] }), {}, 'model', /cannot load/],
        [
          'uint8 input (Kiln serves float32, float16, float64, int32, int64, bool, string)',
          oneNodeGraph({ inType: ONNX_TYPES.UINT8, outType: ONNX_TYPES.UINT8, inShape: ['n', 2], outShape: ['n', 2] }),
          {},
          'model',
          /element type uint8/,
        ],
        [
          'fixed batch dimension',
          oneNodeGraph({ inShape: [1, 2], outShape: [1, 2] }),
          {},
          'model',
          /first \(batch\) dimension must be dynamic/,
        ],
        ['weights in an external file', externalDataGraph('package.json'), {}, 'model', /external file/],
        ['shards beside a graph', graph, { weights: Buffer.from([1, 2, 3]) }, 'weights', /holds its own weights/],
        ['signature not JSON', graph, { signature: '{' }, 'signature', /not valid JSON/],
        ['unknown signature key', graph, { signature: { ...expected.signature, inputs: [] } }, 'signature.inputs', /not a known key/],
        [
          'feature count ≠ input columns',
          graph,
          { signature: { ...expected.signature, features: ['a', 'b', 'c'] } },
          'signature.features',
          /names 3 feature\(s\).*4 columns/,
        ],
        [
          'class count ≠ output columns',
          graph,
          { signature: { ...expected.signature, classes: ['a', 'b'] } },
          'signature.task',
          /\[-1, 2\]/,
        ],
        [
          'binary on a 3-column output',
          graph,
          { signature: { ...expected.signature, task: 'binary', classes: ['a', 'b'] } },
          'signature.task',
          /one column/,
        ],
        ['unknown output', graph, { signature: { ...expected.signature, output: 'logits' } }, 'signature.output', /not an output/],
        [
          'string feature',
          graph,
          { signature: { ...expected.signature, features: [{ name: 'a', type: 'string' }, 'b', 'c', 'd'] } },
          'signature.features.0.type',
          /number/,
        ],
      ];
      for (const [what, bytes, extra, field, reason] of cases) {
        const res = await importOnnx(kiln, 'bad-onnx', bytes, extra);
        assert.equal(res.status, 400, `${what}: ${res.text}`);
        assertRefused(res, field, reason);
      }
      assert.equal((await kiln.request('GET', '/api/models/bad-onnx')).status, 404, 'a refused import registers nothing');
      const versions = await kiln.request('GET', '/api/models/torch-iris/versions');
      assert.equal(versions.body.length, 2, 'refusals left the imported model alone');
    });
  });
}

void main();
