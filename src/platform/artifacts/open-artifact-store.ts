import type { ArtifactStore, ArtifactStoreLocation } from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';
import { S3ArtifactStore } from './s3-artifact-store';

/** The store at `location` (at start-up from the configuration; in a worker thread, from the parent's `store.location()`). */
export function openArtifactStore(location: ArtifactStoreLocation): ArtifactStore {
  switch (location.kind) {
    case 'filesystem':
      return new FsArtifactStore(location.root);
    case 's3':
      return new S3ArtifactStore(location);
  }
}
