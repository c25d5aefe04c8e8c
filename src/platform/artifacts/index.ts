export * from './artifact-store';
export { FsArtifactStore } from './fs-artifact-store';
