/** Importing an ONNX graph through the registry API (a `model` part, optionally a `signature`), and reading refusals. */
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
  const res = await fetch(`${kiln.url}/api/models/${name}/versions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${kiln.adminKey}` },
    body: form,
  });
  const text = await res.text();
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: res.status, headers: res.headers, body, text };
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
