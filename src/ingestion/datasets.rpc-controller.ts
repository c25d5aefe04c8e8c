import { rpcPortController } from '../platform/rpc/port';
import { DatasetsPort } from './datasets.port';

/** The ingestion app's answers to `RpcPatterns.ingestion` (only reached when the app serves RPC: KILN_TRANSPORT set). */
export const DatasetsRpcController = rpcPortController(DatasetsPort, 'ingestion', 'DatasetsRpcController');
