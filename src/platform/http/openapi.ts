import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { DiscoveryService, Reflector } from '@nestjs/core';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { DocumentBuilder, SwaggerModule, type OpenAPIObject } from '@nestjs/swagger';
import { routeAccess, type RouteAccess } from '../auth/api-key.guard';

/** Security schemes: the same API key, either header. */
export // @nestjs/swagger exports only the document type (its package exports hide the spec interfaces).
type PathItem = OpenAPIObject['paths'][string];
type OperationObject = NonNullable<PathItem['get']>;
type ResponseObject = Exclude<OperationObject['responses'][string], { $ref: string }>;
export type SchemaObject = NonNullable<NonNullable<OpenAPIObject['components']>['schemas']>[string];

const SECURITY: Array<Record<string, string[]>> = [{ bearer: [] }, { 'x-api-key': [] }];

/** Paths whose errors are the serving protocols' `{"error": "…"}` (TensorFlow Serving REST, Open Inference Protocol). */
const SERVING_PREFIXES = ['/v1/', '/v2'];

const PROBLEM_SCHEMA: SchemaObject = {
  type: 'object',
  description: 'RFC 9457 problem details; `errors` names each bad field and why',
  required: ['type', 'title', 'status', 'detail'],
  properties: {
    type: { type: 'string', example: 'about:blank' },
    // No examples here: one schema serves every status, and a 400 example under a 404 would mislead.
    title: { type: 'string', description: 'the HTTP reason phrase' },
    status: { type: 'integer', description: 'the HTTP status' },
    detail: { type: 'string', description: 'what is wrong, naming the field' },
    instance: { type: 'string', description: 'the request path' },
    requestId: { type: 'string', description: 'also in the x-request-id header and the log line of the request' },
    errors: {
      type: 'array',
      items: {
        type: 'object',
        required: ['field', 'reason'],
        properties: { field: { type: 'string', example: 'name' }, reason: { type: 'string' } },
      },
    },
  },
  additionalProperties: true,
};

const SERVING_ERROR_SCHEMA: SchemaObject = {
  type: 'object',
  description: 'The serving protocols’ error body',
  required: ['error'],
  properties: { error: { type: 'string' } },
};

const ERROR_DESCRIPTIONS: Record<number, string> = {
  400: 'Bad input: the body, a parameter or a header is malformed (each field named with the reason)',
  401: 'No API key, or an unknown or revoked one',
  403: 'The key’s role may not do this',
  404: 'Not found',
  409: 'Conflict with the current state',
  413: 'Body or upload larger than the limit',
  415: 'Unsupported content type',
  422: 'Well-formed but refused',
  503: 'Not ready, shutting down, or a domain service did not answer in time',
};

/** What the guard enforces on one handler: public, or the roles allowed besides admin (undefined: any valid key). */
type HandlerAccess = Pick<RouteAccess, 'isPublic' | 'roles'>;

function handlerAccess(app: NestFastifyApplication): Map<string, HandlerAccess> {
  const reflector = app.get(Reflector);
  const access = new Map<string, HandlerAccess>();
  for (const wrapper of app.get(DiscoveryService).getControllers()) {
    const cls = wrapper.metatype as (new (...args: never[]) => unknown) | null;
    if (!cls || Reflect.getMetadata(PATH_METADATA, cls) === undefined) continue;
    for (const name of Object.getOwnPropertyNames(cls.prototype)) {
      const handler = (cls.prototype as Record<string, unknown>)[name];
      if (name === 'constructor' || typeof handler !== 'function') continue;
      if ((Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined) === undefined) continue;
      access.set(`${cls.name}_${name}`, routeAccess(reflector, [handler, cls]));
    }
  }
  return access;
}

/**
 * The OpenAPI document of the running app: what the decorators say, then per operation what the
 * code enforces and every route shares, so it cannot drift from the guard and the error filter:
 * the roles (in the description, as `x-kiln-roles` and as security requirements; public routes
 * have none), and the error responses with their bodies (problem+json, or `{"error"}` on /v1 and /v2).
 */
export function createOpenApiDocument(app: NestFastifyApplication, version: string): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('Kiln')
      .setDescription(
        'Ingest datasets, train TensorFlow.js models as queued jobs, register, serve and audit them.\n\n' +
          'Every route but the health probes needs an API key, sent as `Authorization: Bearer <key>` or `x-api-key: <key>` ' +
          '(`npm start` prints the admin key and saves it to `data/admin.key`). Roles: `admin` may do everything; ' +
          '`developer` datasets, training, models, deployments and batch predictions; `predictor` the data plane ' +
          '(predict, /v1, /v2); `auditor` the audit and monitoring reads. Each operation lists the roles it accepts.\n\n' +
          'Errors are RFC 9457 `application/problem+json` naming each bad field; the serving protocols under /v1 and /v2 ' +
          'answer `{"error": "…"}` as their specifications say.',
      )
      .setVersion(version)
      // Kiln keys are opaque random strings, not JWTs: say so instead of Nest's default bearerFormat "JWT".
      .addBearerAuth({ type: 'http', scheme: 'bearer', bearerFormat: 'Kiln API key', description: 'Kiln API key' }, 'bearer')
      .addApiKey({ type: 'apiKey', in: 'header', name: 'x-api-key', description: 'Kiln API key' }, 'x-api-key')
      .build(),
  );
  document.components ??= {};
  document.components.schemas ??= {};
  document.components.schemas.Problem = PROBLEM_SCHEMA;
  document.components.schemas.ServingError = SERVING_ERROR_SCHEMA;
  const access = handlerAccess(app);
  for (const [path, item] of Object.entries(document.paths)) {
    for (const method of ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'] as const) {
      const op = item[method] as OperationObject | undefined;
      if (!op) continue;
      const a = op.operationId ? access.get(op.operationId) : undefined;
      if (!a) throw new Error(`OpenAPI: no handler found for operation ${op.operationId ?? `${method} ${path}`}`);
      describeAccess(op, a);
      addErrorResponses(op, path, a);
      addPathExamples(op);
      splitBodyByContentType(op, document);
    }
  }
  return document;
}

