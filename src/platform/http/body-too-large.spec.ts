import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { bodyTooLargeDetail } from './body-too-large';

describe('bodyTooLargeDetail', () => {
  it("says the size and the limit in Triton's words when the Content-Length tells the size", () => {
    assert.equal(
      bodyTooLargeDetail({ headers: { 'content-length': '2863311588' }, routeOptions: { bodyLimit: 67108864 } }),
      'body: request JSON size of 2863311588 bytes exceeds the maximum allowed input size of 67108864 bytes',
    );
    assert.equal(
      bodyTooLargeDetail({
        headers: { 'content-type': 'application/octet-stream', 'content-length': '20' },
        routeOptions: { bodyLimit: 10 },
      }),
      'body: request size of 20 bytes exceeds the maximum allowed input size of 10 bytes',
    );
  });

  it('says only "more than the limit" for a chunked or compressed body (measured while it arrives)', () => {
    assert.equal(
      bodyTooLargeDetail({
        headers: { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        routeOptions: { bodyLimit: 10 },
      }),
      'body: request JSON size of more than 10 bytes exceeds the maximum allowed input size of 10 bytes',
    );
    assert.equal(
      bodyTooLargeDetail({ headers: { 'content-encoding': 'gzip', 'content-length': '5' }, routeOptions: { bodyLimit: 10 } }),
      'body: request JSON size of more than 10 bytes once inflated exceeds the maximum allowed input size of 10 bytes',
    );
    assert.equal(bodyTooLargeDetail({}), 'body: request JSON size exceeds the maximum allowed input size');
  });
});
