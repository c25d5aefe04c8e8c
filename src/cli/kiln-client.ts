/**
 * The CLI's HTTP client: every command is a call to Kiln's HTTP API (the CLI imports no server code).
 * Errors come back as RFC 9457 problem details; `KilnApiError` keeps the status, title, detail and the
 * field errors so the CLI can print them as the server wrote them.
 */
import { openAsBlob } from 'node:fs';
import { basename } from 'node:path';

export interface ProblemFieldError {
  field: string;
  reason: string;
}

export class KilnApiError extends Error {
  constructor(
    readonly status: number,
    readonly title: string,
    readonly detail: string | undefined,
    readonly errors: ProblemFieldError[] = [],
  ) {
    super(`${status} ${title}${detail && detail !== title ? `: ${detail}` : ''}`);
  }
}

/** The server could not be reached at all (not running, wrong KILN_URL). */
export class KilnUnreachableError extends Error {}

export interface KilnClientOptions {
  url: string;
  key?: string;
}

export class KilnClient {
  readonly url: string;

  constructor(private readonly options: KilnClientOptions) {
    this.url = options.url.replace(/\/+$/, '');
  }

  headers(extra: Record<string, string> = {}): Record<string, string> {
    return { ...(this.options.key ? { authorization: `Bearer ${this.options.key}` } : {}), ...extra };
  }

  /** A JSON call; resolves with the parsed body (and the response, for headers), rejects with KilnApiError. */
  async call<T = any>(
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ body: T; response: Response }> {
    const init: RequestInit = {
      method,
      headers: this.headers({ ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers }),
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    const response = await this.fetch(path, init);
    return { body: await this.parse<T>(response), response };
  }

  async get<T = any>(path: string): Promise<T> {
    return (await this.call<T>('GET', path)).body;
  }

  async post<T = any>(path: string, body?: unknown, headers?: Record<string, string>): Promise<T> {
    return (await this.call<T>('POST', path, body ?? {}, headers)).body;
  }

  async put<T = any>(path: string, body: unknown): Promise<T> {
    return (await this.call<T>('PUT', path, body)).body;
  }

  async delete<T = any>(path: string): Promise<T> {
    return (await this.call<T>('DELETE', path)).body;
  }

  /** Uploads a file as multipart/form-data field `file`, streamed from disk. */
  async upload<T = any>(path: string, file: string): Promise<T> {
    const form = new FormData();
    form.append('file', await openAsBlob(file), basename(file));
    const response = await this.fetch(path, { method: 'POST', headers: this.headers(), body: form });
    return this.parse<T>(response);
  }

  /** A raw streaming request (server-sent events). */
  async stream(path: string, headers: Record<string, string>, signal?: AbortSignal): Promise<Response> {
    const response = await this.fetch(path, { headers: this.headers({ accept: 'text/event-stream', ...headers }), signal });
    if (!response.ok) await this.parse(response);
    return response;
  }

  private async fetch(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.url}${path}`, init);
    } catch (e) {
      if ((e as Error).name === 'AbortError') throw e;
      const cause = (e as { cause?: { code?: string; message?: string } }).cause;
      throw new KilnUnreachableError(
        `cannot reach Kiln at ${this.url} (${cause?.code ?? cause?.message ?? (e as Error).message}); ` +
          'is it running? Set KILN_URL or --url',
      );
    }
  }

  private async parse<T>(response: Response): Promise<T> {
    const text = await response.text();
    let body: unknown = text;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON: keep the text
    }
    if (response.ok) return body as T;
    const p = (typeof body === 'object' && body !== null ? body : {}) as {
      title?: string;
      detail?: string;
      error?: string;
      errors?: ProblemFieldError[];
    };
    throw new KilnApiError(
      response.status,
      p.title ?? response.statusText,
      p.detail ?? p.error ?? (typeof body === 'string' ? body : undefined),
      Array.isArray(p.errors) ? p.errors : [],
    );
  }
}
