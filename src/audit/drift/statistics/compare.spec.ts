import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { compareToReference, DEFAULT_DRIFT_RULES } from './compare';
import { OTHER_CATEGORY } from './histogram';
import { buildProfile, seededRandom } from '../../../../test/support/profile-builder';

/** Synthetic table: x ~ U(0, 10), c ∈ {a: 50%, b: 30%, c: 20%}. */
function table(n: number, seed: number, shiftX = 0, mix: [number, number, number] = [0.5, 0.3, 0.2]) {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const u = rand();
    return { x: rand() * 10 + shiftX, c: u < mix[0] ? 'a' : u < mix[0] + mix[1] ? 'b' : 'c' };
  });
}
const cols = (rows: Array<{ x: number; c: string }>) => ({ columns: { x: rows.map((r) => r.x), c: rows.map((r) => r.c) } });

describe('compareToReference', () => {
  it('small reference → KS / chi-square with p < 0.05, threshold stored beside each score', () => {
    const ref = buildProfile(table(500, 1), ['x', 'c']);
    const report = compareToReference(ref, cols(table(400, 2, 3, [0.2, 0.3, 0.5])));
    assert.equal(report.method, 'statistical');
    const x = report.features.find((f) => f.feature === 'x')!;
    const c = report.features.find((f) => f.feature === 'c')!;
    assert.equal(x.test, 'ks');
    assert.equal(x.threshold, 0.05);
    assert.equal(x.thresholdRule, 'p_value_below');
    assert.ok(x.pValue! < 1e-10 && x.drifted);
    assert.equal(c.test, 'chi_square');
    assert.equal(c.dof, 2);
    assert.ok(c.pValue! < 1e-10 && c.drifted);
    assert.equal(report.driftedShare, 1);
    assert.equal(report.datasetDrift, true);
    assert.deepEqual(report.rules, DEFAULT_DRIFT_RULES);
    for (const f of report.features) {
      assert.equal(f.psiThreshold, 0.1);
      assert.equal(f.psiMajorThreshold, 0.25);
      assert.equal(f.psiLevel, 'major');
    }
  });

  it('large reference (> 1000 rows) → Wasserstein/std and Jensen–Shannon with drift at ≥ 0.1', () => {
    const ref = buildProfile(table(5000, 3), ['x', 'c']);
    const same = compareToReference(ref, cols(table(2000, 4)));
    assert.equal(same.method, 'distance');
    assert.deepEqual(
      same.features.map((f) => [f.feature, f.test, f.threshold, f.thresholdRule, f.drifted]),
      [
        ['x', 'wasserstein_normalized', 0.1, 'score_at_least', false],
        ['c', 'jensen_shannon', 0.1, 'score_at_least', false],
      ],
    );
    assert.ok(same.features.every((f) => f.pValue === undefined && f.psiLevel === 'none'));
    assert.equal(same.datasetDrift, false);

    // x shifted by 1 reference std → W/std ≈ 1
    const std = (ref.columns.x as { std: number }).std;
    const shifted = compareToReference(ref, cols(table(2000, 4, std)));
    const x = shifted.features.find((f) => f.feature === 'x')!;
    assert.ok(x.drifted && Math.abs(x.score - 1) < 0.1, `score ${x.score}`);
    assert.equal(shifted.features.find((f) => f.feature === 'c')!.drifted, false);
    // 1 of 2 features = 50% → dataset drift (≥ 50%)
    assert.equal(shifted.driftedShare, 0.5);
    assert.equal(shifted.datasetDrift, true);
    assert.equal(compareToReference(ref, cols(table(2000, 4, std)), { rules: { datasetDriftShare: 0.6 } }).datasetDrift, false);
  });

  it('method and rules can be overridden', () => {
    const ref = buildProfile(table(500, 1), ['x', 'c']);
    const r = compareToReference(ref, cols(table(300, 5)), { method: 'distance', rules: { distanceThreshold: 0.5 } });
    assert.equal(r.method, 'distance');
    assert.ok(r.features.every((f) => f.threshold === 0.5));
    assert.equal(r.rules.distanceThreshold, 0.5);
    assert.equal(r.rules.pValueThreshold, 0.05);
  });

  it('skips what it cannot test and counts missing values', () => {
    const ref = buildProfile(table(200, 1), ['x', 'c']);
    ref.columns.t = { kind: 'timestamp', count: 1, missing: 0, distinct: 1, min: null, max: null };
    const r = compareToReference(ref, { columns: { x: [null, 'NA', 1, 2, 3], c: [null, null] } }, { features: ['x', 'c', 't', 'nope'] });
    assert.deepEqual(
      r.features.map((f) => [f.feature, f.currentCount, f.currentMissing]),
      [['x', 3, 2]],
    );
    assert.deepEqual(
      r.skipped.map((s) => s.feature),
      ['c', 't', 'nope'],
    );
    const none = compareToReference(ref, { columns: {} });
    assert.equal(none.featureCount, 0);
    assert.equal(none.driftedShare, 0);
    assert.equal(none.datasetDrift, false);
  });

  it('unseen categories go to the other bucket and drive the score', () => {
    const ref = buildProfile(table(500, 1), ['c']);
    const r = compareToReference(ref, { columns: { c: Array.from({ length: 200 }, (_, i) => (i % 2 ? 'a' : 'new')) } });
    const c = r.features[0];
    assert.equal(c.test, 'chi_square');
    assert.equal(c.dof, 3); // a, b, c, OTHER
    assert.ok(c.drifted);
    assert.ok(c.psi! > 1);
    assert.ok(OTHER_CATEGORY.length > 0);
  });

  it('numeric PSI counts out-of-range current values in the edge bins', () => {
    const ref = buildProfile(table(500, 1), ['x']);
    const r = compareToReference(ref, { columns: { x: Array.from({ length: 100 }, () => 1e6) } });
    assert.equal(r.features[0].psiLevel, 'major');
    assert.ok(Number.isFinite(r.features[0].psi!));
  });
});
