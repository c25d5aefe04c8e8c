// s3rver ships no type declarations: the part of its API the tests use (https://github.com/jamhall/s3rver#readme).
declare module 's3rver' {
  import type { AddressInfo } from 'node:net';
  interface S3rverOptions {
    address?: string;
    port?: number;
    silent?: boolean;
    directory?: string;
    resetOnClose?: boolean;
    configureBuckets?: Array<{ name: string; configs?: unknown[] }>;
  }
  class S3rver {
    constructor(options?: S3rverOptions);
    run(): Promise<AddressInfo>;
    close(): Promise<void>;
  }
  export = S3rver;
}

// Its object model, for the metadata keys it keeps (test/support/s3-server.ts makes its writes atomic).
declare module 's3rver/lib/models/object' {
  const S3Object: { ALLOWED_METADATA: string[] };
  export = S3Object;
}
