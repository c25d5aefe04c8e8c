/**
 * Split deployment: the inference role alone. Everything else (database, queue backend, artifact store)
 * comes from the same environment as the all-in-one process; see README "Deployment modes".
 * A hybrid app: the data plane (record API, /v1, /v2, gRPC) on its own HTTP; with KILN_TRANSPORT its management
 * (repository index, statistics, load/unload) answers the inference patterns (src/contracts/rpc.ts; TCP on KILN_RPC_PORT).
 */
import { runKilnProcess } from '../../src/bootstrap';

void runKilnProcess({ ...process.env, KILN_ROLES: 'inference' });
