import { Module } from '@nestjs/common';
import { ModelsServicesModule } from '../../models';
import { FeedbackController } from './feedback.controller';
import { FeedbackService } from './feedback.service';
import { LabelSpecs } from './label-specs';
import { MonitoringController } from './monitoring.controller';
import { MonitoringService } from './monitoring.service';

/** Feedback (ground truth), live quality metrics, the monitoring document and the monitoring page. */
@Module({
  imports: [ModelsServicesModule],
  controllers: [FeedbackController, MonitoringController],
  providers: [FeedbackService, MonitoringService, LabelSpecs],
})
export class MonitoringModule {}
