/**
 * Test helper: validates bodies against the schemas of the Open Inference Protocol's own OpenAPI
 * file (`open_inference_rest.yaml` beside this file, KServe, Apache-2.0), with Ajv. Used by the
 * codec unit tests and the /v2 e2e test.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import Ajv from 'ajv';
import { load } from 'js-yaml';

export type OipSchemaName =
  | 'metadata_server_response'
  | 'metadata_server_error_response'
  | 'metadata_model_response'
  | 'metadata_model_error_response'
  | 'inference_request'
  | 'inference_response'
  | 'inference_error_response';

const FILE = join('test', 'support', 'inference', 'open_inference_rest.yaml');

/** The repository root, from the source tree or any compiled output directory. */
function repoRoot(): string {
  let dir = __dirname;
  while (!existsSync(join(dir, 'package.json')) || !existsSync(join(dir, FILE))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`cannot find ${FILE} above ${__dirname}`);
    dir = up;
  }
  return dir;
}

let ajv: Ajv | undefined;

function compiled(): Ajv {
  if (ajv) return ajv;
  const spec = load(readFileSync(join(repoRoot(), FILE), 'utf8')) as { components: { schemas: object } };
  // strict: false — the OpenAPI file carries `x-examples` and other vendor keywords.
  ajv = new Ajv({ strict: false, allErrors: true });
  ajv.addSchema({ $id: 'oip', components: spec.components }, 'oip');
  return ajv;
}

/** Errors of `body` against one of the file's component schemas (empty when valid). */
export function oipSchemaErrors(name: OipSchemaName, body: unknown): string[] {
  const validate = compiled().getSchema(`oip#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name} in the OpenAPI file`);
  if (validate(body)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message ?? ''}`);
}
