import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ArtifactNotFoundError, ArtifactTooLargeError, InvalidArtifactIdError } from '../artifacts/artifact-store';
import { ErrorFormats, problem, ProblemDetails } from './problem-details';
import { ValidationProblemException } from './validation';
import { bodyTooLargeDetail, type BodyLimitRequest } from './body-too-large';

/** Maps any thrown value to problem details; unknown errors become a 500 without internals leaking. */
export function toProblem(error: unknown, request: { url: string; id: string } & BodyLimitRequest): ProblemDetails {
  const base = { instance: request.url.split('?')[0], requestId: request.id };
  // Fastify's body limit, raised as is on direct routes and wrapped in an HttpException (its cause) by Nest's adapter.
  if (isBodyTooLarge(error) || (error instanceof HttpException && isBodyTooLarge(error.cause))) {
    return problem(413, bodyTooLargeDetail(request), base);
  }
  if (error instanceof ValidationProblemException) {
    return problem(400, error.message, { ...base, errors: error.errors });
  }
  if (error instanceof HttpException) {
    const status = error.getStatus();
    const response = error.getResponse();
    let detail = error.message;
    let extensions: Record<string, unknown> = {};
    if (typeof response === 'object' && response !== null) {
      // Nest's own members are folded into `detail`; anything else (errors, failing…) is an extension member.
      const { message, error: _name, statusCode: _code, ...rest } = response as Record<string, unknown>;
      if (Array.isArray(message)) detail = message.join('; ');
      else if (typeof message === 'string') detail = message;
      extensions = rest;
    }
    return { ...problem(status, detail, base), ...extensions };
  }
  if (error instanceof ArtifactNotFoundError) return problem(404, error.message, base);
  if (error instanceof InvalidArtifactIdError) return problem(400, error.message, base);
  if (error instanceof ArtifactTooLargeError) return problem(413, error.message, base);
  if (isMalformedMultipart(error)) {
    const reason = `is not a well-formed multipart/form-data body (${error.message})`;
    return problem(400, `body: ${reason}`, { ...base, errors: [{ field: 'body', reason }] });
  }
  // Errors raised by Fastify itself (body too large, malformed JSON, unsupported media type…).
  const fastifyError = error as { statusCode?: number; code?: string; message?: string };
  if (typeof fastifyError.statusCode === 'number' && fastifyError.statusCode >= 400 && fastifyError.statusCode < 500) {
    const detail =
      fastifyError.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || /JSON/.test(fastifyError.message ?? '')
        ? `body: ${fastifyError.message}`
        : (fastifyError.message ?? 'bad request');
    return problem(fastifyError.statusCode, detail, base);
  }
  return problem(HttpStatus.INTERNAL_SERVER_ERROR, 'internal server error', base);
}

function isBodyTooLarge(error: unknown): boolean {
  return (error as { code?: unknown } | null | undefined)?.code === 'FST_ERR_CTP_BODY_TOO_LARGE';
}

/**
 * busboy (under @fastify/multipart) reports a malformed body (no or wrong boundary, cut short, bad
 * part headers) as a plain Error while the handler reads the parts; those are the client's fault.
 */
function isMalformedMultipart(error: unknown): error is Error {
  if (!(error instanceof Error) || error instanceof HttpException || 'statusCode' in error) return false;
  return /^(Multipart: Boundary not found|Boundary required|Unexpected end of multipart data|(Part|File) terminated early)/.test(
    error.message,
  );
}

@Catch()
export class HttpErrorFilter implements ExceptionFilter {
  private readonly logger = new Logger('HttpError');

  constructor(private readonly formats: ErrorFormats) {}

  catch(error: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw error;
    const ctx = host.switchToHttp();
    const request = ctx.getRequest<FastifyRequest>();
    const reply = ctx.getResponse<FastifyReply>();
    sendProblem(this.formats, error, request, reply, this.logger);
  }
}

export function sendProblem(
  formats: ErrorFormats,
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
  logger: Pick<Logger, 'error'>,
): void {
  const details = toProblem(error, request);
  // Deliberate 5xx answers (HttpException, e.g. 503 not ready) are not crashes; log only the rest.
  if (details.status >= 500 && !(error instanceof HttpException)) logger.error({ err: error, requestId: request.id }, 'unhandled error');
  const { contentType, body } = formats.forUrl(request.url)(details);
  if (reply.sent) return;
  void reply.status(details.status).header('content-type', contentType).send(body);
}
