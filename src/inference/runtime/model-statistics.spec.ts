import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ModelStatistics } from './model-statistics';

describe('ModelStatistics', () => {
  it("accumulates per version in Triton's $model_stat shape, batch stats sorted by size", () => {
    const s = new ModelStatistics();
    s.queued('m', 1, 1500);
    s.queued('m', 1, 500);
    s.executed('m', 1, 4, { inputNs: 10, inferNs: 100, outputNs: 20 });
    s.executed('m', 1, 1, { inputNs: 1, inferNs: 10, outputNs: 2 });
    s.request('m', 1, true, 2000.4);
    s.request('m', 1, false, 300);
    s.request('other', 3, true, 1);
    const st = s.stat('m', 1);
    assert.equal(st.inference_count, 5);
    assert.equal(st.execution_count, 2);
    assert.deepEqual(st.inference_stats.success, { count: 1, ns: 2000 });
    assert.deepEqual(st.inference_stats.fail, { count: 1, ns: 300 });
    assert.deepEqual(st.inference_stats.queue, { count: 2, ns: 2000 });
    assert.deepEqual(st.inference_stats.compute_infer, { count: 2, ns: 110 });
    assert.deepEqual(
      st.batch_stats.map((b) => [b.batch_size, b.compute_input.ns, b.compute_output.count]),
      [
        [1, 1, 1],
        [4, 10, 1],
      ],
    );
    assert.ok(st.last_inference > 0);
    assert.deepEqual(s.versions('m'), [['m', 1]]);
    assert.deepEqual(s.versions().length, 2);
    assert.deepEqual(s.stat('m', 9).inference_stats.success, { count: 0, ns: 0 });
  });
});
