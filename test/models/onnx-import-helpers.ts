/**
 * Importing a model file through the registry API (a `model` part, optionally a `signature` and a
 * `weights` shard): an ONNX graph, or with `fileName: 'model.json'` a TF.js model; and reading refusals.
 */
import assert from 'node:assert/strict';
import type { TestKiln, TestResponse } from '../utils/test-kiln';

export async function importOnnx(
  kiln: TestKiln,
  name: string,
  graph: Buffer,
  extra: { signature?: unknown; fileName?: string; weights?: Buffer } = {},
): Promise<TestResponse> {
  const form = new FormData();
  form.append('model', new Blob([graph]), extra.fileName ?? 'model.onnx');
  if (extra.signature !== undefined)
    form.append('signature', typeof extra.signature === 'string' ? extra.signature : JSON.stringify(extra.signature));
  if (extra.weights) form.append('weights', new Blob([extra.weights]), 'w.bin');
  return kiln.request('POST', `/api/models/${name}/versions`, { body: form });
}

/** A 400 whose problem+json names `field` with a reason matching `reason`. */
export function assertRefused(res: TestResponse, field: string, reason: RegExp): void {
  assert.equal(res.status, 400, res.text);
  const errors = (res.body?.errors ?? []) as Array<{ field: string; reason: string }>;
  assert.ok(
    errors.some((e) => e.field === field && reason.test(e.reason)),
    `expected an error on '${field}' matching ${reason}: ${res.text}`,
  );
}
