import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DatasetCatalog } from './dataset-catalog';
import { DatasetEntity } from './dataset.entity';
import { DatasetVersionEntity } from './dataset-version.entity';
import { DatasetsService } from './datasets.service';

/**
 * Datasets and versions in the database, and the `DatasetCatalog` read facade. Imported by the
 * ingestion API and workers, and by any other domain (training, batch scoring, drift) that reads
 * dataset versions: no controllers, no processors, so importing it adds no route and no worker.
 */
@Module({
  imports: [TypeOrmModule.forFeature([DatasetEntity, DatasetVersionEntity])],
  providers: [DatasetsService, { provide: DatasetCatalog, useExisting: DatasetsService }],
  exports: [DatasetsService, DatasetCatalog, TypeOrmModule],
})
export class IngestionServicesModule {}
