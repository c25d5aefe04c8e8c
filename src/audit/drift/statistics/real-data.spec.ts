/**
 * Drift detection on real public tables nobody on the team wrote, from the `vega-datasets`
 * package (BSD-3-Clause): Palmer penguins (344 rows → KS / chi-square regime) and the movies
 * table (3201 rows → Wasserstein / Jensen–Shannon regime). A shifted window (one numeric feature
 * + 1 reference std, one categorical's mix changed, independently of the other columns) must be
 * flagged on exactly those features; an unshifted resample must not be flagged at all.
 * (Unshifted 300-row penguin windows false-alarm on ~0.14% of features: 5 of 3500 measured.)
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NumericColumnProfile } from '../../../contracts/dataset-profile';
import { compareToReference } from './compare';
import { bootstrap, buildProfile, drawCategory, type Row, seededRandom, toColumns } from '../../../../test/support/profile-builder';

function loadTable(name: string): Row[] {
  const path = join(process.cwd(), 'node_modules', 'vega-datasets', 'data', name);
  return JSON.parse(readFileSync(path, 'utf8')) as Row[];
}

interface Scenario {
  file: string;
  features: string[];
  numeric: string;
  categorical: string;
  newMix: Record<string, number>;
  windowSize: number;
  method: 'statistical' | 'distance';
  tests: [string, string];
}

const scenarios: Scenario[] = [
  {
    file: 'penguins.json',
    features: ['Species', 'Island', 'Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)', 'Sex'],
    numeric: 'Body Mass (g)',
    categorical: 'Island',
    // reference mix: Biscoe 49%, Dream 36%, Torgersen 15%
    newMix: { Biscoe: 0.2, Dream: 0.3, Torgersen: 0.5 },
    windowSize: 300,
    method: 'statistical',
    tests: ['ks', 'chi_square'],
  },
  {
    file: 'movies.json',
    features: ['IMDB Rating', 'Production Budget', 'US Gross', 'Worldwide Gross', 'MPAA Rating', 'Major Genre', 'Creative Type'],
    numeric: 'IMDB Rating',
    categorical: 'MPAA Rating',
    // reference mix (non-null): R 46%, PG-13 33%, PG 14%, Not Rated 4%, G 3%, NC-17/Open < 1%
    newMix: { R: 0.2, 'PG-13': 0.2, PG: 0.35, G: 0.15, 'Not Rated': 0.1 },
    // The distance rule is not a significance test: against a 1000-value reference reservoir, a
    // 0.1 threshold on W/std false-alarms on ~1% of features for 1000-row windows, ~0.3% for 2000
    // and ~0.1% for 3000 (measured over 500 unshifted resamples of this table), hence 3000 here.
    windowSize: 3000,
    method: 'distance',
    tests: ['wasserstein_normalized', 'jensen_shannon'],
  },
];

for (const s of scenarios) {
  describe(`drift on ${s.file}`, () => {
    const rows = loadTable(s.file);
    const reference = buildProfile(rows, s.features, { seed: 7 });
    const std = (reference.columns[s.numeric] as NumericColumnProfile).std!;

    function shiftedWindow(seed: number) {
      const rand = seededRandom(seed);
      return bootstrap(rows, s.windowSize, rand).map((r) => {
        const out = { ...r };
        const v = out[s.numeric];
        if (typeof v === 'number') out[s.numeric] = v + std;
        if (out[s.categorical] != null) out[s.categorical] = drawCategory(s.newMix, rand);
        return out;
      });
    }

    it(`uses the ${s.method} tests for a ${rows.length}-row reference`, () => {
      const report = compareToReference(reference, { columns: toColumns(bootstrap(rows, 50, seededRandom(1)), s.features) });
      assert.equal(report.method, s.method);
      assert.equal(report.features.length, s.features.length);
      assert.equal(report.features.find((f) => f.feature === s.numeric)!.test, s.tests[0]);
      assert.equal(report.features.find((f) => f.feature === s.categorical)!.test, s.tests[1]);
    });

    it(`flags exactly ${s.numeric} (+1 std) and ${s.categorical} (new mix)`, () => {
      for (const seed of [11, 12, 13]) {
        const report = compareToReference(reference, { columns: toColumns(shiftedWindow(seed), s.features) });
        const drifted = report.features
          .filter((f) => f.drifted)
          .map((f) => f.feature)
          .sort();
        assert.deepEqual(drifted, [s.categorical, s.numeric].sort(), `seed ${seed}: ${JSON.stringify(report.features)}`);
        assert.equal(report.driftedShare, 2 / s.features.length);
        assert.equal(report.datasetDrift, false); // 2 of 7 < 50%
        for (const name of [s.numeric, s.categorical]) {
          const f = report.features.find((x) => x.feature === name)!;
          assert.ok(f.psi! >= 0.1, `${name} PSI ${f.psi}`);
        }
      }
    });

    it('does not flag unshifted resamples', () => {
      for (const seed of [21, 22, 23, 24, 25]) {
        const report = compareToReference(reference, { columns: toColumns(bootstrap(rows, s.windowSize, seededRandom(seed)), s.features) });
        const drifted = report.features.filter((f) => f.drifted).map((f) => `${f.feature} ${f.test}=${f.score} p=${f.pValue}`);
        assert.deepEqual(drifted, [], `seed ${seed}`);
        assert.equal(report.datasetDrift, false);
        assert.equal(report.driftedShare, 0);
      }
    });
  });
}
