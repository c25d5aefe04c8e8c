import { Module } from '@nestjs/common';
import { ModelsServicesModule } from '../../models';
import { FeedbackService } from './feedback.service';
import { LabelSpecs } from './label-specs';
import { MonitoringService } from './monitoring.service';

/** Feedback (ground truth), live quality metrics, the monitoring document and the monitoring page. */
@Module({
  imports: [ModelsServicesModule],
  exports: [FeedbackService, MonitoringService],
  providers: [FeedbackService, MonitoringService, LabelSpecs],
})
export class MonitoringModule {}
