import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NumericProfiler } from './profiler';
import { DistinctCounter, FineHistogram, NumberReservoir, mulberry32 } from './sketches';
import { parseNumber, parseTimestamp } from './values';
import { quantile } from '../../../test/support/ingestion/ingest-helpers';

describe('values', () => {
  it('parseNumber is strict and agrees with Number() on decimals', () => {
    for (const s of ['1', '-1.5', '+7', '.5', '5.', '1e5', '-2.5E-3', '0.30000000000000004', '123456789012345678'])
      assert.equal(parseNumber(s), Number(s), s);
    for (const s of ['', ' 1', '1 ', '0x10', 'Infinity', '1e999', 'abc', '1.2.3', '-', '.', '1,5'])
      assert.ok(Number.isNaN(parseNumber(s)), s);
    const rnd = mulberry32(7);
    for (let i = 0; i < 20000; i++) {
      const s = ((rnd() - 0.5) * 10 ** Math.floor(rnd() * 12)).toFixed(Math.floor(rnd() * 9));
      assert.equal(parseNumber(s), Number(s), s);
    }
  });

  it('parseTimestamp reads ISO 8601 (naive = UTC) like Date.parse', () => {
    for (const [s, iso] of [
      ['2012-01-01', '2012-01-01T00:00:00Z'],
      ['2000-02-29T23:59:59.5', '2000-02-29T23:59:59.500Z'],
      ['2020-03-01 10:00', '2020-03-01T10:00:00Z'],
      ['2020-03-01T10:00:00+02:00', '2020-03-01T08:00:00Z'],
      ['1969-12-31T23:59:59.999Z', '1969-12-31T23:59:59.999Z'],
    ]) {
      assert.equal(parseTimestamp(s!), Date.parse(iso!), s);
    }
    for (const s of ['2001-02-29', '2012-13-01', '2012-01-01T25:00', '20120101', '2012-01-01Tfoo', '1999'])
      assert.ok(Number.isNaN(parseTimestamp(s)), s);
  });
});

describe('sketches', () => {
  it('distinct counter is exact below 4096 and within 3 % above (HyperLogLog)', () => {
    const small = new DistinctCounter();
    for (let i = 0; i < 3000; i++) small.addNumber(i % 1234);
    assert.equal(small.estimate(), 1234);
    const big = new DistinctCounter();
    for (let i = 0; i < 200000; i++) big.addNumber(i * 0.5);
    assert.ok(Math.abs(big.estimate() - 200000) / 200000 < 0.03, String(big.estimate()));
    const strings = new DistinctCounter();
    for (let i = 0; i < 50000; i++) strings.addString(`k${i % 20000}`);
    assert.ok(Math.abs(strings.estimate() - 20000) / 20000 < 0.03, String(strings.estimate()));
  });

  it('reservoir is uniform-ish and deterministic for a seed', () => {
    const a = new NumberReservoir(1000, mulberry32(1));
    const b = new NumberReservoir(1000, mulberry32(1));
    for (let i = 0; i < 100000; i++) {
      a.add(i);
      b.add(i);
    }
    assert.deepEqual(a.toArray(), b.toArray());
    const m = a.toArray().reduce((x, y) => x + y, 0) / 1000;
    assert.ok(Math.abs(m - 50000) < 4000, String(m)); // mean of a uniform sample of 0..99999
  });

  it('histogram keeps exact counts while its range grows in both directions', () => {
    const h = new FineHistogram(64);
    const all: number[] = [];
    const rnd = mulberry32(3);
    for (const scale of [1, 10, 1000]) {
      const v = new Float64Array(500);
      for (let i = 0; i < 500; i++) v[i] = (rnd() - 0.5) * scale;
      all.push(...v);
      h.addBatch(v, new Uint8Array(500).fill(1), 500, Math.min(...v), Math.max(...v), false);
    }
    const { edges, counts } = h.finish(Math.min(...all), Math.max(...all), 10);
    assert.equal(
      counts.reduce((a, b) => a + b, 0),
      1500,
    );
    const direct = counts.map((_, i) => all.filter((x) => x >= edges[i]! && x < edges[i + 1]!).length);
    assert.deepEqual(counts, direct);
  });

  it('numeric profile over many batches: exact moments, quantiles within 1 % of rank', () => {
    const p = new NumericProfiler('x', 42);
    const rnd = mulberry32(9);
    const all: number[] = [];
    for (let b = 0; b < 10; b++) {
      const v = new Float64Array(10000);
      for (let i = 0; i < v.length; i++) v[i] = -Math.log(rnd()) * 10; // exponential
      all.push(...v);
      p.addBatch(v, new Uint8Array(v.length).fill(1), v.length, false);
    }
    const prof = p.finish();
    const m = all.reduce((a, b) => a + b, 0) / all.length;
    assert.ok(Math.abs(prof.mean! - m) < 1e-9 * m);
    const sorted = [...all].sort((a, b) => a - b);
    for (const [k, q] of [
      ['p5', 0.05],
      ['p50', 0.5],
      ['p95', 0.95],
    ] as const) {
      const lo = quantile(sorted, q - 0.01);
      const hi = quantile(sorted, q + 0.01);
      assert.ok(prof.quantiles[k]! >= lo && prof.quantiles[k]! <= hi, `${k} ${prof.quantiles[k]} not in [${lo}, ${hi}]`);
    }
    assert.equal(
      prof.histogram.counts.reduce((a, b) => a + b, 0),
      100000,
    );
  });
});
