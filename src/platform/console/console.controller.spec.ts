import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { wantsPage } from './console.controller';

/** `GET /` answers the console page or KServe V1's liveness JSON by the request's Accept header. */
describe('GET / content negotiation', () => {
  it("browsers' navigation requests get the page", () => {
    for (const accept of [
      // Chromium, Firefox, Safari (their defaults for a top-level navigation)
      'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,' +
        'application/signed-exchange;v=b3;q=0.7',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
      'text/html',
      'text/*',
    ])
      assert.equal(wantsPage(accept), true, accept);
  });

  it("KServe's client (httpx: */*), curl, fetch, JSON clients and no Accept get the liveness JSON", () => {
    for (const accept of [undefined, '', '*/*', 'application/json', 'application/json, text/html;q=0.5', 'text/html;q=0, */*', 'image/png'])
      assert.equal(wantsPage(accept), false, String(accept));
  });
});
