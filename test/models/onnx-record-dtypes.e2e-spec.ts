/**
 * The record API (named features in, labels out) on imported ONNX graphs whose input is int64 or
 * float64: the features are cast to the input's element type, integers exactly within ±(2^53 − 1);
 * a fraction or a value past that range for an int64 input is a 400 naming the record and feature,
 * never a rounded answer.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { float64DifferenceGraph, int64ParityGraph, oneNodeGraph, ONNX_TYPES } from '../support/onnx/onnx-fixtures';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';
import { assertRefused, importOnnx } from './onnx-import-helpers';

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('record API on ONNX graphs with int64 and float64 inputs', { skip }, () => {
    let kiln: TestKiln;
    const predict = (model: string, records: unknown[]) => kiln.request('POST', `/api/models/${model}/predict`, { body: { records } });

    before(async () => {
      kiln = await startTestKiln('postgres', { KILN_LOG_LEVEL: 'error' });
      const parity = await importOnnx(kiln, 'parity', int64ParityGraph(), {
        signature: { features: [{ name: 'a', type: 'integer' }, 'b'], task: 'binary', classes: ['even', 'odd'] },
      });
      assert.equal(parity.status, 201, parity.text);
      assert.deepEqual(parity.body.signature.inputs, [{ name: 'x', dtype: 'int64', shape: [-1, 2] }]);
      const diff = await importOnnx(kiln, 'difference', float64DifferenceGraph(), {
        signature: { features: ['a', 'b'], task: 'regression' },
      });
      assert.equal(diff.status, 201, diff.text);
      for (const m of ['parity', 'difference'])
        assert.equal((await kiln.request('PUT', `/api/models/${m}/aliases/production`, { body: { version: 1 } })).status, 200);
    });
    after(async () => {
      await kiln?.close();
    });

    it('int64: integers reach the graph exactly up to 2^53 − 1 (float32 would round 2^53 − 1 to an even 2^53)', async () => {
      const res = await predict('parity', [
        { a: Number.MAX_SAFE_INTEGER, b: 0 },
        { a: -Number.MAX_SAFE_INTEGER, b: 2 },
        { a: 2 ** 40 + 1, b: 2 ** 52 },
        { a: 16777217, b: null },
        { a: 4, b: 6 },
      ]);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.predictions.map((p: { label: string }) => p.label),
        ['odd', 'odd', 'odd', 'odd', 'even'],
      );
      assert.equal(res.body.predictions[0].probabilities.odd, 1);
    });

    it('int64: a value past ±(2^53 − 1) or a fraction is a 400 naming the record and the feature', async () => {
      assertRefused(
        await predict('parity', [
          { a: 1, b: 1 },
          { a: 2 ** 53, b: 0 },
        ]),
        'records.1.a',
        /beyond ±9007199254740991.*int64/,
      );
      assertRefused(await predict('parity', [{ a: 1, b: -1e300 }]), 'records.0.b', /beyond ±9007199254740991/);
      assertRefused(await predict('parity', [{ a: 1.5, b: 0 }]), 'records.0.a', /int64: expected an integer, got 1\.5/);
      // the model still answers afterwards
      assert.equal((await predict('parity', [{ a: 1, b: 0 }])).status, 200);
    });

    it('float64: the features keep every bit of a double (as float32 both would be 1 and the difference 0)', async () => {
      const res = await predict('difference', [
        { a: 1.0000000000000002, b: 1 },
        { a: 0.1, b: 0.3 },
      ]);
      assert.equal(res.status, 200, res.text);
      assert.deepEqual(
        res.body.predictions.map((p: { value: number }) => p.value),
        [1.0000000000000002 - 1, 0.1 - 0.3],
      );
    });

    it('a graph whose record input is neither numeric type is refused at import naming signature.features', async () => {
      const graph = oneNodeGraph({ inType: ONNX_TYPES.BOOL, outType: ONNX_TYPES.BOOL, inShape: ['n', 2], outShape: ['n', 2] });
      const res = await importOnnx(kiln, 'bool-in', graph, { signature: { features: ['a', 'b'], task: 'regression' } });
      assertRefused(
        res,
        'signature.features',
        /is bool \[-1, 2\]; named features need a \[-1, n\] input of float32, float64, int32, int64/,
      );
    });
  });
}

void main();
