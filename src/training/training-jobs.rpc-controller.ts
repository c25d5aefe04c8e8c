import { rpcPortController } from '../platform/rpc/port';
import { actor, dto, nullable, text } from '../platform/rpc/port-args';
import { CreateTrainingJobDto, TrainingJobListQuery } from './training-jobs.dto';
import { TrainingJobsPort } from './training-jobs.port';

/** The training app's answers to `RpcPatterns.training` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const TrainingJobsRpcController = rpcPortController(TrainingJobsPort, 'training', 'TrainingJobsRpcController', {
  create: { body: dto(CreateTrainingJobDto), createdBy: nullable(text(200)), actor: actor() },
  list: { query: dto(TrainingJobListQuery) },
  get: { id: text(200) },
  progress: { id: text(200) },
  testPredictions: { id: text(200) },
  cancel: { id: text(200), actor: actor() },
});
