import { createHash, randomUUID } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  type CompletedPart,
  type S3ClientConfig,
} from '@aws-sdk/client-s3';
import {
  ArtifactNotFoundError,
  ArtifactRef,
  ArtifactStore,
  ArtifactTooLargeError,
  checkTransientId,
  InvalidArtifactIdError,
  PutOptions,
  TRANSIENT_END_NAME,
  TransientFileGoneError,
  transientPartName,
  type S3ArtifactStoreLocation,
  type TransientEnd,
} from './artifact-store';

const SHA256_HEX = /^[0-9a-f]{64}$/;
/** Multipart part size: S3 wants ≥ 5 MiB for every part but the last. */
const PART_BYTES = 8 * 1024 * 1024;
/** The largest object one CopyObject request copies. */
const MAX_COPY_BYTES = 5 * 1024 * 1024 * 1024;

/**
 * S3 (or S3-compatible: MinIO, Ceph, R2, …) artifact store: `<prefix>sha256/ab/cd/<hash>`, the same layout
 * as the filesystem store. An object appears under its content key only once its hash is known, so a
 * reader never sees partial or wrong content:
 * - content that fits in one part (8 MiB, most models and checkpoints) is buffered, hashed, and written
 *   with one PutObject straight to its content key;
 * - larger content (dataset uploads) streams part by part into a multipart upload under `<prefix>tmp/`
 *   while it is hashed (memory stays at one part), then is copied to its content key with CopyObject
 *   (one request, up to 5 GiB: past that the put fails clearly while streaming) and the temporary object deleted. A failed
 *   or too-large put aborts the multipart upload, so nothing stays behind.
 * Hand-written on the plain client because `@aws-sdk/lib-storage` (the SDK's upload helper) is not a
 * dependency, and it would still need the temporary key and copy to keep content addressing.
 * Credentials come from the AWS SDK default provider chain (environment, shared files, instance role).
 */
export class S3ArtifactStore extends ArtifactStore {
  private readonly client: S3Client;
  private readonly prefix: string;

  /** `clientConfig` overrides the client settings derived from `where` (tests pass credentials). */
  constructor(
    private readonly where: S3ArtifactStoreLocation,
    clientConfig: S3ClientConfig = {},
  ) {
    super();
    this.prefix = where.prefix;
    this.client = new S3Client({
      region: where.region,
      forcePathStyle: where.forcePathStyle,
      ...(where.endpoint ? { endpoint: where.endpoint } : {}),
      ...clientConfig,
    });
  }

