/**
 * Hostile-input walk (issue 10, "bad input never gives 5xx"): every operation in /docs-json gets a
 * family of hostile path/query parameters and a family of hostile bodies, generated with fast-check
 * from a fixed, printed seed (KILN_HOSTILE_SEED overrides it to reproduce another run). Every answer
 * must be below 500, and /health/live must answer 200 quickly after each family.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import * as tfl from '@tensorflow/tfjs-layers';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { importLayersModel } from '../models/model-import-helpers';
import { skipUnless, startTestKiln, TestKiln } from '../utils/test-kiln';

const SEED = Number(process.env.KILN_HOSTILE_SEED ?? 20261004);
const SAMPLES = 16;

type Schema = Record<string, any>;
interface Operation {
  method: string;
  path: string;
  parameters: Schema[];
  body?: { type: string; schema: Schema };
}

/** encodeURIComponent that also carries lone surrogates (as their raw CESU bytes) instead of throwing. */
function encodeSegment(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.charCodeAt(0);
    if (ch.length === 1 && code >= 0xd800 && code <= 0xdfff)
      out += `%ED%${(0xa0 | ((code >> 6) & 0x1f)).toString(16)}%${(0x80 | (code & 0x3f)).toString(16)}`;
    else out += encodeURIComponent(ch);
  }
  return out;
}

const hostileScalar: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    '2147483648',
    '-2147483649',
    '9223372036854775808',
    '99999999999999999999999',
    '-1',
    '0',
    '1e400',
    '1.5',
    'NaN',
    'Infinity',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x\udfffy',
    '../',
    '../../etc/passwd',
    '..%2F..',
    '%00',
    ' ',
    '',
    'null',
    'true',
    '[]',
    '{}',
    "'; DROP TABLE x; --",
    'a'.repeat(5000),
  ),
  fc.integer().map(String),
  fc.bigInt({ min: 2n ** 31n, max: 2n ** 70n }).map(String),
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
);

const hostileValue: fc.Arbitrary<unknown> = fc.oneof(
  fc.constantFrom(
    null,
    true,
    false,
    0,
    -1,
    2 ** 31,
    -(2 ** 31) - 1,
    2 ** 53 + 2,
    1e308,
    -1e308,
    1.5,
    '',
    '\u0000',
    'a\u0000b',
    '\ud800',
    'x'.repeat(100_000),
    [],
    {},
    [null],
    [{}],
    { a: 1 },
    ['\u0000'],
    [[[[[]]]]],
  ),
  fc.string({ unit: 'binary', maxLength: 30 }),
  fc.integer(),
  fc.double(),
  fc.array(fc.anything({ maxDepth: 2 }), { maxLength: 4 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.anything({ maxDepth: 1 }), { maxKeys: 3 }),
);

function resolve(doc: Schema, schema: Schema | undefined, depth = 0): Schema {
  if (!schema || depth > 6) return {};
  if (schema.$ref)
    return resolve(
      doc,
      schema.$ref
        .split('/')
        .slice(1)
        .reduce((o: any, k: string) => o?.[k], doc),
      depth + 1,
    );
  if (schema.oneOf ?? schema.anyOf) return resolve(doc, (schema.oneOf ?? schema.anyOf)[0], depth + 1);
  if (schema.allOf) return Object.assign({}, ...schema.allOf.map((s: Schema) => resolve(doc, s, depth + 1)));
  return schema;
}

/** A plausible value for a schema, so single-field mutations reach the deeper checks. */
function plausible(doc: Schema, raw: Schema | undefined, depth = 0): unknown {
  const schema = resolve(doc, raw);
  if (schema.example !== undefined) return schema.example;
  if (schema.enum) return schema.enum[0];
  switch (schema.type) {
    case 'integer':
    case 'number':
      return schema.minimum ?? 1;
    case 'boolean':
      return true;
    case 'string':
      return schema.format === 'uuid' ? '00000000-0000-4000-8000-000000000000' : 'x';
    case 'array':
      return depth > 4 ? [] : [plausible(doc, schema.items, depth + 1)];
    default: {
      const out: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(schema.properties ?? {})) if (depth < 4) out[k] = plausible(doc, v as Schema, depth + 1);
      return out;
    }
  }
}

function pathValue(name: string, real: Record<string, string>): string {
  return real[name] ?? (/version/i.test(name) ? '1' : /id$/i.test(name) ? '00000000-0000-4000-8000-000000000000' : 'm');
}

interface HostileRequest {
  path: string;
  body?: string | Buffer;
  contentType?: string;
}

