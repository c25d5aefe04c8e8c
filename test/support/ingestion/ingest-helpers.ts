/** Test helpers of the ingestion pipeline (src/ingestion/pipeline/*.spec.ts and test/ingestion). */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Writable } from 'node:stream';
import { runIngest, type IngestOptions, type IngestResult } from '../../../src/ingestion/pipeline/ingest-pipeline';

/** Repository root (works from test/support/ingestion and from dist/test/support/ingestion). */
export const ROOT = resolve(__dirname, __dirname.includes(`${join('dist', 'test')}`) ? '../../../..' : '../../..');
export const VEGA = join(ROOT, 'node_modules', 'vega-datasets', 'data');

export function vegaFile(name: string): Buffer {
  return readFileSync(join(VEGA, name));
}

export class CollectingSink extends Writable {
  chunks: Buffer[] = [];
  constructor() {
    super({ highWaterMark: 1 << 16 });
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get bytes(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

/** Ingests a buffer, split into small chunks to exercise chunk boundaries. */
export async function ingestBuffer(
  data: Buffer | string,
  opts: Omit<IngestOptions, 'source' | 'sink'> & { chunkSize?: number },
): Promise<{ result: IngestResult; arrow: Buffer; sink: CollectingSink }> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  const size = opts.chunkSize ?? 4093;
  const sink = new CollectingSink();
  const { chunkSize: _c, ...rest } = opts;
  void _c;
  const result = await runIngest({
    ...rest,
    source: () =>
      (async function* () {
        for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
      })(),
    sink,
  });
  return { result, arrow: sink.bytes, sink };
}

// ---- plain statistics, written independently of the pipeline
export function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}
export function sampleStd(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, x) => a + (x - m) ** 2, 0) / (xs.length - 1));
}
/** numpy's default (linear) quantile. */
export function quantile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * p;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (s[hi]! - s[lo]!) * (pos - lo);
}
export function close(actual: number | null | undefined, expected: number, eps = 1e-9): boolean {
  return typeof actual === 'number' && Math.abs(actual - expected) <= eps * Math.max(1, Math.abs(expected));
}
