import { rpcPortController } from '../../platform/rpc/port';
import { actor, dto, nullable, optional, text } from '../../platform/rpc/port-args';
import { BatchPredictionListQuery, CreateBatchPredictionDto } from './batch-predictions.dto';
import { BatchPredictionsPort } from './batch-predictions.port';

/** The inference app's answers to `RpcPatterns.batch` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const BatchPredictionsRpcController = rpcPortController(BatchPredictionsPort, 'batch', 'BatchPredictionsRpcController', {
  // The idempotency key's format is the use case's own check (400 naming Idempotency-Key).
  create: { body: dto(CreateBatchPredictionDto), createdBy: nullable(text(200)), actor: actor(), idempotencyKey: optional(text(1000)) },
  list: { query: dto(BatchPredictionListQuery) },
  get: { id: text(200) },
  cancel: { id: text(200), actor: actor() },
});
