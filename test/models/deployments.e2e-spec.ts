/**
 * Deployments (weighted canary routes + shadow) and serving settings end to end on the machine's
 * PostgreSQL: the HTTP API with every refusal naming its field, archive protection of deployed
 * versions, and the routing snapshot the inference runtime polls (alias moves followed, fingerprint
 * changing exactly when the routed content changes). Versions are imports of the hand-written
 * graph-model fixture.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ModelDeployments, type ModelRouting, type RoutingSnapshot } from '../../src/models';
import { ValidationProblemException } from '../../src/platform/http/validation';
import { handWrittenGraphModel } from '../support/tfjs/graph-model-fixture';
import { importGraphVersion } from './model-import-helpers';
import { TfRuntime } from '../../src/platform/tfjs/tf-runtime';
import { skipUnless, startTestKiln, type TestKiln, type TestResponse } from '../utils/test-kiln';

/** Direct service calls (no HTTP request) still name who made the change. */
const testActor = { requestId: 'deployments-e2e', actorKeyId: null };

const SIGNATURE = {
  inputs: [{ name: 'x', dtype: 'float32', shape: [-1, 3] }],
  outputs: [{ name: 'y', dtype: 'float32', shape: [-1, 1] }],
};

const importFixture = (kiln: TestKiln, name: string) => importGraphVersion(kiln, name, handWrittenGraphModel(), SIGNATURE);

/** The first field error of a problem+json answer, after checking the status. */
function fieldOf(res: TestResponse, status: number): string {
  assert.equal(res.status, status, res.text);
  assert.ok(Array.isArray(res.body.errors) && res.body.errors.length > 0, `no field errors: ${res.text}`);
  return res.body.errors[0].field;
}

