import { rpcPortController } from '../platform/rpc/port';
import { TrainingJobsPort } from './training-jobs.port';

/** The training app's answers to `RpcPatterns.training` (when it serves RPC: KILN_TRANSPORT set). */
export const TrainingJobsRpcController = rpcPortController(TrainingJobsPort, 'training', 'TrainingJobsRpcController');
