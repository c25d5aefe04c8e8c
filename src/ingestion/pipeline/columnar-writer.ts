/**
 * Apache Arrow IPC stream encoding of the validated batches. Batches are built from the
 * validator's typed buffers with `makeData` (no per-value builder calls) and serialized by
 * Arrow's own `RecordBatchStreamWriter` into a collecting byte queue, so each batch comes out as
 * one Buffer the caller writes to its sink with backpressure.
 *
 * Storage: number and integer → Float64, boolean → Bool, timestamp → Timestamp(ms, UTC),
 * categorical and string → Utf8. Every field is nullable. The logical column types live in the
 * ingest result (`columns`), which the dataset version stores; `DatasetReader` takes them back.
 */
import {
  AsyncByteQueue,
  Bool,
  Field,
  Float64,
  RecordBatch,
  RecordBatchStreamWriter,
  Schema,
  Struct,
  TimestampMillisecond,
  Utf8,
  makeData,
  type Data,
  type DataType,
} from 'apache-arrow';
import type { ColumnState } from './row-validation';
import type { Storage } from './schema-inference';

/** Rows per Arrow record batch. */
export const DEFAULT_BATCH_ROWS = 65536;

export function arrowTypeOf(storage: Storage): DataType {
  switch (storage) {
    case 'f64':
      return new Float64();
    case 'bool':
      return new Bool();
    case 'ts':
      return new TimestampMillisecond('UTC');
    case 'utf8':
      return new Utf8();
  }
}

/** Collects what the Arrow writer emits instead of queueing it for an async reader. */
class CollectingQueue extends AsyncByteQueue {
  chunks: Uint8Array[] = [];
  override write(value: Uint8Array): void {
    if (value.byteLength > 0) this.chunks.push(value);
  }
  take(): Buffer {
    const c = this.chunks;
    this.chunks = [];
    return Buffer.concat(c);
  }
}

function packBits(bytes: Uint8Array, len: number): Uint8Array {
  const out = new Uint8Array((len + 7) >> 3);
  for (let i = 0; i < len; i++) if (bytes[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

function countZeros(bytes: Uint8Array, len: number): number {
  let z = 0;
  for (let i = 0; i < len; i++) if (bytes[i] === 0) z++;
  return z;
}

const TWO32 = 4294967296;

function timestampsToInt64(values: Float64Array, valid: Uint8Array, len: number): BigInt64Array {
  const out = new BigInt64Array(len);
  const words = new Int32Array(out.buffer);
  for (let i = 0; i < len; i++) {
    if (!valid[i]) continue;
    const v = values[i]!;
    const hi = Math.floor(v / TWO32);
    const lo = v - hi * TWO32; // [0, 2^32)
    words[2 * i] = lo | 0;
    words[2 * i + 1] = hi | 0;
  }
  return out;
}

/** Builds the Arrow `Data` of one column from the validator's buffers (first `len` rows). */
export function columnData(col: ColumnState, len: number): Data {
  const nullCount = countZeros(col.valid, len);
  const nullBitmap = nullCount > 0 ? packBits(col.valid, len) : undefined;
  if (nullCount > 0) {
    // Null slots may hold values of dropped rows: zero them so equal data gives equal bytes.
    const v = col.valid;
    const f = col.f64;
    const u = col.u8;
    for (let i = 0; i < len; i++) {
      if (v[i]) continue;
      if (f) f[i] = 0;
      if (u) u[i] = 0;
    }
  }
  switch (col.storage) {
    case 'f64':
      return makeData({ type: new Float64(), length: len, nullCount, nullBitmap, data: col.f64!.subarray(0, len) });
    case 'bool':
      return makeData({ type: new Bool(), length: len, nullCount, nullBitmap, data: packBits(col.u8!, len) });
    case 'ts':
      return makeData({
        type: new TimestampMillisecond('UTC'),
        length: len,
        nullCount,
        nullBitmap,
        data: timestampsToInt64(col.f64!, col.valid, len),
      });
    case 'utf8': {
      // Bytes were written row by row by the validator; null slots are zero-length.
      const valueOffsets = col.offsets!.subarray(0, len + 1);
      const data = col.bytes!.subarray(0, valueOffsets[len]!);
      return makeData({ type: new Utf8(), length: len, nullCount, nullBitmap, valueOffsets, data });
    }
  }
}

/** Encodes validated batches as an Arrow IPC stream, one Buffer per call. */
export class ArrowStreamEncoder {
  readonly schema: Schema;
  private readonly queue = new CollectingQueue();
  private readonly writer = new RecordBatchStreamWriter({ autoDestroy: false });
  private readonly structType: Struct;
  batches = 0;
  bytes = 0;

  constructor(private readonly columns: ColumnState[]) {
    this.schema = new Schema(columns.map((c) => new Field(c.name, arrowTypeOf(c.storage), true)));
    this.structType = new Struct(this.schema.fields);
  }

  /** The schema message; call once before the first batch. */
  start(): Buffer {
    this.writer.reset(this.queue, this.schema);
    return this.account(this.queue.take());
  }

  /** One record batch of the first `len` rows of the column buffers. */
  encode(len: number): Buffer {
    const children = this.columns.map((c) => columnData(c, len));
    const data = makeData({ type: this.structType, length: len, nullCount: 0, children });
    this.writer.write(new RecordBatch(this.schema, data));
    this.batches++;
    return this.account(this.queue.take());
  }

  /** End-of-stream marker. */
  finish(): Buffer {
    this.writer.finish();
    return this.account(this.queue.take());
  }

  private account(b: Buffer): Buffer {
    this.bytes += b.length;
    return b;
  }
}