async function main(): Promise<void> {
  const skip = await skipUnless('postgres');
  describe('model deployments and serving settings on configuration "postgres"', { skip }, () => {
    let kiln: TestKiln;
    let deployments: ModelDeployments;
    let predictorKey: string;
    const versionIds = new Map<number, string>();

    const put = (body: unknown, model = 'dep') => kiln.request('PUT', `/api/models/${model}/deployment`, { body });
    const get = (model = 'dep') => kiln.request('GET', `/api/models/${model}/deployment`);
    const setAlias = (alias: string, version: number) => kiln.request('PUT', `/api/models/dep/aliases/${alias}`, { body: { version } });
    const entry = (snap: RoutingSnapshot, name = 'dep'): ModelRouting | undefined => snap.models.find((m) => m.name === name);

    before(async () => {
      await TfRuntime.initForTests();
      kiln = await startTestKiln('postgres');
      deployments = kiln.app.get(ModelDeployments);
      for (let i = 1; i <= 5; i++) assert.equal(await importFixture(kiln, 'dep'), i);
      await importFixture(kiln, 'bare');
      await importFixture(kiln, 'edge');
      for (let i = 1; i <= 5; i++) versionIds.set(i, (await kiln.request('GET', `/api/models/dep/versions/${i}`)).body.id);
      assert.equal((await setAlias('production', 1)).status, 200);
      predictorKey = (await kiln.request('POST', '/api/keys', { body: { name: 'predictor', role: 'predictor' } })).body.key;
    });
    after(async () => {
      await kiln?.close();
    });

    it('serving settings: defaults until set, partial updates keep the other fields, 404 for an unknown model', async () => {
      const initial = await kiln.request('GET', '/api/models/dep/serving');
      assert.equal(initial.status, 200, initial.text);
      assert.deepEqual(initial.body, {
        model: 'dep',
        engine: 'tfjs',
        maxBatchSize: 32,
        maxQueueDelayMs: 0,
        maxQueueSize: 1024,
        timeoutMs: 5000,
        updatedBy: null,
        updatedAt: null,
      });
      const batch = await kiln.request('PUT', '/api/models/dep/serving', { body: { maxBatchSize: 8 } });
      assert.equal(batch.status, 200, batch.text);
      assert.deepEqual(
        [batch.body.maxBatchSize, batch.body.maxQueueDelayMs, batch.body.maxQueueSize, batch.body.timeoutMs],
        [8, 0, 1024, 5000],
      );
      assert.ok(batch.body.updatedBy && batch.body.updatedAt);
      const timeout = await kiln.request('PUT', '/api/models/dep/serving', { body: { timeoutMs: 250, maxQueueDelayMs: 2 } });
      assert.equal(timeout.status, 200, timeout.text);
      assert.deepEqual(
        [timeout.body.maxBatchSize, timeout.body.maxQueueDelayMs, timeout.body.maxQueueSize, timeout.body.timeoutMs],
        [8, 2, 1024, 250],
      );
      const read = await kiln.request('GET', '/api/models/dep/serving');
      assert.deepEqual(read.body, timeout.body);
      assert.equal((await kiln.request('GET', '/api/models/nope/serving')).status, 404);
      assert.equal((await kiln.request('PUT', '/api/models/nope/serving', { body: { maxBatchSize: 2 } })).status, 404);
    });

    it(
      'serving settings: out-of-bounds, non-integer and unknown fields are 400 naming the field and change nothing; ' +
        'writes need developer',
      async () => {
        const cases: Array<[object, string]> = [
          [{ maxBatchSize: 0 }, 'maxBatchSize'],
          [{ maxBatchSize: 1025 }, 'maxBatchSize'],
          [{ maxBatchSize: 2.5 }, 'maxBatchSize'],
          [{ maxQueueDelayMs: -1 }, 'maxQueueDelayMs'],
          [{ maxQueueDelayMs: 1001 }, 'maxQueueDelayMs'],
          [{ maxQueueSize: 0 }, 'maxQueueSize'],
          [{ maxQueueSize: 100_001 }, 'maxQueueSize'],
          [{ timeoutMs: 0 }, 'timeoutMs'],
          [{ timeoutMs: 120_001 }, 'timeoutMs'],
          [{ timeoutMs: '100' }, 'timeoutMs'],
          [{ batchSize: 4 }, 'batchSize'],
        ];
        for (const [body, field] of cases) {
          assert.equal(fieldOf(await kiln.request('PUT', '/api/models/dep/serving', { body }), 400), field, JSON.stringify(body));
        }
        // the same bounds hold for callers of the service
        await assert.rejects(
          deployments.setServing('dep', { maxBatchSize: 0 }, null, testActor),
          (e: unknown) => e instanceof ValidationProblemException && e.errors[0]!.field === 'maxBatchSize',
        );
        const edges = await kiln.request('PUT', '/api/models/edge/serving', {
          body: { maxBatchSize: 1, maxQueueDelayMs: 1000, maxQueueSize: 100_000, timeoutMs: 120_000 },
        });
        assert.equal(edges.status, 200, edges.text);
        const denied = await kiln.request('PUT', '/api/models/dep/serving', { key: predictorKey, body: { maxBatchSize: 2 } });
        assert.equal(denied.status, 403, denied.text);
        assert.equal((await kiln.request('GET', '/api/models/dep/serving', { key: predictorKey })).status, 200, 'reads for any role');
        const read = await kiln.request('GET', '/api/models/dep/serving');
        assert.deepEqual(
          [read.body.maxBatchSize, read.body.maxQueueDelayMs, read.body.timeoutMs],
          [8, 2, 250],
          'unchanged by refused writes',
        );
      },
    );

    it('sets, reads and replaces a deployment; alias routes show where the alias points now', async () => {
      assert.equal((await get()).status, 404);
      const set = await put({
        routes: [
          { alias: 'production', weight: 90 },
          { version: 2, weight: 10 },
        ],
        shadow: 3,
      });
      assert.equal(set.status, 200, set.text);
      assert.deepEqual(set.body.routes, [
        { alias: 'production', version: 1, weight: 90 },
        { version: 2, weight: 10 },
      ]);
      assert.deepEqual(set.body.shadow, { version: 3 });
      assert.equal(set.body.model, 'dep');
      assert.ok(set.body.updatedBy && set.body.updatedAt);
      assert.deepEqual((await get()).body, set.body);
      assert.equal((await kiln.request('GET', '/api/models/dep/deployment', { key: predictorKey })).status, 200, 'reads for any role');
      assert.equal((await setAlias('production', 4)).status, 200);
      assert.deepEqual((await get()).body.routes[0], { alias: 'production', version: 4, weight: 90 }, 'the route follows the alias');
      const noShadow = await put({ routes: [{ version: 2, weight: 0.25 }] });
      assert.equal(noShadow.status, 200, noShadow.text);
      assert.deepEqual(noShadow.body.routes, [{ version: 2, weight: 0.25 }]);
      assert.equal(noShadow.body.shadow, null);
      const back = await put({
        routes: [
          { alias: 'production', weight: 90 },
          { version: 2, weight: 10 },
        ],
        shadow: 3,
      });
      assert.equal(back.status, 200, back.text);
    });

    it('refuses malformed deployments with 400 naming the field, leaving the stored one as it was', async () => {
      const before = (await get()).body;
      const route = { version: 2, weight: 1 };
      const cases: Array<[unknown, string]> = [
        [{}, 'routes'],
        [{ routes: [] }, 'routes'],
        [{ routes: 'x' }, 'routes'],
        [{ routes: Array.from({ length: 11 }, (_, i) => ({ version: 1 + (i % 5), weight: 1 })) }, 'routes'],
        [{ routes: [route, { version: 5, alias: 'production', weight: 1 }] }, 'routes.1'],
        [{ routes: [route, { weight: 1 }] }, 'routes.1'],
        [{ routes: [route, { version: 5, weight: 0 }] }, 'routes.1.weight'],
        [{ routes: [route, { version: 5, weight: -3 }] }, 'routes.1.weight'],
        [{ routes: [route, { version: 5, weight: '10' }] }, 'routes.1.weight'],
        [{ routes: [route, { version: 5 }] }, 'routes.1.weight'],
        [{ routes: [route, { version: 5, weight: 2e6 }] }, 'routes.1.weight'],
        [{ routes: [{ version: 0, weight: 1 }] }, 'routes.0.version'],
        [{ routes: [{ version: 1.5, weight: 1 }] }, 'routes.0.version'],
        [{ routes: [{ alias: 'bad alias!', weight: 1 }] }, 'routes.0.alias'],
        [{ routes: [route, { version: 2, weight: 3 }] }, 'routes.1'],
        [{ routes: [route], shadow: 0 }, 'shadow'],
        [{ routes: [route], shadow: 'v3' }, 'shadow'],
        [{ routes: [route], shadow: 2 }, 'shadow'],
        [{ routes: [{ alias: 'production', weight: 1 }], shadow: 4 }, 'shadow'],
        [{ routes: [{ version: 2, weight: 1, label: 'x' }] }, 'routes.0.label'],
      ];
      for (const [body, field] of cases) assert.equal(fieldOf(await put(body), 400), field, JSON.stringify(body));
      // Non-finite weights cannot be sent as JSON: the service itself refuses them.
      for (const weight of [Number.NaN, Number.POSITIVE_INFINITY]) {
        await assert.rejects(
          deployments.setDeployment('dep', { routes: [{ version: 2, weight }] }, null, testActor),
          (e: unknown) => e instanceof ValidationProblemException && e.errors[0]!.field === 'routes.0.weight',
        );
      }
      // Direct callers skip the DTO: a version past int4 is a 400 naming the route, never a query the database refuses.
      await assert.rejects(
        deployments.setDeployment('dep', { routes: [{ version: 2 ** 31, weight: 1 }] }, null, testActor),
        (e: unknown) => e instanceof ValidationProblemException && e.errors[0]!.field === 'routes.0.version',
      );
      assert.deepEqual((await get()).body, before);
    });

    it('404 for an unknown model, version or alias and 409 for an archived version, naming the field', async () => {
      const before = (await get()).body;
      assert.equal((await put({ routes: [{ version: 1, weight: 1 }] }, 'nope')).status, 404);
      assert.equal((await get('nope')).status, 404);
      assert.equal((await get('bare')).status, 404, 'a model without a deployment');
      assert.equal(
        fieldOf(
          await put({
            routes: [
              { version: 2, weight: 1 },
              { version: 99, weight: 1 },
            ],
          }),
          404,
        ),
        'routes.1.version',
      );
      assert.equal(fieldOf(await put({ routes: [{ alias: 'staging', weight: 1 }] }), 404), 'routes.0.alias');
      assert.equal(fieldOf(await put({ routes: [{ version: 2, weight: 1 }], shadow: 99 }), 404), 'shadow');
      assert.equal((await kiln.request('POST', '/api/models/dep/versions/1/archive')).status, 200);
      const archivedRoute = await put({ routes: [{ version: 1, weight: 1 }] });
      assert.equal(fieldOf(archivedRoute, 409), 'routes.0.version');
      assert.match(archivedRoute.text, /archived/);
      assert.equal(fieldOf(await put({ routes: [{ version: 2, weight: 1 }], shadow: 1 }), 409), 'shadow');
      const denied = await kiln.request('PUT', '/api/models/dep/deployment', {
        key: predictorKey,
        body: { routes: [{ version: 2, weight: 1 }] },
      });
      assert.equal(denied.status, 403, denied.text);
      assert.deepEqual((await get()).body, before);
    });

    it('refuses to archive a version the deployment routes to or shadows (409) until the deployment lets go of it', async () => {
      const route = await kiln.request('POST', '/api/models/dep/versions/2/archive');
      assert.equal(route.status, 409, route.text);
      assert.match(route.text, /deployment \(as a route\)/);
      const shadow = await kiln.request('POST', '/api/models/dep/versions/3/archive');
      assert.equal(shadow.status, 409, shadow.text);
      assert.match(shadow.text, /deployment \(as a shadow\)/);
      assert.equal((await kiln.request('GET', '/api/models/dep/versions/3')).body.status, 'active');
      assert.equal(
        (
          await put({
            routes: [
              { alias: 'production', weight: 90 },
              { version: 2, weight: 10 },
            ],
          })
        ).status,
        200,
      );
      const released = await kiln.request('POST', '/api/models/dep/versions/3/archive');
      assert.equal(released.status, 200, released.text);
      assert.equal(released.body.status, 'archived');
    });

    it('documents the routes and bodies in the OpenAPI document', async () => {
      const doc = (await kiln.request('GET', '/docs-json')).body;
      assert.deepEqual(Object.keys(doc.paths['/api/models/{name}/deployment']).sort(), ['delete', 'get', 'put']);
      assert.deepEqual(Object.keys(doc.paths['/api/models/{name}/serving']).sort(), ['get', 'put']);
      assert.ok(doc.components.schemas.SetDeploymentDto.properties.routes);
      assert.equal(doc.components.schemas.SetServingDto.properties.maxBatchSize.maximum, 1024);
    });

    it('deletes a deployment, answering with what was removed; then 404', async () => {
      const snapshot = (await get()).body;
      const removed = await kiln.request('DELETE', '/api/models/dep/deployment');
      assert.equal(removed.status, 200, removed.text);
      assert.deepEqual(removed.body, snapshot);
      assert.equal((await get()).status, 404);
      assert.equal((await kiln.request('DELETE', '/api/models/dep/deployment')).status, 404);
      assert.equal((await kiln.request('DELETE', '/api/models/nope/deployment')).status, 404);
      assert.equal((await kiln.request('DELETE', '/api/models/dep/deployment', { key: predictorKey })).status, 403);
      // once undeployed, version 2 can be archived
      assert.equal((await kiln.request('POST', '/api/models/dep/versions/2/archive')).status, 200);
    });

    it(
      'routing snapshot: aliases, normalised routes, shadow and serving per model; ' +
        'the fingerprint moves exactly when the content does',
      async () => {
        // state: production → 4, versions 1–3 archived; dep and edge have serving settings, bare has nothing
        assert.equal(
          (
            await put({
              routes: [
                { alias: 'production', weight: 3 },
                { version: 5, weight: 1 },
              ],
              shadow: null,
            })
          ).status,
          200,
        );
        let snap = await deployments.routingSnapshot();
        assert.match(snap.fingerprint, /^[0-9a-f]{64}$/);
        assert.deepEqual(
          snap.models.map((m) => m.name),
          ['dep', 'edge'],
        );
        assert.deepEqual(entry(snap), {
          name: 'dep',
          modelId: entry(snap)!.modelId,
          aliases: { production: { version: 4, versionId: versionIds.get(4) } },
          deployment: {
            routes: [
              { alias: 'production', version: 4, versionId: versionIds.get(4), weight: 0.75 },
              { version: 5, versionId: versionIds.get(5), weight: 0.25 },
            ],
            shadow: null,
          },
          serving: { engine: 'tfjs', maxBatchSize: 8, maxQueueDelayMs: 2, maxQueueSize: 1024, timeoutMs: 250 },
        });
        assert.deepEqual(entry(snap, 'edge')!.deployment, null);
        assert.deepEqual(entry(snap, 'edge')!.aliases, {});

        const steps: Array<[string, () => Promise<unknown>, boolean]> = [
          ['nothing', async () => undefined, false],
          [
            'the same deployment again (only updatedAt changes)',
            () =>
              put({
                routes: [
                  { alias: 'production', weight: 3 },
                  { version: 5, weight: 1 },
                ],
              }),
            false,
          ],
          [
            'the same weight ratio',
            () =>
              put({
                routes: [
                  { alias: 'production', weight: 75 },
                  { version: 5, weight: 25 },
                ],
              }),
            false,
          ],
          ['the alias set to where it already points', () => setAlias('production', 4), false],
          ['the same serving settings', () => kiln.request('PUT', '/api/models/dep/serving', { body: { maxBatchSize: 8 } }), false],
          ['an alias move', () => setAlias('production', 5), true],
          ['a new alias', () => setAlias('staging', 4), true],
          [
            'a weight change',
            () =>
              put({
                routes: [
                  { alias: 'production', weight: 1 },
                  { version: 5, weight: 1 },
                ],
              }),
            true,
          ],
          [
            'a shadow',
            () =>
              put({
                routes: [
                  { alias: 'production', weight: 1 },
                  { version: 5, weight: 1 },
                ],
                shadow: 4,
              }),
            true,
          ],
          ['a serving change', () => kiln.request('PUT', '/api/models/dep/serving', { body: { maxBatchSize: 16 } }), true],
          ['an alias deletion', () => kiln.request('DELETE', '/api/models/dep/aliases/production'), true],
        ];
        for (const [what, act, changes] of steps) {
          const res = (await act()) as TestResponse | undefined;
          if (res) assert.ok(res.status < 300, `${what}: ${res.text}`);
          const next = await deployments.routingSnapshot();
          if (changes) assert.notEqual(next.fingerprint, snap.fingerprint, `${what} must change the fingerprint`);
          else assert.equal(next.fingerprint, snap.fingerprint, `${what} must not change the fingerprint`);
          snap = next;
        }

        const dep = entry(snap)!;
        assert.deepEqual(dep.aliases, { staging: { version: 4, versionId: versionIds.get(4) } });
        assert.deepEqual(dep.deployment, {
          routes: [
            { alias: 'production', version: null, versionId: null, weight: 0 },
            { version: 5, versionId: versionIds.get(5), weight: 1 },
          ],
          shadow: { version: 4, versionId: versionIds.get(4) },
        });
        assert.equal(dep.serving.maxBatchSize, 16);
        assert.deepEqual(
          (await get()).body.routes[0],
          { alias: 'production', version: null, weight: 1 },
          'the API shows the dangling alias route',
        );

        assert.equal((await kiln.request('DELETE', '/api/models/dep/deployment')).status, 200);
        assert.equal((await kiln.request('DELETE', '/api/models/dep/aliases/staging')).status, 200);
        const undeployed = entry(await deployments.routingSnapshot());
        assert.ok(undeployed, 'still listed: it has serving settings');
        assert.equal(undeployed.deployment, null);
        assert.deepEqual(undeployed.aliases, {});

        // a model is listed while it has an alias, a deployment or serving settings
        const bareAlias = await kiln.request('PUT', '/api/models/bare/aliases/production', { body: { version: 1 } });
        assert.equal(bareAlias.status, 200, bareAlias.text);
        const bare = entry(await deployments.routingSnapshot(), 'bare');
        assert.equal(bare?.aliases.production?.version, 1);
        assert.deepEqual(
          bare.serving,
          { engine: 'tfjs', maxBatchSize: 32, maxQueueDelayMs: 0, maxQueueSize: 1024, timeoutMs: 5000 },
          'the defaults',
        );
        assert.equal((await kiln.request('DELETE', '/api/models/bare/aliases/production')).status, 200);
        assert.equal(entry(await deployments.routingSnapshot(), 'bare'), undefined);
      },
    );
  });
}

void main();
