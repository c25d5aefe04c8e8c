/**
 * Split deployment: the ingestion role alone. Everything else (database, queue backend, artifact store)
 * comes from the same environment as the all-in-one process; see README "Deployment modes".
 * With KILN_TRANSPORT it answers the ingestion patterns (src/contracts/rpc.ts; TCP on KILN_RPC_PORT).
 */
import { runKilnProcess } from '../../src/bootstrap';

void runKilnProcess({ ...process.env, KILN_ROLES: 'ingestion' });
