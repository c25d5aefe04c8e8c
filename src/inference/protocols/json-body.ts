/**
 * The serving protocols' JSON body dialects, registered with the platform's body parser
 * (`JsonBodyDialects`, src/platform/http/json-body.ts) by the inference module:
 *
 *  - on `/v1` (TensorFlow Serving REST) and `/v2` (Open Inference Protocol) the bare tokens `NaN`,
 *    `Infinity` and `-Infinity` are numbers, as TF Serving and Triton read them. The fast path stays
 *    plain JSON.parse; only a body that fails it and contains such a token is parsed again leniently;
 *  - on `/v1` and `/v2` a form-encoded body is JSON: `curl -d '{"instances": …}'` — the example of TF
 *    Serving's own documentation — sends JSON under that type, and TF Serving reads it as JSON;
 *  - on `/v1` and `/v2` a body without Content-Type is JSON: tritonclient and `requests.post(data=…)`
 *    send none, and Triton, KServe and TF Serving read it as JSON;
 *  - JSON nests up to 100 levels there (Triton's limit) instead of the platform's 64;
 *  - on `/v2` the binary tensor extension: with `Inference-Header-Content-Length` the body is that many
 *    bytes of JSON followed by the raw tensors (`JsonWithBinary`), under any of these types or
 *    `application/octet-stream` (see binary-tensors.ts).
 *
 * Why not json5 for the lenient path: it accepts the whole JSON5 superset (comments, single quotes,
 * unquoted keys, hex, trailing commas), which TF Serving refuses, and it is slow — measured on a
 * 2.5 MB `instances` body: JSON.parse 33 ms, json5 410 ms, the token rewrite below 77 ms.
 */
import type { JsonBodyDialect, JsonBodyDialects } from '../../platform/http/json-body';

/** Triton's JSON nesting limit on its HTTP endpoints. */
export const SERVING_MAX_JSON_DEPTH = 100;
/** The binary tensor extension's header: byte length of the JSON part of a body (lower case, as Node reads headers). */
export const INFERENCE_HEADER_CONTENT_LENGTH = 'inference-header-content-length';

/** Strings (kept as they are) or one of the non-finite tokens outside strings. */
const NON_FINITE_OR_STRING = /"[^"\\]*(?:\\.[^"\\]*)*"|-?Infinity|NaN/g;
const HAS_NON_FINITE = /NaN|Infinity/;

/**
 * JSON.parse that also reads the bare tokens NaN, Infinity and -Infinity outside strings.
 * ±Infinity become `±1e999` (JSON.parse itself reads that as ±Infinity); NaN becomes a string
 * placeholder with a random nonce that a reviver turns back into NaN.
 */
export function parseJsonWithNonFinite(text: string): unknown {
  const nonce = `\u0000NaN:${Math.random().toString(36).slice(2)}`;
  let sawNaN = false;
  const rewritten = text.replace(NON_FINITE_OR_STRING, (token) => {
    if (token.charCodeAt(0) === 0x22) return token;
    if (token === 'NaN') {
      sawNaN = true;
      return JSON.stringify(nonce);
    }
    return token.startsWith('-') ? '-1e999' : '1e999';
  });
  if (!sawNaN) return JSON.parse(rewritten);
  return JSON.parse(rewritten, (key, value) => {
    if (key === nonce) throw new SyntaxError('NaN is not a valid object key');
    return value === nonce ? NaN : value;
  });
}

/** TensorFlow Serving REST (/v1): NaN and ±Infinity tokens; form-encoded bodies are JSON. */
export const TF_SERVING_BODY: JsonBodyDialect = {
  lenient: { applies: (text) => HAS_NON_FINITE.test(text), parse: parseJsonWithNonFinite },
  formIsJson: true,
  untypedIsJson: true,
  maxDepth: SERVING_MAX_JSON_DEPTH,
};

/**
 * Open Inference Protocol (/v2): the NaN and ±Infinity tokens too, as Triton reads them (rapidjson's
 * kParseNanAndInfFlag) and tritonclient writes them for non-finite FP32/FP64 data; form-encoded and
 * untyped bodies are JSON, an empty body is `{}`; binary tensors after the JSON.
 */
export const OPEN_INFERENCE_BODY: JsonBodyDialect = {
  lenient: { applies: (text) => HAS_NON_FINITE.test(text), parse: parseJsonWithNonFinite },
  formIsJson: true,
  untypedIsJson: true,
  maxDepth: SERVING_MAX_JSON_DEPTH,
  binaryHeader: INFERENCE_HEADER_CONTENT_LENGTH,
  // tritonclient's aio client posts the repository index with an empty octet-stream body; Triton reads `{}`
  emptyIsObject: true,
};

/** Registers the serving protocols' dialects (`/v1`, `/v2`). */
export function registerServingBodyDialects(dialects: JsonBodyDialects): JsonBodyDialects {
  return dialects.register('/v1', TF_SERVING_BODY).register('/v2', OPEN_INFERENCE_BODY);
}

/** /v1 and /v2: the serving protocols' paths. */
export function isServingPath(path: string): boolean {
  return /^\/v[12](\/|$)/.test(path);
}
