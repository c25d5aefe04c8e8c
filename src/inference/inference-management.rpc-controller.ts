import { rpcPortController } from '../platform/rpc/port';
import { InferenceManagementPort } from './inference-management.port';

/** The inference app's management answers to `RpcPatterns.inference` (the hybrid app's transport side). */
export const InferenceManagementRpcController = rpcPortController(InferenceManagementPort, 'inference', 'InferenceManagementRpcController');
