import { rpcPortController } from '../platform/rpc/port';
import { ModelsPort } from './models.port';

/** The registry's answers to `RpcPatterns.models`, served by the training app (when KILN_TRANSPORT is set). */
export const ModelsRpcController = rpcPortController(ModelsPort, 'models', 'ModelsRpcController');
