export * from './artifact-store';
export { FsArtifactStore, openArtifactStore } from './fs-artifact-store';
