/**
 * The OpenAPI document (`/docs-json`) is a contract a client can be generated from: it validates as
 * OpenAPI 3, every route of the app is in it with a 2xx schema, its roles and its error responses, and
 * a client generated from it (openapi-typescript + openapi-fetch, type-checked with tsc) runs the
 * acceptance flow against a live server, using the document's own predict example.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { VEGA } from '../ingestion/ingestion-helpers';
import { processSurface } from '../utils/nest-routes';
import { CLIENT_FLOW_SOURCE, compileClientProgram, generateClient, runClientProgram } from '../utils/openapi-client';
import { skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

type Operation = {
  operationId?: string;
  security?: Array<Record<string, string[]>>;
  description?: string;
  parameters?: Array<{ name: string; in: string; required?: boolean }>;
  requestBody?: { content: Record<string, { schema?: Record<string, unknown> }> };
  responses: Record<string, { content?: Record<string, { schema?: unknown }> }>;
  'x-kiln-roles'?: string[];
};
type Document = { paths: Record<string, Record<string, Operation>>; components: { schemas: Record<string, any>; securitySchemes: any } };

/** `GET /api/models/:name` → `get /api/models/{name}`; TF Serving's catch-all `*` is documented as `{path}`. */
function documentKey(route: string): string {
  const [method, path] = route.split(' ') as [string, string];
  return `${method.toLowerCase()} ${path.replace(/:(\w+)/g, '{$1}').replace(/\/\*$/, '/{path}')}`;
}

