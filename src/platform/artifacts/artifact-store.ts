import type { Readable } from 'node:stream';

/** A stored artifact: identified by the SHA-256 of its bytes (hex, lower case). */
export interface ArtifactRef {
  sha256: string;
  size: number;
}

export interface PutOptions {
  /** Reject (and store nothing) when the content exceeds this many bytes. */
  maxBytes?: number;
}

/** The content exceeded `PutOptions.maxBytes`; nothing was stored. */
export class ArtifactTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`artifact exceeds the limit of ${maxBytes} bytes`);
    this.name = 'ArtifactTooLargeError';
  }
}

export class ArtifactNotFoundError extends Error {
  constructor(readonly sha256: string) {
    super(`artifact ${sha256} not found`);
    this.name = 'ArtifactNotFoundError';
  }
}

/** The given id is not a SHA-256 hex digest (e.g. a path traversal attempt). */
export class InvalidArtifactIdError extends Error {
  constructor(id: string) {
    super(`invalid artifact id ${JSON.stringify(id.slice(0, 80))}: expected 64 lower-case hex characters`);
    this.name = 'InvalidArtifactIdError';
  }
}

/** The given id is not a transient file id (a UUID). */
export class InvalidTransientIdError extends Error {
  constructor(id: string) {
    super(`invalid transient file id ${JSON.stringify(String(id).slice(0, 80))}: expected a UUID`);
    this.name = 'InvalidTransientIdError';
  }
}

/** How a transient file's writer ended after `parts` parts: every part written, or failed (the reader fails too). */
export type TransientEnd = { parts: number; size: number } | { parts: number; error: string };

/** The transient file was deleted after its first write (its reader went away): stop writing it. */
export class TransientFileGoneError extends Error {
  constructor(readonly id: string) {
    super(`transient file ${id} was deleted while being written (its reader went away)`);
    this.name = 'TransientFileGoneError';
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Throws unless `id` is a UUID: transient paths and keys are built only from validated ids. */
export function checkTransientId(id: string): string {
  if (typeof id !== 'string' || !UUID.test(id)) throw new InvalidTransientIdError(id);
  return id;
}

/** A transient file's end marker, next to its parts. */
export const TRANSIENT_END_NAME = 'end.json';

/** The name of a transient file's part `index`: zero-padded, so a listing sorts in part order. */
export function transientPartName(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) throw new RangeError(`transient part index ${index}`);
  return `part-${String(index).padStart(8, '0')}`;
}

/**
 * Plain data from which another thread of this process opens the same store (`openArtifactStore`).
 * No credentials: an S3 store's thread takes them from the AWS SDK default chain (the environment,
 * which worker threads share), so secrets never travel in messages or job data.
 */
export type ArtifactStoreLocation = FsArtifactStoreLocation | S3ArtifactStoreLocation;

export interface FsArtifactStoreLocation {
  kind: 'filesystem';
  root: string;
}

export interface S3ArtifactStoreLocation {
  kind: 's3';
  bucket: string;
  /** Key prefix: empty, or ending in `/`. */
  prefix: string;
  /** An S3-compatible server (MinIO, Ceph, …); absent for AWS S3 itself. */
  endpoint?: string;
  region: string;
  forcePathStyle: boolean;
}

/**
 * Port: content-addressed blob storage for uploads, dataset data, model weights and batch outputs.
 * The filesystem implementation is the default; S3 (`S3ArtifactStore`) serves several machines.
 * Used as the DI token (abstract class, not an interface, so Nest can inject it).
 */
export abstract class ArtifactStore {
  /** Streams the content in, hashing as it goes; durable (fsync'd) when the promise resolves. */
  abstract put(content: Readable | AsyncIterable<Uint8Array> | Uint8Array, options?: PutOptions): Promise<ArtifactRef>;
  /** A stream of the artifact's bytes; rejects with ArtifactNotFoundError. */
  abstract get(sha256: string): Promise<Readable>;
  /** The whole artifact in memory: only for small artifacts (model topology, checkpoints). */
  abstract getBuffer(sha256: string): Promise<Buffer>;
  abstract stat(sha256: string): Promise<ArtifactRef | null>;
  abstract delete(sha256: string): Promise<void>;
  /** Readiness probe: throws when the store cannot be written. */
  abstract check(): Promise<void>;
  /** Where the store is, as plain data (a training worker thread reads dataset data and models itself). */
  abstract location(): ArtifactStoreLocation;

  // Transient files (downloads, exports: transient-file.ts) live apart from the content-addressed
  // artifacts, under `transient/<uuid>/` as numbered parts plus an end marker, so a reader streams
  // the parts while the writer still writes, and deleting one can never remove an artifact that
  // happens to have the same bytes. Not fsync'd: a crash loses the download it was for anyway.

  /**
   * Writes part `index` (0, 1, …) of transient file `id`; it appears whole or not at all. Part 0 creates
   * the file; a later part rejects with TransientFileGoneError once the file was deleted (so a reader
   * that went away does not leave the rest of the file behind).
   */
  abstract putTransientPart(id: string, index: number, bytes: Buffer): Promise<void>;
  /** Marks transient file `id` finished (or failed) after `end.parts` parts; TransientFileGoneError as putTransientPart. */
  abstract endTransient(id: string, end: TransientEnd): Promise<void>;
  /** Part `index` of transient file `id`, or null when it is not (yet) there. */
  abstract getTransientPart(id: string, index: number): Promise<Readable | null>;
  /** The end marker of transient file `id`, or null while it is being written. */
  abstract transientEnd(id: string): Promise<TransientEnd | null>;
  /** Deletes transient file `id` (its parts and end marker); nothing else. */
  abstract deleteTransient(id: string): Promise<void>;
  /** Deletes every transient file with no write for `maxAgeMs` (never fetched, or abandoned); returns their ids. */
  abstract sweepTransient(maxAgeMs: number): Promise<string[]>;
}
