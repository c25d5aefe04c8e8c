/**
 * A real S3-compatible server (s3rver, on a free port, files in a temporary directory) for tests of the
 * S3 artifact store, with one empty bucket. Credentials are s3rver's fixed `S3RVER`/`S3RVER`.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import type { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
import S3Object from 's3rver/lib/models/object';
import type { S3ArtifactStoreLocation } from '../../src/platform/artifacts/artifact-store';

export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

export interface TestS3Server {
  endpoint: string;
  bucket: string;
  /** A store location in the bucket under `prefix`. */
  location(prefix?: string): S3ArtifactStoreLocation;
  /** Every key in the bucket (under `prefix`). */
  keys(prefix?: string): Promise<string[]>;
  /** Stops the server (once; later calls wait for the first). */
  close(): Promise<void>;
}

export async function startS3Server(): Promise<TestS3Server> {
  const directory = await mkdtemp(join(tmpdir(), 'kiln-s3rver-'));
  const bucket = `kiln-test-${randomBytes(4).toString('hex')}`;
  const server = new S3rver({ port: 0, address: '127.0.0.1', silent: true, directory, configureBuckets: [{ name: bucket }] });
  makePutsAtomic(server);
  const { port } = await server.run();
  const endpoint = `http://127.0.0.1:${port}`;
  let closed: Promise<void> | undefined;
  const client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3RVER_CREDENTIALS });
  return {
    endpoint,
    bucket,
    location: (prefix = '') => ({ kind: 's3', bucket, prefix, endpoint, region: 'us-east-1', forcePathStyle: true }),
    keys: async (prefix = '') => {
      const keys: string[] = [];
      let token: string | undefined;
      do {
        const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
        keys.push(...(page.Contents ?? []).map((o) => o.Key!));
        token = page.NextContinuationToken;
      } while (token);
      return keys;
    },
    close: () =>
      (closed ??= (async () => {
        client.destroy();
        await server.close();
        await rm(directory, { recursive: true, force: true });
      })()),
  };
}

/** The parts of s3rver's filesystem store (`lib/stores/filesystem.js`, 3.7.1) that `makePutsAtomic` replaces. */
interface S3rverFilesystemStore {
  getResourcePath(bucket: string, key: string, resource: 'object' | 'metadata.json' | 'object.md5'): string;
  putMetadata(bucket: string, key: string, metadata: Record<string, string>, md5?: string): Promise<void>;
  putObject(object: {
    bucket: string;
    key: string;
    metadata: Record<string, string>;
    content: Buffer | Readable;
  }): Promise<{ size: number; md5: string }>;
}

/**
 * S3 shows an object whole or not at all; s3rver 3.7.1 does not. Its `putObject` resolves once the body
 * was handed to a write stream, not once it is on disk, then writes the metadata that makes the object
 * readable, so a GET racing a PUT (a transient file's follower polling for the next part) can read a
 * cut-short object, or half a metadata file. s3rver is unmaintained, so the test server replaces the two
 * writes with ones that write a temporary file and rename it into place: the object first, then its md5
 * and metadata, which a reader needs before it opens the object.
 */
function makePutsAtomic(server: S3rver): void {
  const store = (server as unknown as { store: S3rverFilesystemStore }).store;
  const writeAtomically = async (path: string, bytes: Buffer | string): Promise<void> => {
    const tmp = `${path}.${randomUUID()}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
  };
  store.putMetadata = async (bucket, key, metadata, md5) => {
    // what s3rver's own putMetadata keeps: the allowed headers and the user's x-amz-meta-*
    const kept = Object.entries(metadata).filter(([name]) => S3Object.ALLOWED_METADATA.includes(name) || name.startsWith('x-amz-meta-'));
    if (md5) await writeAtomically(store.getResourcePath(bucket, key, 'object.md5'), md5);
    await writeAtomically(store.getResourcePath(bucket, key, 'metadata.json'), JSON.stringify(Object.fromEntries(kept), null, 2));
  };
  store.putObject = async (object) => {
    const bytes = Buffer.isBuffer(object.content) ? object.content : await buffer(object.content);
    const objectPath = store.getResourcePath(object.bucket, object.key, 'object');
    await mkdir(dirname(objectPath), { recursive: true });
    await writeAtomically(objectPath, bytes);
    const md5 = createHash('md5').update(bytes).digest('hex');
    await store.putMetadata(object.bucket, object.key, object.metadata, md5);
    return { size: bytes.length, md5 };
  };
}