function parameterFamily(op: Operation, real: Record<string, string>, rng: number): HostileRequest[] {
  const path = op.parameters.filter((p) => p.in === 'path');
  const query = op.parameters.filter((p) => p.in === 'query');
  const out: HostileRequest[] = [];
  const values = fc.sample(hostileScalar, { seed: SEED + rng, numRuns: SAMPLES * Math.max(1, path.length + query.length) });
  let i = 0;
  const fill = (target?: string, value?: string) =>
    op.path.replace(/\{(\w+)\}/g, (_, n: string) => encodeSegment(n === target ? value! : pathValue(n, real)));
  for (const p of path) for (let k = 0; k < SAMPLES; k++) out.push({ path: fill(p.name, values[i++ % values.length]) });
  for (const q of query) {
    for (let k = 0; k < SAMPLES; k++) out.push({ path: `${fill()}?${q.name}=${encodeSegment(values[i++ % values.length])}` });
  }
  return out;
}

function bodyFamily(doc: Schema, op: Operation, real: Record<string, string>, rng: number): HostileRequest[] {
  const path = op.path.replace(/\{(\w+)\}/g, (_, n: string) => encodeSegment(pathValue(n, real)));
  const out: HostileRequest[] = [];
  const json = (v: unknown) => out.push({ path, body: JSON.stringify(v), contentType: 'application/json' });
  const schema = resolve(doc, op.body?.schema);
  const base = (plausible(doc, schema) ?? {}) as Record<string, unknown>;
  const values = fc.sample(hostileValue, { seed: SEED + rng, numRuns: 64 });
  let i = 0;
  json(base);
  for (const key of Object.keys(schema.properties ?? {})) {
    for (let k = 0; k < 8; k++) json({ ...base, [key]: values[i++ % values.length] });
    json({ ...base, [key]: 'a\u0000b' });
    json({ ...base, [key]: 'a\ud800b' });
    json({ ...base, [key]: 2 ** 31 });
    const prop = resolve(doc, (schema.properties as Schema)[key]);
    if (prop.type === 'array') json({ ...base, [key]: [values[i++ % values.length], 'a\u0000b', 2 ** 31] });
    if (prop.type === 'object' || prop.properties) json({ ...base, [key]: [base[key]] });
  }
  json([base]);
  json({ ...base, unknownKey: 1, ['\u0000']: 2 });
  json(null);
  json('\u0000');
  for (const big of ['2147483648', '1e400', '-9223372036854775809', '123456789012345678901234567890']) {
    out.push({ path, body: JSON.stringify(base).replace(/:1([,}])/, `:${big}$1`), contentType: 'application/json' });
  }
  out.push({ path, body: `${'['.repeat(20_000)}${']'.repeat(20_000)}`, contentType: 'application/json' });
  out.push({ path, body: `{"a":${'{"a":'.repeat(5_000)}1${'}'.repeat(5_001)}`, contentType: 'application/json' });
  out.push({ path, body: '', contentType: 'application/json' });
  out.push({ path, body: '{"records": [', contentType: 'application/json' });
  out.push({ path, body: JSON.stringify(base), contentType: 'text/plain' });
  out.push({ path, body: JSON.stringify(base), contentType: 'multipart/form-data; boundary=x' });
  out.push({ path, body: JSON.stringify(base), contentType: 'multipart/form-data' });
  out.push({
    path,
    body: '--x\r\nContent-Disposition: form-data; name="file"; filename="a.csv"\r\n\r\na,b\n1,2',
    contentType: 'multipart/form-data; boundary=x',
  });
  out.push({
    path,
    body: '--x\r\nContent-Disposition: form-data; name="name"\r\n\r\na\u0000b\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
  });
  out.push({
    path,
    body:
      '--x\r\nContent-Disposition: form-data; name="file"; filename="a\u0000.csv"\r\n' +
      'Content-Type: text/csv\r\n\r\na,b\n1,2\r\n--x--\r\n',
    contentType: 'multipart/form-data; boundary=x',
  });
  out.push({ path, body: Buffer.from([0xff, 0xfe, 0x00, 0x7b]), contentType: 'application/json' });
  return out;
}

