import { Module } from '@nestjs/common';
import { IngestionServicesModule } from '../../ingestion';
import { ModelsServicesModule } from '../../models';
import { TrainingServicesModule } from '../../training';
import { DriftAlerts } from './drift-alerts';
import { DriftMetrics } from './drift-metrics';
import { DriftMonitor } from './drift-monitor.service';
import { DriftRetrain } from './drift-retrain';
import { DriftService } from './drift.service';
import { DriftStore } from './drift-store';

/**
 * Drift: the check run by the `audit` worker (`DriftMonitor`), the drift API (reports, check now,
 * closed-loop settings) and the drift gauges in /metrics. The schedules are `DriftSchedulerModule`
 * (audit worker processes only).
 */
@Module({
  imports: [IngestionServicesModule, ModelsServicesModule, TrainingServicesModule],
  providers: [DriftMonitor, DriftStore, DriftAlerts, DriftRetrain, DriftService, DriftMetrics],
  exports: [DriftService, DriftMonitor],
})
export class DriftMonitorModule {}
