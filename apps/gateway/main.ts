/**
 * Split deployment: the gateway role alone. Everything else (database, queue backend, artifact store)
 * comes from the same environment as the all-in-one process; see README "Deployment modes".
 */
import { runKilnProcess } from '../../src/bootstrap';

void runKilnProcess({ ...process.env, KILN_ROLES: 'gateway' });
