import { Module } from '@nestjs/common';
import { DatasetsController } from './datasets.controller';
import { IngestionDataModule } from './ingestion-data.module';

/** The ingestion HTTP API (datasets, versions, uploads, preview, download); roles `gateway` and `ingestion`. */
@Module({
  imports: [IngestionDataModule],
  controllers: [DatasetsController],
})
export class IngestionModule {}
