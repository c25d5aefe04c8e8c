/**
 * The 413 text for a body past the route's limit. Fastify's own is "Request body is too large", which
 * says neither how large nor the limit; this one says both, in Triton's words (its HTTP server answers
 * `request JSON size of N bytes exceeds the maximum allowed input size of M bytes`, and Triton's
 * qa/L0_http tests look for those phrases), so a client learns how far past the limit it is
 * (KILN_SERVING_BODY_LIMIT_BYTES on /v1 and /v2, KILN_BODY_LIMIT_BYTES elsewhere). The status stays 413
 * (RFC 9110's Content Too Large) where Triton answers 400.
 *
 * The size is the Content-Length when the body is sent as is (Fastify refuses it before reading a
 * byte). A body sent in chunks or compressed is measured while it arrives (the limit bounds the
 * inflated size): it is only known to be past the limit.
 */
export interface BodyLimitRequest {
  headers?: Record<string, string | string[] | undefined>;
  routeOptions?: { bodyLimit?: number };
}

function header(request: BodyLimitRequest, name: string): string | undefined {
  const value = request.headers?.[name];
  return Array.isArray(value) ? value[0] : value;
}

export function bodyTooLargeDetail(request: BodyLimitRequest): string {
  const limit = request.routeOptions?.bodyLimit;
  const type = header(request, 'content-type');
  const what = type === undefined || /json/i.test(type) ? 'request JSON size' : 'request size';
  const length = Number(header(request, 'content-length'));
  const encoded = header(request, 'content-encoding') !== undefined;
  const max = limit === undefined ? '' : ` of ${limit} bytes`;
  let size = '';
  if (Number.isSafeInteger(length) && length >= 0 && !encoded) size = ` of ${length} bytes`;
  else if (limit !== undefined) size = ` of more than ${limit} bytes${encoded ? ' once inflated' : ''}`;
  return `body: ${what}${size} exceeds the maximum allowed input size${max}`;
}
