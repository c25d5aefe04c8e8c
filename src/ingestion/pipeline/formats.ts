/**
 * Input formats and the byte layer: format resolution from the file name or an explicit format,
 * gzip detection (magic bytes or `.gz`), inflated-size cap (gzip-bomb guard) and a streaming
 * UTF-8 validity check. Everything is streamed chunk by chunk; nothing holds the whole file.
 */
import { isUtf8 } from 'node:buffer';
import { Readable, pipeline } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { IngestInputError } from './errors';

export type IngestFormat = 'csv' | 'tsv' | 'ndjson' | 'json';
export const INGEST_FORMATS: readonly IngestFormat[] = ['csv', 'tsv', 'ndjson', 'json'];

/** Default cap on decompressed bytes of a gzip input: 8 GiB. */
export const DEFAULT_MAX_INFLATED_BYTES = 8 * 1024 ** 3;

export interface ResolvedFormat {
  format: IngestFormat;
  /** The name says `.gz`; the magic bytes decide in the end. */
  gzipByName: boolean;
}

const EXT_FORMATS: Record<string, IngestFormat> = {
  csv: 'csv',
  tsv: 'tsv',
  tab: 'tsv',
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  json: 'json',
};

/**
 * `format` wins over the file name. Accepted explicit values: csv, tsv, ndjson (alias jsonl), json,
 * optionally suffixed `+gzip` / `.gz` (gzip is also detected from magic bytes, so the suffix is optional).
 */
export function resolveFormat(fileName?: string, format?: string): ResolvedFormat {
  if (format !== undefined && format !== '') {
    const f = format
      .trim()
      .toLowerCase()
      .replace(/(\+gzip|\.gz|\+gz)$/, '');
    const resolved = f === 'jsonl' ? 'ndjson' : (INGEST_FORMATS as readonly string[]).includes(f) ? (f as IngestFormat) : null;
    if (!resolved) {
      throw new IngestInputError(
        'UNKNOWN_FORMAT',
        'format',
        `unknown format ${JSON.stringify(format)}; expected one of ${INGEST_FORMATS.join(', ')} (optionally gzip-compressed)`,
      );
    }
    return { format: resolved, gzipByName: /(\+gzip|\.gz|\+gz)$/i.test(format.trim()) || /\.gz$/i.test(fileName ?? '') };
  }
  const name = (fileName ?? '').trim().toLowerCase();
  const gzipByName = name.endsWith('.gz');
  const base = gzipByName ? name.slice(0, -3) : name;
  const dot = base.lastIndexOf('.');
  const ext = dot >= 0 ? base.slice(dot + 1) : '';
  const resolved = EXT_FORMATS[ext];
  if (!resolved) {
    throw new IngestInputError(
      'UNKNOWN_FORMAT',
      fileName ? 'file' : 'format',
      fileName
        ? `cannot tell the format of ${JSON.stringify(fileName)}: ` +
            `expected a .csv, .tsv, .ndjson, .jsonl or .json file (optionally .gz), or an explicit format`
        : 'no format given and no file name to tell it from; expected one of csv, tsv, ndjson, json',
    );
  }
  return { format: resolved, gzipByName };
}

export type ByteInput = Readable | AsyncIterable<Uint8Array | string> | Uint8Array;

export interface ByteStats {
  /** Bytes read from the source (compressed size for gzip). */
  inputBytes: number;
  /** Bytes after decompression (equals inputBytes when not compressed). */
  decodedBytes: number;
  gzip: boolean;
}

function toBuffer(c: Uint8Array | string): Buffer {
  return typeof c === 'string' ? Buffer.from(c, 'utf8') : Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
}

async function* iterate(input: ByteInput): AsyncGenerator<Buffer> {
  if (input instanceof Uint8Array) {
    yield toBuffer(input);
    return;
  }
  for await (const c of input as AsyncIterable<Uint8Array | string>) {
    const b = toBuffer(c);
    if (b.length > 0) yield b;
  }
}

const ZLIB_HINT: Record<string, string> = {
  Z_BUF_ERROR: 'the gzip data is truncated (unexpected end of file)',
  Z_DATA_ERROR: 'the gzip data is corrupt',
};

/**
 * Decompresses when the data starts with the gzip magic bytes (1f 8b), caps the inflated size,
 * counts bytes. A `.gz` name on data without the magic bytes is an error.
 */
