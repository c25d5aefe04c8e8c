/**
 * The group commit's thread (started by audit-staging.ts): INSERTs the batches the serving thread
 * hands it into `audit_staging` on a pool of its own, and reports each commit, so the pg protocol
 * work, socket writes and reads of every group commit take no turn of the serving event loop.
 *
 * Plain node-postgres (no TypeORM: one statement, nothing to map). A batch is acknowledged (`[id]`)
 * only after PostgreSQL answered its INSERT (autocommit: answered = committed); any failure is
 * reported (`[id, message, code]`) and the host fails or retries it. If this thread dies, the host
 * fails every batch it had handed over and not seen acknowledged.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { Pool } from 'pg';
import { STAGE_SQL, type StagingHostMessage, type StagingWorkerData, type StagingWorkerMessage } from './staging-thread';

const data = workerData as StagingWorkerData;
const port = parentPort!;
const pool = new Pool({
  connectionString: data.databaseUrl,
  application_name: 'kiln-audit-staging',
  max: data.connections,
  connectionTimeoutMillis: 10_000,
});
// An idle connection that breaks (server restart) is dropped by the pool; the next batch opens another.
pool.on('error', () => undefined);
let inFlight = 0;
let stopping = false;

const post = (m: StagingWorkerMessage) => port.postMessage(m);

async function stop(): Promise<void> {
  await pool.end().catch(() => undefined);
  port.close();
}

function stage(id: number, records: number, text: string): void {
  inFlight++;
  // a named prepared statement: parsed once per connection
  pool
    .query({ name: 'kiln-audit-stage', text: STAGE_SQL, values: [records, text] })
    .then(
      () => post([id]),
      (err: Error & { code?: string }) => post([id, err.message, err.code]),
    )
    .finally(() => {
      if (--inFlight === 0 && stopping) void stop();
    });
}

port.on('message', (m: StagingHostMessage) => {
  if (m === 'stop') {
    stopping = true;
    if (inFlight === 0) void stop();
  } else stage(m[0], m[1], m[2]);
});

// Ready once a connection works; a thread that cannot connect exits (the host stages on its own pool meanwhile).
void pool.connect().then(
  (client) => {
    client.release();
    post('ready');
  },
  (err: unknown) => {
    // uncaught: the thread ends and the host gets the error ('error' event), logs it and retries later
    setImmediate(() => {
      throw err;
    });
  },
);