/**
 * Path parameter examples Swagger UI pre-fills: the README walkthrough's names, so "Try it out" works on a
 * server where the walkthrough ran (model `penguins`, its version 1 behind the alias `production`).
 */
const PATH_EXAMPLES: Record<string, unknown> = { name: 'penguins', alias: 'production', version: 1 };

function addPathExamples(op: OperationObject): void {
  for (const p of op.parameters ?? []) {
    if ('$ref' in p || p.in !== 'path' || p.example !== undefined || !(p.name in PATH_EXAMPLES)) continue;
    p.example = p.schema && !('$ref' in p.schema) && p.schema.type === 'string' ? String(PATH_EXAMPLES[p.name]) : PATH_EXAMPLES[p.name];
  }
}

/**
 * A body that is either a multipart upload or JSON is declared once as `oneOf` (Nest's @ApiBody applies one
 * schema to every content type); each content type gets its own branch here: multipart the branch with a
 * binary (file) property, so Swagger UI shows a file picker, and the others the rest.
 */
function splitBodyByContentType(op: OperationObject, document: OpenAPIObject): void {
  const body = op.requestBody;
  if (!body || '$ref' in body) return;
  const multipart = body.content['multipart/form-data'];
  const oneOf = multipart?.schema && !('$ref' in multipart.schema) ? multipart.schema.oneOf : undefined;
  if (!oneOf) return;
  const hasFile = (branch: (typeof oneOf)[number]): boolean => {
    const schema = '$ref' in branch ? document.components?.schemas?.[branch.$ref.split('/').pop()!] : branch;
    if (!schema || '$ref' in schema) return false;
    return Object.values(schema.properties ?? {}).some(
      (p) => !('$ref' in p) && (p.format === 'binary' || (p.items && !('$ref' in p.items) && p.items.format === 'binary')),
    );
  };
  const files = oneOf.filter(hasFile);
  const others = oneOf.filter((b) => !hasFile(b));
  if (files.length !== 1) return;
  for (const [type, media] of Object.entries(body.content)) {
    if (type === 'multipart/form-data') media.schema = files[0];
    else media.schema = others.length === 1 ? others[0] : { oneOf: others };
  }
}

function describeAccess(op: OperationObject, a: HandlerAccess): void {
  let line: string;
  if (a.isPublic) {
    op.security = [];
    line = 'No API key needed.';
  } else {
    op.security = SECURITY;
    const roles: string[] = a.roles ? [...new Set(['admin', ...a.roles])] : ['any role'];
    (op as unknown as Record<string, unknown>)['x-kiln-roles'] = a.roles
      ? [...new Set(['admin', ...a.roles])]
      : ['admin', 'developer', 'predictor', 'auditor'];
    line = `Roles: ${roles.join(', ')}.`;
  }
  op.description = op.description ? `${op.description}\n\n${line}` : line;
}

function addErrorResponses(op: OperationObject, path: string, a: HandlerAccess): void {
  const serving = SERVING_PREFIXES.some((p) => path === p || path.startsWith(p));
  const statuses = new Set<number>([503]);
  const params = op.parameters ?? [];
  if (op.requestBody || params.length > 0) statuses.add(400);
  if (path.includes('{')) statuses.add(404);
  if (!a.isPublic) statuses.add(401);
  if (!a.isPublic && a.roles) statuses.add(403);
  for (const code of Object.keys(op.responses)) if (Number(code) >= 400) statuses.add(Number(code));
  for (const status of [...statuses].sort((x, y) => x - y)) {
    const existing = op.responses[String(status)] as ResponseObject | undefined;
    const response: ResponseObject = existing ?? { description: ERROR_DESCRIPTIONS[status] ?? 'Error' };
    response.content ??= serving
      ? { 'application/json': { schema: { $ref: '#/components/schemas/ServingError' } } }
      : { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } };
    op.responses[String(status)] = response;
  }
}

/** Shorthand for inline response schemas: an object with the given properties, all present in every answer but `optional`. */
export function objectSchema(properties: Record<string, SchemaObject>, description?: string, optional: string[] = []): SchemaObject {
  const required = Object.keys(properties).filter((p) => !optional.includes(p));
  return { type: 'object', required, properties, ...(description ? { description } : {}) };
}

export const S = {
  string: { type: 'string' } as SchemaObject,
  number: { type: 'number' } as SchemaObject,
  integer: { type: 'integer' } as SchemaObject,
  boolean: { type: 'boolean' } as SchemaObject,
  dateTime: { type: 'string', format: 'date-time' } as SchemaObject,
  uuid: { type: 'string', format: 'uuid' } as SchemaObject,
  nullable: (schema: SchemaObject): SchemaObject => ({ ...schema, nullable: true }),
  array: (items: SchemaObject): SchemaObject => ({ type: 'array', items }),
  /** A JSON object whose members are described in prose (nested metrics, lineage, reports…). */
  object: (description?: string): SchemaObject => ({ type: 'object', additionalProperties: true, ...(description ? { description } : {}) }),
};
