import { STATUS_CODES } from 'node:http';

/** One field-level problem: which input and why. */
export interface FieldError {
  field: string;
  reason: string;
}

/** RFC 9457 problem details, with Kiln's extension members `requestId` and `errors`. */
export interface ProblemDetails {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  requestId?: string;
  errors?: FieldError[];
}

export interface FormattedError {
  contentType: string;
  body: unknown;
}

/** Turns a problem into the wire format of a family of routes. */
export type ErrorFormatter = (problem: ProblemDetails) => FormattedError;

export const problemJson: ErrorFormatter = (problem) => ({ contentType: 'application/problem+json', body: problem });

/** The `{"error": "..."}` body that TensorFlow Serving and the Open Inference Protocol use. */
export const errorMessageJson: ErrorFormatter = (problem) => ({
  contentType: 'application/json',
  body: { error: problem.detail },
});

export function problem(status: number, detail: string, extra: Partial<ProblemDetails> = {}): ProblemDetails {
  return { type: 'about:blank', title: STATUS_CODES[status] ?? 'Error', status, detail, ...extra };
}

/**
 * Error body format chosen by URL prefix: problem+json everywhere by default; the serving
 * protocols register their own (`/v1`, `/v2` → `{"error"}`). Longest matching prefix wins.
 */
export class ErrorFormats {
  private readonly byPrefix: Array<[string, ErrorFormatter]> = [];

  constructor(private readonly fallback: ErrorFormatter = problemJson) {}

  register(prefix: string, formatter: ErrorFormatter): this {
    this.byPrefix.push([prefix, formatter]);
    this.byPrefix.sort((a, b) => b[0].length - a[0].length);
    return this;
  }

  forUrl(url: string): ErrorFormatter {
    const path = url.split('?')[0] ?? url;
    for (const [prefix, formatter] of this.byPrefix) {
      if (path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`)) return formatter;
    }
    return this.fallback;
  }
}
