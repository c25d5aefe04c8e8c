/** The console's only way to the server: fetch with the session's API key, problem+json turned into ApiError. */

const KEY_STORAGE = 'kiln.apiKey';

export type Role = 'admin' | 'developer' | 'predictor' | 'auditor';
export interface Session {
  key: string;
  keyId: string;
  name: string;
  role: Role;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly problem: unknown,
  ) {
    super(message);
  }
}

export function storedKey(): string | null {
  return sessionStorage.getItem(KEY_STORAGE);
}
export function storeKey(key: string | null): void {
  if (key) sessionStorage.setItem(KEY_STORAGE, key);
  else sessionStorage.removeItem(KEY_STORAGE);
}

/** What a role may do in the console (mirrors the server's @Roles; the server checks again). */
export const can = {
  readData: (r: Role) => r === 'admin' || r === 'developer',
  write: (r: Role) => r === 'admin' || r === 'developer',
  monitor: (r: Role) => r !== 'predictor',
  audit: (r: Role) => r === 'admin' || r === 'auditor',
  admin: (r: Role) => r === 'admin',
};

function messageOf(status: number, body: unknown, text: string): string {
  if (body && typeof body === 'object') {
    const p = body as { detail?: string; title?: string; errors?: Array<{ field?: string; message?: string }>; error?: string };
    const fields = Array.isArray(p.errors) ? p.errors.map((e) => `${e.field ?? ''}: ${e.message ?? ''}`).join('; ') : '';
    return [p.detail ?? p.error ?? p.title ?? `HTTP ${status}`, fields].filter(Boolean).join(' — ');
  }
  return text || `HTTP ${status}`;
}

export async function request<T = any>(method: string, path: string, body?: unknown, key = storedKey()): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (key) headers.authorization = `Bearer ${key}`;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) payload = body;
  else if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = JSON.stringify(body);
  }
  const res = await fetch(path, { method, headers, body: payload });
  const text = await res.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = text;
  }
  if (!res.ok) throw new ApiError(res.status, messageOf(res.status, parsed, text), parsed);
  return parsed as T;
}

export const get = <T = any>(path: string) => request<T>('GET', path);
export const post = <T = any>(path: string, body?: unknown) => request<T>('POST', path, body ?? {});
export const put = <T = any>(path: string, body?: unknown) => request<T>('PUT', path, body ?? {});

export const enc = encodeURIComponent;

export interface StreamHandlers {
  [event: string]: (data: any) => void;
}

/**
 * Opens a server-sent event stream. EventSource cannot send Authorization, so a short-lived token bound to
 * this path comes first (POST /api/stream-tokens). After one of the `final` events the stream is closed; a
 * connection dropped before that reconnects with a fresh token (the server replays the epochs, which the
 * handlers key by epoch). Returns a function that closes the stream.
 */
export function openStream(path: string, handlers: StreamHandlers, final: string[], onError: (e: Error) => void): () => void {
  let closed = false;
  let source: EventSource | null = null;
  const close = () => {
    closed = true;
    source?.close();
  };
  const connect = async (): Promise<void> => {
    try {
      const { token } = await post<{ token: string }>('/api/stream-tokens', { path });
      if (closed) return;
      source = new EventSource(`${path}?${new URLSearchParams({ token }).toString()}`);
      for (const [name, handle] of Object.entries(handlers)) {
        source.addEventListener(name, (e) => {
          handle(JSON.parse((e as MessageEvent<string>).data));
          if (final.includes(name)) close();
        });
      }
      source.onerror = () => {
        source?.close();
        if (!closed) setTimeout(() => void connect(), 1000);
      };
    } catch (e) {
      onError(e as Error);
    }
  };
  void connect();
  return close;
}
