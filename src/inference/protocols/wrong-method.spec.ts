import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OIP_ROUTES } from './open-inference';
import { TF_SERVING_ROUTES } from './tf-serving';
import { allowedMethods, methodNotAllowed } from './route-methods';

const ROUTES = [...TF_SERVING_ROUTES, ...OIP_ROUTES];

describe('405 for a protocol path under another method', () => {
  it('knows the methods of every /v1 and /v2 route', () => {
    const cases: Array<[string, string[]]> = [
      ['/v2', ['GET', 'HEAD']],
      ['/v2/health/live', ['GET', 'HEAD']],
      ['/v2/health/ready', ['GET', 'HEAD']],
      ['/v2/models/m', ['GET', 'HEAD']],
      ['/v2/models/m/versions/2', ['GET', 'HEAD']],
      ['/v2/models/m/ready', ['GET', 'HEAD']],
      ['/v2/models/m/versions/2/ready', ['GET', 'HEAD']],
      ['/v2/models/m/infer', ['POST']],
      ['/v2/models/m/versions/2/infer', ['POST']],
      ['/v1/models/m', ['GET', 'HEAD']],
      ['/v1/models/m/labels/production/metadata', ['GET', 'HEAD']],
      ['/v1/models/m:predict', ['POST']],
      ['/v1/models/m/versions/3:regress', ['POST']],
      ['/v1/models/m:explain', ['POST']],
    ];
    for (const [path, methods] of cases) assert.deepEqual(allowedMethods(path, ROUTES).sort(), methods.sort(), path);
  });

  it('knows no methods for paths that are no protocol route (those stay 404)', () => {
    for (const path of ['/v2/models', '/v2/models/m/versions', '/v2/health', '/v1/models/m:foo', '/v1/models', '/v3/models/m']) {
      assert.deepEqual(allowedMethods(path, ROUTES), [], path);
    }
  });

  it('is a 405 naming the method, the path and what to use', () => {
    const e = methodNotAllowed('PUT', '/v2/models/m/infer', ['POST']);
    assert.equal(e.getStatus(), 405);
    assert.equal(e.message, 'PUT is not allowed on /v2/models/m/infer; use POST');
  });
});
