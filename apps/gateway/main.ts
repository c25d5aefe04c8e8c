/**
 * Split deployment: the gateway role alone. Everything else (database, queue backend, artifact store)
 * comes from the same environment as the all-in-one process; see README "Deployment modes".
 * The gateway calls the domains' use cases through their ports over KILN_TRANSPORT (TCP: KILN_RPC_INGESTION,
 * KILN_RPC_TRAINING, KILN_RPC_AUDIT, KILN_RPC_INFERENCE; NATS/Redis: the broker); see README "Running the apps separately".
 */
import { runKilnProcess } from '../../src/bootstrap';

void runKilnProcess({ ...process.env, KILN_ROLES: 'gateway' });
