import { Module } from '@nestjs/common';
import { IngestProcessor } from './ingest.processor';
import { IngestionDataModule } from './ingestion-data.module';

/** Processors of the `ingestion` queue only; imported by the role that owns the queue (`ingestion`). */
@Module({
  imports: [IngestionDataModule],
  providers: [IngestProcessor],
})
export class IngestionWorkersModule {}
