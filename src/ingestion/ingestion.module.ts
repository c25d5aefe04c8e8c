import { Module } from '@nestjs/common';
import { DatasetsController } from './datasets.controller';
import { IngestionServicesModule } from './ingestion-services.module';

/** The ingestion HTTP API (datasets, versions, uploads, preview, download); roles `gateway` and `ingestion`. */
@Module({
  imports: [IngestionServicesModule],
  controllers: [DatasetsController],
})
export class IngestionModule {}
