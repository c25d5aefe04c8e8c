/**
 * The all-in-one Kiln process (the default): every role in one process unless KILN_ROLES says
 * otherwise. With no DATABASE_URL it runs on an embedded PostgreSQL under KILN_DATA_DIR.
 */
import { runKilnProcess } from './bootstrap';

void runKilnProcess();
