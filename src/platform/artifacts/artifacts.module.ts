import { DynamicModule, Global, Module } from '@nestjs/common';
import { ArtifactStore } from './artifact-store';
import { FsArtifactStore } from './fs-artifact-store';

@Global()
@Module({})
export class ArtifactsModule {
  static forRoot(artifactsDir: string): DynamicModule {
    return {
      module: ArtifactsModule,
      providers: [{ provide: ArtifactStore, useValue: new FsArtifactStore(artifactsDir) }],
      exports: [ArtifactStore],
    };
  }
}
