import { Module } from '@nestjs/common';
import { IngestProcessor } from './ingest.processor';
import { IngestionServicesModule } from './ingestion-services.module';

/** Processors of the `ingestion` queue only; imported by the role that owns the queue (`ingestion`). */
@Module({
  imports: [IngestionServicesModule],
  providers: [IngestProcessor],
})
export class IngestionWorkersModule {}
