import { Writable } from 'node:stream';
import { runIngest } from '../../src/ingestion/pipeline';
import type { ReaderColumn, Table } from '../../src/ml';
import type { ArtifactStore } from '../../src/platform/artifacts';

/**
 * Stores an in-memory table (e.g. a public dataset of ./public-datasets) the way a ready dataset
 * version is stored, through the ingestion pipeline's Arrow IPC writer into `store`, with the
 * table's declared column types: what a training job's worker thread reads (`TrainJobInput.dataset`).
 */
export async function storeTable(store: ArtifactStore, table: Table): Promise<{ sha256: string; columns: ReaderColumn[] }> {
  const chunks: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk);
      cb();
    },
  });
  const result = await runIngest({ records: table.rows, schema: table.columns.map((c) => ({ name: c.name, type: c.type })), sink });
  const { sha256 } = await store.put(Buffer.concat(chunks));
  return { sha256, columns: result.columns.map((c) => ({ name: c.name, type: c.type })) };
}
