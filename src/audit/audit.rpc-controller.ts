import { rpcPortController } from '../platform/rpc/port';
import { AuditPort } from './audit.port';

/** The audit app's answers to `RpcPatterns.audit` (when it serves RPC: KILN_TRANSPORT set). */
export const AuditRpcController = rpcPortController(AuditPort, 'audit', 'AuditRpcController');
