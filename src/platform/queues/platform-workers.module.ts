import { Module } from '@nestjs/common';
import { PlatformProcessor } from './platform.processor';

/** Processors of the `platform` queue; every role runs them (the ping is a per-process diagnostic). */
@Module({ providers: [PlatformProcessor] })
export class PlatformWorkersModule {}
