/**
 * A real S3-compatible server (s3rver, on a free port, files in a temporary directory) for tests of the
 * S3 artifact store, with one empty bucket. Credentials are s3rver's fixed `S3RVER`/`S3RVER`.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import S3rver from 's3rver';
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
