import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ValidationProblemException } from '../../platform/http/validation';
import { parseTimeWindow } from './time-window';

const NOW = new Date('2025-06-01T12:00:00.000Z');

function fieldOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ValidationProblemException, String(e));
    return e.errors[0]!.field;
  }
  assert.fail('expected a 400');
}

describe('parseTimeWindow', () => {
  it('defaults to the last hour', () => {
    const w = parseTimeWindow({}, NOW);
    assert.equal(w.to.toISOString(), NOW.toISOString());
    assert.equal(w.from.toISOString(), '2025-06-01T11:00:00.000Z');
    assert.equal(w.seconds, 3600);
  });

  it('reads 15m, 1h, 24h and 2d', () => {
    assert.equal(parseTimeWindow({ window: '15m' }, NOW).seconds, 900);
    assert.equal(parseTimeWindow({ window: '24h' }, NOW).from.toISOString(), '2025-05-31T12:00:00.000Z');
    assert.equal(parseTimeWindow({ window: '2d' }, NOW).seconds, 172_800);
  });

  it('reads from/to, and to defaults to now', () => {
    const w = parseTimeWindow({ from: '2025-06-01T10:00:00Z', to: '2025-06-01T10:30:00Z' }, NOW);
    assert.equal(w.seconds, 1800);
    assert.equal(parseTimeWindow({ from: '2025-06-01T11:59:00Z' }, NOW).seconds, 60);
  });

  it('names the field of a bad window', () => {
    assert.equal(
      fieldOf(() => parseTimeWindow({ window: '1w' }, NOW)),
      'window',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ window: '0m' }, NOW)),
      'window',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ window: '40d' }, NOW)),
      'window',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ window: '1h', from: '2025-06-01T10:00:00Z' }, NOW)),
      'window',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ to: '2025-06-01T10:00:00Z' }, NOW)),
      'from',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ from: 'yesterday' }, NOW)),
      'from',
    );
    assert.equal(
      fieldOf(() => parseTimeWindow({ from: '2025-06-01T10:00:00Z', to: '2025-06-01T09:00:00Z' }, NOW)),
      'to',
    );
  });
});
