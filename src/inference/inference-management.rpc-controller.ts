import { rpcPortController } from '../platform/rpc/port';
import { bool, int, optional, text } from '../platform/rpc/port-args';
import { InferenceManagementPort } from './inference-management.port';

/** The inference app's management answers to `RpcPatterns.inference` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const InferenceManagementRpcController = rpcPortController(
  InferenceManagementPort,
  'inference',
  'InferenceManagementRpcController',
  {
    repositoryIndex: { readyOnly: bool() },
    statistics: { name: optional(text(200)), version: optional(int(1)) },
    load: { name: text(200) },
    unload: { name: text(200) },
  },
);
