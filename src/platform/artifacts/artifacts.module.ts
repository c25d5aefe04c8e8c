import { DynamicModule, Global, Module } from '@nestjs/common';
import { ArtifactStore, type ArtifactStoreLocation } from './artifact-store';
import { openArtifactStore } from './open-artifact-store';
import { TransientFileSweeper } from './transient-file';

@Global()
@Module({})
export class ArtifactsModule {
  /** The store the configuration names: the filesystem under the data directory, or an S3 bucket. */
  static forRoot(location: ArtifactStoreLocation): DynamicModule {
    return {
      module: ArtifactsModule,
      providers: [{ provide: ArtifactStore, useValue: openArtifactStore(location) }, TransientFileSweeper],
      exports: [ArtifactStore, TransientFileSweeper],
    };
  }
}
