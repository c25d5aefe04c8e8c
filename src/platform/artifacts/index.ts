export * from './artifact-store';
export { FsArtifactStore } from './fs-artifact-store';
export { openArtifactStore } from './open-artifact-store';
export { S3ArtifactStore } from './s3-artifact-store';
export { transientFileAnswer } from './stored-file';
export { followTransientFile, startTransientFile, TransientFileSweeper, TRANSIENT_TTL_MS } from './transient-file';