void (async () => {
  const skip = await skipUnless('postgres');
  describe('OpenAPI document', { skip }, () => {
    let kiln: TestKiln;
    let doc: Document;
    before(async () => {
      kiln = await startTestKiln('postgres');
      const res = await kiln.request<Document>('GET', '/docs-json', { key: null });
      assert.equal(res.status, 200);
      doc = res.body;
    });
    after(async () => {
      await kiln?.close();
    });

    it('validates as OpenAPI 3 (@seriousme/openapi-schema-validator)', async () => {
      const { Validator } = await import('@seriousme/openapi-schema-validator');
      const result = await new Validator().validate(doc as never);
      assert.deepEqual(result.errors ?? [], [], JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
      assert.equal(result.valid, true);
    });

    it('documents every route of the app: a 2xx schema, roles as security requirements, the error responses', () => {
      const surface = processSurface(loadConfig(kiln.env));
      const routes = [...surface.routes].filter((r) => !surface.undocumented.has(r));
      assert.ok(routes.length > 60, `the app has ${routes.length} routes`);
      const documented = new Map<string, Operation>();
      for (const [path, item] of Object.entries(doc.paths)) for (const [m, op] of Object.entries(item)) documented.set(`${m} ${path}`, op);
      const problems: string[] = [];
      for (const route of routes) {
        const key = documentKey(route);
        const op = documented.get(key);
        if (!op) {
          problems.push(`${key}: not in the document`);
          continue;
        }
        const success = Object.entries(op.responses).filter(
          ([code, r]) => /^2/.test(code) && Object.values(r.content ?? {}).some((c) => c.schema),
        );
        const redirect = Object.keys(op.responses).some((code) => /^3/.test(code));
        if (success.length === 0 && !redirect) problems.push(`${key}: no 2xx response schema (nor a documented redirect)`);
        const isPublic = Array.isArray(op.security) && op.security.length === 0;
        if (!isPublic) {
          if (!op.security?.some((s) => 'bearer' in s) || !op.security.some((s) => 'x-api-key' in s))
            problems.push(`${key}: no security requirement`);
          if (!op.responses['401']) problems.push(`${key}: no 401`);
          if (!/Roles: /.test(op.description ?? '') || !op['x-kiln-roles']?.includes('admin')) problems.push(`${key}: roles not described`);
        }
        if (key.includes('{') && !op.responses['404']) problems.push(`${key}: no 404`);
        if ((op.requestBody || op.parameters?.length) && !op.responses['400']) problems.push(`${key}: no 400`);
        const serving = /^\w+ \/v[12](\/|$)/.test(key);
        for (const [code, r] of Object.entries(op.responses)) {
          if (Number(code) < 400) continue;
          const schema = JSON.stringify(r.content ?? {});
          // The health probes keep their own documented 503 body (Terminus' report); every other error is problem+json or {error}.
          if (!schema.includes('"schema"')) problems.push(`${key}: ${code} without a body schema`);
          else if (!key.includes(' /health/') && !schema.includes(serving ? 'ServingError' : 'Problem'))
            problems.push(`${key}: ${code} without the ${serving ? '{error}' : 'problem+json'} schema`);
        }
        for (const p of op.parameters ?? []) if (p.in === 'header' && p.required) problems.push(`${key}: required header ${p.name}`);
        const names = (op.parameters ?? []).map((p) => `${p.in}:${p.name.toLowerCase()}`);
        if (new Set(names).size !== names.length) problems.push(`${key}: a parameter twice (${names.join(', ')})`);
      }
      assert.deepEqual(problems, []);
      assert.equal(documented.size, routes.length, 'no operation without a route');
    });

    it('says what the key is (not a JWT), which roles each route takes, and has no empty schemas', () => {
      assert.equal(doc.components.securitySchemes.bearer.scheme, 'bearer');
      assert.notEqual(doc.components.securitySchemes.bearer.bearerFormat, 'JWT');
      const train = doc.paths['/api/training-jobs']!.post!;
      assert.deepEqual(train['x-kiln-roles'], ['admin', 'developer']);
      assert.deepEqual(doc.paths['/api/models/{name}/predict']!.post!['x-kiln-roles'], ['admin', 'predictor', 'developer']);
      assert.deepEqual(doc.paths['/health/live']!.get!.security, []);
      for (const [name, schema] of Object.entries(doc.components.schemas)) {
        assert.ok(Object.keys(schema.properties ?? {}).length > 0 || schema.oneOf || schema.enum, `${name} is not an empty {}`);
      }
      // The dataset upload offers a file picker (multipart with a binary `file`) and JSON records as the other content type.
      const upload = doc.paths['/api/datasets/{id}/versions']!.post!.requestBody!.content;
      const multipart = doc.components.schemas[String(upload['multipart/form-data']!.schema!.$ref).split('/').pop()!];
      assert.equal(multipart.properties.file.format, 'binary');
      assert.ok(!('oneOf' in upload['multipart/form-data']!.schema!));
    });

    it('a client generated from /docs-json type-checks and runs the acceptance flow, predicting with the document’s example', async () => {
      const dir = await generateClient(doc, 'acceptance');
      const program = await compileClientProgram(dir, CLIENT_FLOW_SOURCE);
      const predictBody = doc.paths['/api/models/{name}/predict']!.post!.requestBody!.content['application/json']!.schema!;
      const records = doc.components.schemas[String(predictBody.$ref).split('/').pop()!].properties.records.example;
      assert.ok(Array.isArray(records) && records.length > 0, 'predict has an example');
      const out = await runClientProgram(program, {
        KILN_URL: kiln.url,
        KILN_API_KEY: kiln.adminKey,
        PENGUINS_FILE: join(VEGA, 'penguins.json'),
        PREDICT_RECORDS: JSON.stringify(records),
      });
      const result = JSON.parse(out.trim().split('\n').pop()!) as {
        labels: (string | null)[];
        verified: boolean;
        checked: number;
        version: number;
        epochs: number;
      };
      assert.equal(result.epochs, 3);
      assert.equal(result.labels.length, records.length);
      for (const label of result.labels) assert.ok(['Adelie', 'Chinstrap', 'Gentoo'].includes(label!), `label ${label}`);
      assert.equal(result.version, 1);
      assert.equal(result.verified, true);
      assert.ok(result.checked >= 1);
    });

    it('every read operation executed with its documented examples answers 2xx (on the state the client flow left)', async () => {
      // GET …/deployment answers its documented 404 until a deployment is set; the walkthrough sets none.
      const expected404 = new Set(['/api/models/{name}/deployment']);
      const failures: string[] = [];
      let executed = 0;
      for (const [path, item] of Object.entries(doc.paths)) {
        const op = item.get;
        if (!op) continue;
        const params = (op.parameters ?? []) as Array<{ name: string; in: string; required?: boolean; example?: unknown }>;
        if (params.some((p) => p.in === 'path' && p.example === undefined)) continue; // an id only a response can give
        if (params.some((p) => p.in === 'query' && p.required && p.example === undefined)) continue;
        if (Object.values(op.responses).some((r) => r.content && 'text/event-stream' in r.content)) continue;
        const url = path.replace(/\{(\w+)\}/g, (_, name: string) => String(params.find((p) => p.name === name)!.example));
        const query = new URLSearchParams();
        for (const p of params) if (p.in === 'query' && p.example !== undefined) query.set(p.name, String(p.example));
        const res = await kiln.request('GET', `${url}${query.size ? `?${query.toString()}` : ''}`);
        executed++;
        const want = expected404.has(path) ? 404 : 200;
        if (want === 404 ? res.status !== 404 : res.status < 200 || res.status > 299)
          failures.push(`GET ${url} → ${res.status} ${res.text.slice(0, 200)}`);
      }
      assert.deepEqual(failures, []);
      assert.ok(executed >= 30, `${executed} operations executed`);
    });
  });
})();
