/**
 * Downloads and exports in a split deployment (a gateway, and a process with the ingestion and audit
 * roles, over KILN_TRANSPORT=tcp): the owning app writes the file into the shared artifact store and the
 * gateway streams it from there (src/platform/artifacts/transient-file.ts).
 * - The first bytes reach the client while the owning app is still writing: a hook holds the dataset
 *   rendering open after its last row until the client has received bytes through the gateway; a gateway
 *   that waited for the whole file would never send any.
 * - Once streamed, nothing of the file stays in the store (it used to stay forever, content-addressed).
 * - A transient file nobody fetched, older than the TTL, is swept when an app starts.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, readdir, utimes, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { startKiln } from '../../src/bootstrap';
import { DatasetsService } from '../../src/ingestion/datasets.service';
import { loadConfig } from '../../src/platform/config/kiln-config';
import { createRootLogger } from '../../src/platform/logging/logging';
import { freeLoopbackPort } from '../../src/platform/util/free-port';
import { penguinsVersion } from '../inference/inference-helpers';
import { eventually, kilnClient, skipUnless, testEnvironment } from '../utils/test-kiln';

/** How long the client waits for the first byte before the test fails (generous: the machine is shared). */
const FIRST_BYTE_CAP_MS = 60_000;

describe('split: downloads and exports stream from the artifact store while written, and are deleted once streamed', async () => {
  const skip = await skipUnless('redis');
  let environment: Awaited<ReturnType<typeof testEnvironment>> | undefined;
  let domains: Awaited<ReturnType<typeof startKiln>> | undefined;
  let gateway: Awaited<ReturnType<typeof startKiln>> | undefined;
  let key = '';
  let artifactsRoot = '';
  /** A transient file left by an earlier run, its last write two hours ago. */
  let stale = '';
  /** Every file in the artifact store but its scratch directory (tmp/). */
  const storeFiles = async (): Promise<string[]> =>
    (
      (await readdir(artifactsRoot, { recursive: true, withFileTypes: true }).catch(() => [])) as Array<{
        isFile(): boolean;
        parentPath: string;
        name: string;
      }>
    )
      .filter((e) => e.isFile())
      .map((e) => join(e.parentPath, e.name).slice(artifactsRoot.length + 1))
      .filter((p) => !p.startsWith('tmp/'))
      .sort();

  before(async () => {
    if (skip) return;
    environment = await testEnvironment('redis');
    const { env } = environment;
    key = env.KILN_ADMIN_KEY!;
    artifactsRoot = join(env.KILN_DATA_DIR!, 'artifacts');
    stale = join(artifactsRoot, 'transient', randomUUID());
    await mkdir(stale, { recursive: true });
    await writeFile(join(stale, 'part-00000000'), 'never fetched');
    const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
    await utimes(stale, twoHoursAgo, twoHoursAgo);
    const rpcPort = await freeLoopbackPort();
    const domainConfig = loadConfig({ ...env, KILN_ROLES: 'ingestion,audit', KILN_TRANSPORT: 'tcp', KILN_RPC_PORT: String(rpcPort) });
    domains = await startKiln(domainConfig, createRootLogger(domainConfig));
    const target = `127.0.0.1:${rpcPort}`;
    const gatewayConfig = loadConfig({
      ...env,
      KILN_ROLES: 'gateway',
      KILN_TRANSPORT: 'tcp',
      KILN_RPC_INGESTION: target,
      KILN_RPC_AUDIT: target,
    });
    gateway = await startKiln(gatewayConfig, createRootLogger(gatewayConfig));
  });

  after(async () => {
    await gateway?.close();
    await domains?.close();
    await environment?.cleanup();
  });

  it('sweeps at start-up a transient file not written to for over the TTL', { skip }, async () => {
    await eventually(async () => ((await readdir(stale).catch(() => null)) === null ? true : undefined), 30_000);
  });

  it('sends the first bytes of a dataset download before the ingestion app has finished writing it', { skip }, async () => {
    const version = await penguinsVersion(kilnClient(gateway!.url, key));
    const stored = await storeFiles();
    // The hook: the ingestion app's rendering of the rows, held open after the last row until released.
    const datasets = domains!.app.get(DatasetsService);
    const render = datasets.download.bind(datasets);
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let writing = false;
    datasets.download = async (...args: Parameters<DatasetsService['download']>) => {
      const rendered = await render(...args);
      async function* heldOpen(): AsyncGenerator<Buffer | string> {
        writing = true;
        yield* rendered.stream;
        await released;
        writing = false;
      }
      return { ...rendered, stream: Readable.from(heldOpen()) };
    };
    try {
      const controller = new AbortController();
      const capped = setTimeout(() => controller.abort(), FIRST_BYTE_CAP_MS);
      const res = await fetch(`${gateway!.url}/api/datasets/${version.datasetId}/versions/${version.id}/download?format=ndjson`, {
        headers: { authorization: `Bearer ${key}` },
        signal: controller.signal,
      }).catch((err: Error) => assert.fail(`no answer while the ingestion app was still writing (${err.message})`));
      assert.equal(res.status, 200);
      const body = res.body!.getReader();
      const first = await body
        .read()
        .catch((err: Error) => assert.fail(`no byte while the ingestion app was still writing (${err.message})`));
      clearTimeout(capped);
      assert.equal(first.done, false);
      assert.equal(writing, true, 'the ingestion app is still writing the file when its first bytes reach the client');
      release();
      const chunks: Uint8Array[] = [first.value!];
      for (let r = await body.read(); !r.done; r = await body.read()) chunks.push(r.value);
      const lines = Buffer.concat(chunks).toString('utf8').split('\n').filter(Boolean);
      const { body: v } = await kilnClient(gateway!.url, key).request('GET', `/api/datasets/${version.datasetId}/versions/${version.id}`);
      assert.equal(lines.length, v.rowCount);
      assert.deepEqual(
        Object.keys(JSON.parse(lines[0]!)),
        (v.columns as Array<{ name: string }>).map((c) => c.name),
      );
    } finally {
      release();
      datasets.download = render;
    }
    // Deleted once streamed (the gateway deletes after its last byte, so wait for that state).
    await eventually(async () => ((await storeFiles()).join() === stored.join() ? true : undefined), 30_000);
    assert.deepEqual(await storeFiles(), stored, 'nothing of the download stays in the store; the dataset file itself is kept');
  });

  it('streams the prediction-log export and leaves nothing in the store', { skip }, async () => {
    const stored = await storeFiles();
    const res = await fetch(`${gateway!.url}/api/audit/predictions/export`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/x-ndjson/);
    assert.match(res.headers.get('content-disposition') ?? '', /audit-predictions\.ndjson/);
    await res.text();
    await eventually(async () => ((await storeFiles()).join() === stored.join() ? true : undefined), 30_000);
    assert.deepEqual(await storeFiles(), stored);
    // a bad filter is still a 400 naming the field, before anything is written
    const bad = await fetch(`${gateway!.url}/api/audit/predictions/export?version=1`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(bad.status, 400);
    assert.match(await bad.text(), /version/);
  });
});
