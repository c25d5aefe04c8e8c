export * from './artifact-store';
export { FsArtifactStore } from './fs-artifact-store';
export { openArtifactStore } from './open-artifact-store';
export { S3ArtifactStore } from './s3-artifact-store';
export { storedFileAnswer } from './stored-file';