export async function* decompress(
  input: ByteInput,
  opts: { gzipByName: boolean; maxInflatedBytes: number; stats: ByteStats },
): AsyncGenerator<Buffer> {
  const { stats } = opts;
  const src = iterate(input);
  // Peek at least 2 bytes.
  const head: Buffer[] = [];
  let headLen = 0;
  let done = false;
  while (headLen < 2) {
    const r = await src.next();
    if (r.done) {
      done = true;
      break;
    }
    head.push(r.value);
    headLen += r.value.length;
  }
  const first = Buffer.concat(head);
  const gzip = first.length >= 2 && first[0] === 0x1f && first[1] === 0x8b;
  stats.gzip = gzip;
  if (!gzip) {
    if (opts.gzipByName && first.length > 0) {
      throw new IngestInputError('GZIP_CORRUPT', 'file', 'the file is named .gz but is not gzip data (no gzip header)');
    }
    if (first.length > 0) {
      stats.inputBytes += first.length;
      stats.decodedBytes += first.length;
      yield first;
    }
    if (done) return;
    for (;;) {
      const r = await src.next();
      if (r.done) return;
      stats.inputBytes += r.value.length;
      stats.decodedBytes += r.value.length;
      yield r.value;
    }
  }

  async function* compressed(): AsyncGenerator<Buffer> {
    stats.inputBytes += first.length;
    yield first;
    if (done) return;
    for (;;) {
      const r = await src.next();
      if (r.done) return;
      stats.inputBytes += r.value.length;
      yield r.value;
    }
  }
  const gunzip = createGunzip({ chunkSize: 64 * 1024 });
  const feeder = Readable.from(compressed(), { objectMode: false });
  let feedError: unknown = null;
  pipeline(feeder, gunzip, (err) => {
    if (err) feedError = err;
  });
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      stats.decodedBytes += chunk.length;
      if (stats.decodedBytes > opts.maxInflatedBytes) {
        throw new IngestInputError(
          'GZIP_TOO_LARGE',
          'file',
          `the gzip data inflates to more than the limit of ${opts.maxInflatedBytes} bytes (possible gzip bomb)`,
        );
      }
      yield chunk;
    }
  } catch (e) {
    if (e instanceof IngestInputError) throw e;
    const err = (feedError ?? e) as NodeJS.ErrnoException;
    if (err instanceof IngestInputError) throw err;
    const code = typeof err?.code === 'string' ? err.code : '';
    if (code.startsWith('Z_') || /zlib|gzip|header check|invalid|unexpected end/i.test(String(err?.message))) {
      throw new IngestInputError('GZIP_CORRUPT', 'file', `${ZLIB_HINT[code] ?? 'the gzip data is corrupt'}: ${err.message}`);
    }
    throw err;
  } finally {
    feeder.destroy();
    gunzip.destroy();
  }
}

/** Number of bytes at the end of `b` that start an incomplete UTF-8 sequence (0..3). */
function incompleteTail(b: Buffer): number {
  const n = b.length;
  for (let back = 1; back <= Math.min(4, n); back++) {
    const c = b[n - back]!;
    if ((c & 0xc0) === 0x80) continue; // continuation byte: keep looking for the lead
    let need = 1;
    if ((c & 0xe0) === 0xc0) need = 2;
    else if ((c & 0xf0) === 0xe0) need = 3;
    else if ((c & 0xf8) === 0xf0) need = 4;
    return need > back ? back : 0;
  }
  return 0;
}

/** Byte offset of the first invalid UTF-8 byte in `b` (slow path, only used to report). */
function firstInvalidOffset(b: Buffer): number {
  const validPrefix = (m: number): boolean => isUtf8(b.subarray(0, m - incompleteTail(b.subarray(0, m))));
  let lo = 0; // validPrefix(lo) is true
  let hi = b.length; // validPrefix(hi) is false
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (validPrefix(mid)) lo = mid;
    else hi = mid;
  }
  return hi - 1;
}

/**
 * Passes chunks through unchanged after checking they are valid UTF-8 (native `buffer.isUtf8`),
 * carrying a multi-byte sequence split across chunks over to the next check.
 */
export async function* validateUtf8(chunks: AsyncIterable<Buffer>): AsyncGenerator<Buffer> {
  let carry: Buffer | null = null;
  let offset = 0;
  let first = true;
  for await (const chunk of chunks) {
    const b: Buffer = carry ? Buffer.concat([carry, chunk]) : chunk;
    const tail = incompleteTail(b);
    const body = tail ? b.subarray(0, b.length - tail) : b;
    if (!isUtf8(body)) {
      const at = offset + firstInvalidOffset(body);
      const utf16 = first && b.length >= 2 && ((b[0] === 0xff && b[1] === 0xfe) || (b[0] === 0xfe && b[1] === 0xff));
      throw new IngestInputError(
        'INVALID_UTF8',
        'file',
        `the file is not valid UTF-8 (invalid byte sequence near byte ${at})${utf16 ? '; it looks like UTF-16, re-save it as UTF-8' : ''}`,
      );
    }
    first = false;
    offset += body.length;
    carry = tail ? Buffer.from(b.subarray(b.length - tail)) : null;
    // Pass the original chunk through (the parser handles split sequences itself).
    yield chunk;
  }
  if (carry) {
    throw new IngestInputError('INVALID_UTF8', 'file', `the file is not valid UTF-8 (truncated multi-byte sequence at byte ${offset})`);
  }
}
