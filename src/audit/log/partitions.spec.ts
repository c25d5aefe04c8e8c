import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parsePartitionName, partitionFor } from './partitions';

describe('daily partitions', () => {
  it('names and bounds the UTC day of a time', () => {
    const p = partitionFor(new Date('2025-03-09T23:59:59.999Z'));
    assert.equal(p.name, 'audit_predictions_p20250309');
    assert.equal(p.from.toISOString(), '2025-03-09T00:00:00.000Z');
    assert.equal(p.to.toISOString(), '2025-03-10T00:00:00.000Z');
    assert.equal(partitionFor(new Date('2025-03-10T00:00:00.000Z')).name, 'audit_predictions_p20250310');
  });

  it('parses its own names back and ignores anything else', () => {
    assert.deepEqual(parsePartitionName('audit_predictions_p20241231'), partitionFor(new Date('2024-12-31T12:00:00Z')));
    for (const other of ['audit_predictions_p20241332', 'audit_predictions_default', 'audit_predictions_p2024123', 'x_p20241231']) {
      assert.equal(parsePartitionName(other), null, other);
    }
  });
});