  async put(content: Readable | AsyncIterable<Uint8Array> | Uint8Array, options: PutOptions = {}): Promise<ArtifactRef> {
    const maxBytes = options.maxBytes ?? Number.POSITIVE_INFINITY;
    const hash = createHash('sha256');
    const source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array> = content instanceof Uint8Array ? [content] : content;
    let size = 0;
    let pending: Buffer[] = [];
    let pendingBytes = 0;
    let upload: { key: string; uploadId: string; parts: CompletedPart[] } | undefined;
    const flushPart = async (): Promise<void> => {
      const body = Buffer.concat(pending, pendingBytes);
      pending = [];
      pendingBytes = 0;
      if (!upload) {
        const key = `${this.prefix}tmp/${randomUUID()}.part`;
        const created = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.where.bucket, Key: key }));
        upload = { key, uploadId: created.UploadId!, parts: [] };
      }
      const PartNumber = upload.parts.length + 1;
      const part = await this.client.send(
        new UploadPartCommand({ Bucket: this.where.bucket, Key: upload.key, UploadId: upload.uploadId, PartNumber, Body: body }),
      );
      upload.parts.push({ PartNumber, ETag: part.ETag });
    };
    try {
      for await (const raw of source) {
        const chunk = typeof raw === 'string' ? Buffer.from(raw) : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
        size += chunk.length;
        if (size > maxBytes) throw new ArtifactTooLargeError(maxBytes);
        // stop before uploading what CopyObject could not place under its content key
        if (size > MAX_COPY_BYTES) throw new Error(`artifact exceeds the S3 store's limit of ${MAX_COPY_BYTES} bytes (one CopyObject)`);
        hash.update(chunk);
        pending.push(chunk);
        pendingBytes += chunk.length;
        if (pendingBytes >= PART_BYTES) await flushPart();
      }
      const sha256 = hash.digest('hex');
      const key = this.keyOf(sha256);
      if (!upload) {
        // Same content already stored: keep it (content-addressed, so identical).
        if (!(await this.stat(sha256))) {
          await this.client.send(new PutObjectCommand({ Bucket: this.where.bucket, Key: key, Body: Buffer.concat(pending, pendingBytes) }));
        }
        return { sha256, size };
      }
      if (pendingBytes > 0) await flushPart();
      const done = upload;
      upload = undefined;
      await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.where.bucket,
          Key: done.key,
          UploadId: done.uploadId,
          MultipartUpload: { Parts: done.parts },
        }),
      );
      try {
        if (!(await this.stat(sha256))) {
          await this.client.send(
            new CopyObjectCommand({ Bucket: this.where.bucket, Key: key, CopySource: copySource(this.where.bucket, done.key) }),
          );
        }
      } finally {
        await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: done.key }));
      }
      return { sha256, size };
    } catch (err) {
      if (upload) {
        const { key, uploadId } = upload;
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.where.bucket, Key: key, UploadId: uploadId }))
          .catch(() => undefined);
      }
      throw err;
    }
  }

  async get(sha256: string): Promise<Readable> {
    const res = await this.getObject(sha256);
    return res.Body as Readable;
  }

  async getBuffer(sha256: string): Promise<Buffer> {
    const res = await this.getObject(sha256);
    return Buffer.from(await res.Body!.transformToByteArray());
  }

  async stat(sha256: string): Promise<ArtifactRef | null> {
    try {
      const head = await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(sha256) }));
      return { sha256, size: head.ContentLength ?? 0 };
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  async delete(sha256: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(sha256) }));
  }

  /** Readiness: the bucket exists and these credentials may use it (HeadBucket); the error names the bucket. */
  async check(): Promise<void> {
    try {
      await this.client.send(new HeadBucketCommand({ Bucket: this.where.bucket }));
    } catch (err) {
      const why = (err as Error).message || (err as Error).name;
      const where = this.where.endpoint ? ` at ${this.where.endpoint}` : '';
      throw new Error(`S3 bucket "${this.where.bucket}"${where}: ${why}`, { cause: err });
    }
  }

  location(): S3ArtifactStoreLocation {
    return { ...this.where };
  }

  async putTransientPart(id: string, index: number, bytes: Buffer): Promise<void> {
    if (index > 0) await this.requireTransientPart(id, index - 1);
    // PutObject: the object appears whole or not at all.
    await this.client.send(
      new PutObjectCommand({ Bucket: this.where.bucket, Key: this.transientKey(id, transientPartName(index)), Body: bytes }),
    );
  }

  async endTransient(id: string, end: TransientEnd): Promise<void> {
    if (end.parts > 0) await this.requireTransientPart(id, end.parts - 1);
    await this.client.send(
      new PutObjectCommand({ Bucket: this.where.bucket, Key: this.transientKey(id, TRANSIENT_END_NAME), Body: JSON.stringify(end) }),
    );
  }

  async getTransientPart(id: string, index: number): Promise<Readable | null> {
    const res = await this.getKey(this.transientKey(id, transientPartName(index)));
    return res ? (res.Body as Readable) : null;
  }

  async transientEnd(id: string): Promise<TransientEnd | null> {
    const res = await this.getKey(this.transientKey(id, TRANSIENT_END_NAME));
    return res ? (JSON.parse(await res.Body!.transformToString()) as TransientEnd) : null;
  }

  async deleteTransient(id: string): Promise<void> {
    for (const o of await this.listKeys(this.transientKey(id, ''))) await this.deleteKey(o.key);
  }

  async sweepTransient(maxAgeMs: number): Promise<string[]> {
    const base = `${this.prefix}transient/`;
    // A transient file's last write is its newest object.
    const newest = new Map<string, { at: number; keys: string[] }>();
    for (const o of await this.listKeys(base)) {
      const id = o.key.slice(base.length).split('/')[0]!;
      const seen = newest.get(id) ?? { at: 0, keys: [] };
      seen.at = Math.max(seen.at, o.modified);
      seen.keys.push(o.key);
      newest.set(id, seen);
    }
    const swept: string[] = [];
    for (const [id, { at, keys }] of newest) {
      if (Date.now() - at < maxAgeMs) continue;
      for (const key of keys) await this.deleteKey(key);
      swept.push(id);
    }
    return swept;
  }

  /** A write after the first checks the previous part is still there (no directories on S3 to go missing). */
  private async requireTransientPart(id: string, index: number): Promise<void> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.where.bucket, Key: this.transientKey(id, transientPartName(index)) }));
    } catch (err) {
      if (isNotFound(err)) throw new TransientFileGoneError(id);
      throw err;
    }
  }

  /** Every object under `prefix` (paged by ListObjectsV2), with its last-modified time in ms. */
  private async listKeys(prefix: string): Promise<Array<{ key: string; modified: number }>> {
    const out: Array<{ key: string; modified: number }> = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(
        new ListObjectsV2Command({ Bucket: this.where.bucket, Prefix: prefix, ContinuationToken: token }),
      );
      for (const o of page.Contents ?? []) if (o.Key) out.push({ key: o.Key, modified: o.LastModified?.getTime() ?? 0 });
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  private async deleteKey(key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: this.where.bucket, Key: key }));
  }

  /** GetObject, or null when there is no such key. */
  private async getKey(key: string) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: key }));
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }

  /** `<prefix>transient/<uuid>/<name>`: built only from a validated UUID. */
  private transientKey(id: string, name: string): string {
    return `${this.prefix}transient/${checkTransientId(id)}/${name}`;
  }

  private async getObject(sha256: string) {
    try {
      return await this.client.send(new GetObjectCommand({ Bucket: this.where.bucket, Key: this.keyOf(sha256) }));
    } catch (err) {
      if (isNotFound(err)) throw new ArtifactNotFoundError(sha256);
      throw err;
    }
  }

  /** The object key for a digest; the only place a key is built, and only from 64 hex characters. */
  private keyOf(sha256: string): string {
    if (typeof sha256 !== 'string' || !SHA256_HEX.test(sha256)) throw new InvalidArtifactIdError(String(sha256));
    return `${this.prefix}sha256/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}/${sha256}`;
  }
}

/** CopyObject's `bucket/key` source, each key segment URL-encoded as S3 requires. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  if (e?.name === 'NoSuchBucket') return false; // a missing bucket is a broken store, not a missing artifact
  return e?.name === 'NoSuchKey' || e?.name === 'NotFound' || e?.$metadata?.httpStatusCode === 404;
}
