import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { clientRequestIdOf, clientRequestIdProblem, loggedUrl, requestIdFor, uuidV7, uuidV7Time } from './logging';

const request = (id?: string) => ({ headers: id === undefined ? {} : { 'x-request-id': id } }) as unknown as IncomingMessage;

describe('request ids', () => {
  it('gives each call its own UUIDv7 and keeps the id the client sent beside it', () => {
    const a = request('trace-1');
    const b = request('trace-1');
    const idA = requestIdFor(a);
    assert.equal(requestIdFor(a), idA, 'stable for one request (Fastify and the logger both ask)');
    assert.notEqual(requestIdFor(b), idA);
    assert.notEqual(uuidV7Time(idA), null);
    assert.equal(clientRequestIdOf(a), 'trace-1');
    assert.equal(clientRequestIdOf(b), 'trace-1');
    const none = request();
    requestIdFor(none);
    assert.equal(clientRequestIdOf(none), null);
    const long = request('x'.repeat(201));
    requestIdFor(long);
    assert.equal(clientRequestIdOf(long), null);
  });

  it('UUIDv7 carries its issue time', () => {
    const id = uuidV7(1_764_700_000_123);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(uuidV7Time(id), 1_764_700_000_123);
    assert.equal(uuidV7Time('0b4c1a52-0d2e-4f55-8a43-0a5f6d6f7c11'), null, 'a v4 UUID is not a server-issued id');
    for (const ms of [0, 1, 0xff_ffff_ffff, 0x1_0000_0000, 2 ** 48 - 1]) assert.equal(uuidV7Time(uuidV7(ms)), ms, `time ${ms}`);
  });

  it('UUIDv7 fills its 74 random bits from the pool: ids of one millisecond differ, every random hex digit varies', () => {
    const ids = Array.from({ length: 600 }, () => uuidV7(1_764_700_000_123)); // more than one 4 KiB pool refill
    assert.equal(new Set(ids).size, ids.length);
    const random = ids.map((id) => id.slice(15).replace(/-/g, '')); // rand_a (3 digits), variant + rand_b
    for (let digit = 0; digit < random[0]!.length; digit++) {
      const seen = new Set(random.map((r) => r[digit]));
      assert.ok(seen.size >= (digit === 3 ? 4 : 12), `digit ${digit} took ${[...seen].join('')}`);
    }
  });

  it('validates client ids: ≤ 200 characters, no control characters, no lone surrogates; "" is fine', () => {
    for (const ok of ['', 'a b', 'é😀', 'x'.repeat(200)]) assert.equal(clientRequestIdProblem(ok), null, ok);
    assert.match(clientRequestIdProblem('x'.repeat(201))!, /200/);
    for (const bad of ['a\0', 'tab\t', '\u0085', '\ud800']) assert.ok(clientRequestIdProblem(bad), JSON.stringify(bad));
  });
});

describe('logged urls', () => {
  it('never carry a stream token', () => {
    assert.equal(loggedUrl('/api/training-jobs/1/events?token=kst1.abc.def'), '/api/training-jobs/1/events?token=[redacted]');
    assert.equal(loggedUrl('/x?a=1&token=kst1.a.b&b=2'), '/x?a=1&token=[redacted]&b=2');
    assert.equal(loggedUrl('/api/models?limit=5'), '/api/models?limit=5');
    assert.equal(loggedUrl('/x?notoken=1'), '/x?notoken=1');
  });
});