void (async () => {
  const skip = await skipUnless('postgres');

  describe('hostile input over every documented operation', { skip }, () => {
    let kiln: TestKiln;
    const counts = { sent: 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0 };
    const failures: string[] = [];

    before(async () => {
      kiln = await startTestKiln('postgres');
    });
    after(async () => {
      process.stdout.write(
        `hostile walk: seed ${SEED}, requests sent ${counts.sent}, 2xx ${counts['2xx']}, ` +
          `3xx ${counts['3xx']}, 4xx ${counts['4xx']}, 5xx ${counts['5xx']}\n`,
      );
      await kiln?.close();
    });

    async function send(method: string, req: HostileRequest): Promise<void> {
      const headers: Record<string, string> = { authorization: `Bearer ${kiln.adminKey}` };
      if (req.contentType) headers['content-type'] = req.contentType;
      const hasBody = req.body !== undefined && method !== 'GET' && method !== 'DELETE';
      let status: number;
      try {
        const res = await fetch(`${kiln.url}${req.path}`, {
          method,
          headers,
          body: hasBody ? req.body : undefined,
          signal: AbortSignal.timeout(15_000),
        });
        status = res.status;
        await res.arrayBuffer();
      } catch (err) {
        failures.push(`${method} ${req.path.slice(0, 200)}: ${(err as Error).message}`);
        counts.sent++;
        counts['5xx']++;
        return;
      }
      counts.sent++;
      const klass = `${Math.floor(status / 100)}xx` as keyof typeof counts;
      if (klass in counts) counts[klass]++;
      if (status >= 500) {
        failures.push(`${status} ${method} ${req.path.slice(0, 200)} ${String(req.contentType)} ${String(req.body ?? '').slice(0, 200)}`);
      }
    }

    async function assertHealthy(family: string): Promise<void> {
      const started = performance.now();
      const res = await fetch(`${kiln.url}/health/live`, { signal: AbortSignal.timeout(5_000) });
      const ms = performance.now() - started;
      assert.equal(res.status, 200, `/health/live after ${family}`);
      assert.ok(ms < 1_000, `/health/live took ${ms.toFixed(0)} ms after ${family}`);
    }

    it('answers every hostile request below 500 and stays healthy', { timeout: 240_000 }, async () => {
      process.stdout.write(`hostile walk seed: ${SEED} (KILN_HOSTILE_SEED to override)\n`);
      const dataset = await kiln.request('POST', '/api/datasets', { body: { name: 'hostile' } });
      assert.equal(dataset.status, 201);
      const real = { id: dataset.body.id as string };
      // A real model "m" (v1, alias production) so version and alias parameters reach the registry's queries.
      await TfRuntime.initForTests();
      const model = tfl.sequential({ layers: [tfl.layers.dense({ units: 1, inputShape: [2] })] });
      const io = { inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 2] }], outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }] };
      await importLayersModel(kiln, 'm', model, io);
      assert.equal((await kiln.request('PUT', '/api/models/m/aliases/production', { body: { version: 1 } })).status, 200);
      const doc = (await kiln.request('GET', '/docs-json')).body as Schema;
      const operations: Operation[] = [];
      for (const [path, methods] of Object.entries(doc.paths as Record<string, Record<string, Schema>>)) {
        for (const [method, op] of Object.entries(methods)) {
          const content = op.requestBody?.content ?? {};
          const type = Object.keys(content)[0];
          operations.push({
            method: method.toUpperCase(),
            path,
            parameters: op.parameters ?? [],
            body: type ? { type, schema: content[type].schema } : undefined,
          });
        }
      }
      assert.ok(operations.length > 50, `only ${operations.length} operations documented`);
      let n = 0;
      for (const op of operations) {
        // Event streams stay open by design; their parameters are still walked, their bodies are not.
        const streaming = /\/events$/.test(op.path);
        const params = parameterFamily(op, real, n++);
        await Promise.all(params.map((r) => (streaming ? sendStreaming(r) : send(op.method, r))));
        await assertHealthy(`parameters of ${op.method} ${op.path}`);
        if (op.method === 'GET' || op.method === 'DELETE') continue;
        for (const r of bodyFamily(doc, op, real, n++)) await send(op.method, r);
        await assertHealthy(`bodies of ${op.method} ${op.path}`);
      }
      assert.deepEqual(failures, [], `${failures.length} requests answered 5xx or failed`);
      assert.equal(counts['5xx'], 0);
    });

    async function sendStreaming(req: HostileRequest): Promise<void> {
      const controller = new AbortController();
      const res = await fetch(`${kiln.url}${req.path}`, {
        headers: { authorization: `Bearer ${kiln.adminKey}` },
        signal: controller.signal,
      });
      counts.sent++;
      const klass = `${Math.floor(res.status / 100)}xx` as keyof typeof counts;
      if (klass in counts) counts[klass]++;
      if (res.status >= 500) failures.push(`${res.status} GET ${req.path.slice(0, 200)}`);
      controller.abort();
    }
  });
})();
