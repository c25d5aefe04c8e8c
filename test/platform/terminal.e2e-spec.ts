/**
 * What a person sees in the terminal running `npm start` (the built main in its own process group, as a
 * shell runs it): Ctrl-C (SIGINT to the whole group) shuts down as cleanly as SIGTERM, with no stack
 * trace and no error line; one access-log line per request; Nest's wiring at debug; ISO timestamps;
 * and a restart says where the admin key is instead of pointing at text that is not there.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { spawnerWithCleanup, untilReady, type SpawnedKiln } from '../utils/spawn-kiln';
import { createDataset, readyVersion, vegaFile } from '../ingestion/ingestion-helpers';
import { eventually, httpRequest, kilnClient, testEnvironment } from '../utils/test-kiln';

/** Ctrl-C in a terminal: SIGINT to every process of the foreground process group. */
async function ctrlC(kiln: SpawnedKiln): Promise<number | null> {
  process.kill(-kiln.child.pid!, 'SIGINT');
  return kiln.exited;
}

/** The JSON log entries of a process's output (KILN_LOG_FORMAT=json), in order. */
function jsonLines(output: string): Array<Record<string, any>> {
  return output
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as Record<string, any>);
}

/** Lines that would alarm a person: stack frames, error entries (JSON level ≥ 50 or pretty ERROR/FATAL), `Error`. */
function alarming(output: string): string[] {
  return output.split('\n').filter((line) => {
    if (/^\s+at .+(:\d+:\d+\)?|native\)?)$/.test(line)) return true;
    if (/\bError\b|\bERROR\b|\bFATAL\b|Uncaught|unhandled/i.test(line)) return true;
    try {
      return (JSON.parse(line) as { level?: number }).level! >= 50;
    } catch {
      return false;
    }
  });
}

describe('the terminal of `npm start`', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  const spawnKiln = spawnerWithCleanup(cleanups);

  for (const format of ['json', 'pretty'] as const) {
    it(`Ctrl-C (SIGINT to the process group) exits 0 with no stack trace or error line (${format} logs)`, async () => {
      const { env, cleanup } = await testEnvironment('embedded', { KILN_LOG_LEVEL: 'info', KILN_LOG_FORMAT: format });
      cleanups.push(cleanup);
      const kiln = spawnKiln(env, undefined, { detached: true });
      const url = await kiln.url;
      await untilReady(url);
      // Connections in the pool, a queue worker polling: the state a person interrupts.
      assert.equal((await httpRequest(url, env.KILN_ADMIN_KEY!, 'GET', '/api/datasets')).status, 200);
      assert.equal(await ctrlC(kiln), 0, kiln.output().slice(-3000));
      const bad = alarming(kiln.output());
      assert.deepEqual(bad, [], `alarming lines after Ctrl-C:\n${bad.slice(0, 20).join('\n')}`);
      assert.match(kiln.output(), /embedded PostgreSQL stopped/);
    });
  }

  it('Ctrl-C during a training job: exits 0 at once, and the next start resumes the job from its checkpoint', async () => {
    const { env, cleanup } = await testEnvironment('embedded', { KILN_LOG_LEVEL: 'info', KILN_LOG_FORMAT: 'pretty' });
    cleanups.push(cleanup);
    const kiln = spawnKiln(env, undefined, { detached: true });
    const url = await kiln.url;
    await untilReady(url);
    const client = kilnClient(url, env.KILN_ADMIN_KEY!);
    const version = await readyVersion(client, await createDataset(client, 'penguins'), vegaFile('penguins.json'), {
      fileName: 'penguins.json',
    });
    const created = await client.request('POST', '/api/training-jobs', {
      body: {
        datasetVersionId: version.id,
        target: 'Species',
        modelName: 'long',
        hyperparameters: { epochs: 5000, earlyStoppingPatience: 0 },
      },
    });
    const id = created.body.id as string;
    const checkpoint = await eventually(async () => {
      const job = (await client.request('GET', `/api/training-jobs/${id}`)).body;
      return job.checkpointEpoch >= 2 ? (job.checkpointEpoch as number) : undefined;
    }, 60_000);
    const interrupted = Date.now();
    assert.equal(await ctrlC(kiln), 0, kiln.output().slice(-3000));
    const ms = Date.now() - interrupted;
    assert.ok(ms < 15_000, `exited ${ms} ms after Ctrl-C (the 5000-epoch job was not waited for)`);
    assert.deepEqual(alarming(kiln.output()), [], kiln.output().slice(-3000));
    const said = new RegExp(`training job ${id} interrupted by the shutdown; it resumes after epoch (\\d+) when Kiln starts again`).exec(
      kiln.output(),
    );
    assert.ok(said, kiln.output().slice(-3000));
    assert.ok(Number(said[1]) >= checkpoint);

    const again = spawnKiln(env, undefined, { detached: true });
    const url2 = await again.url;
    await eventually(
      async () => (new RegExp(`training job ${id} started: .*resuming after epoch ${said[1]}`).test(again.output()) ? true : undefined),
      60_000,
    );
    const client2 = kilnClient(url2, env.KILN_ADMIN_KEY!);
    const resumed = await eventually(async () => {
      const job = (await client2.request('GET', `/api/training-jobs/${id}`)).body;
      return job.status === 'running' && job.progress?.epoch > Number(said[1]) ? job : undefined;
    }, 60_000);
    assert.equal(resumed.history[0].epoch, 1, 'the history up to the checkpoint is kept');
    assert.equal((await client2.request('POST', `/api/training-jobs/${id}/cancel`)).status, 202);
    assert.equal(await ctrlC(again), 0, again.output().slice(-3000));
    assert.deepEqual(alarming(again.output()), []);
  });

  it('logs an access line per request, Nest wiring at debug, ISO times, ingestion and training start/progress/end', async () => {
    const { env, cleanup } = await testEnvironment('embedded', { KILN_LOG_LEVEL: 'info', KILN_LOG_FORMAT: 'json' });
    cleanups.push(cleanup);
    const kiln = spawnKiln(env);
    const url = await kiln.url;
    await untilReady(url);
    const res = await httpRequest(url, env.KILN_ADMIN_KEY!, 'GET', '/api/datasets?limit=5');
    assert.equal(res.status, 200);
    const requestId = res.headers.get('x-request-id')!;
    const missing = await httpRequest(url, env.KILN_ADMIN_KEY!, 'GET', '/api/training-jobs/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    const lines = await eventually(async () => {
      const parsed = jsonLines(kiln.output());
      // an access line is written once the response has gone out (Fastify's onResponse): wait for both
      const logged = (id: string | null) => parsed.some((l) => l.req?.id === id && l.res);
      return logged(requestId) && logged(missing.headers.get('x-request-id')) ? parsed : undefined;
    });
    const access = lines.filter((l) => l.res && l.req?.id === requestId);
    assert.equal(access.length, 1, 'exactly one access line for the request');
    assert.equal(access[0]!.level, 30, 'at info');
    assert.equal(access[0]!.msg, `GET /api/datasets 200 ${Math.round(access[0]!.responseTime)} ms · ${requestId}`);
    const notFound = lines.find((l) => l.res && l.req?.id === missing.headers.get('x-request-id'));
    assert.match(notFound!.msg, /^GET \/api\/training-jobs\/:id 404 \d+ ms · /);
    assert.equal(notFound!.level, 30);
    const wiring = lines.filter((l) => ['InstanceLoader', 'RoutesResolver', 'RouterExplorer'].includes(l.context));
    assert.deepEqual(wiring, [], 'module init and route mapping are debug lines');
    for (const l of lines) assert.match(String(l.time), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, 'ISO 8601 time');

    // A training job: one line when it starts, progress lines (first and last epoch at least), one when it ends.
    const client = kilnClient(url, env.KILN_ADMIN_KEY!);
    const version = await readyVersion(client, await createDataset(client, 'penguins'), vegaFile('penguins.json'), {
      fileName: 'penguins.json',
    });
    // The upload's ingestion: one line when it starts, one when the version is ready (the ready line
    // may reach the process's output just after the API already answers the version as ready).
    const versionLines = await eventually(async () => {
      const mine = jsonLines(kiln.output())
        .filter((l) => l.versionId === version.id)
        .map((l) => l.msg as string);
      return mine.some((m) => m.includes(' ready: ')) ? mine : undefined;
    }, 10_000).catch(() => [] as string[]);
    assert.match(versionLines[0] ?? '', new RegExp(`^dataset version ${version.id} started: version 1 of dataset [0-9a-f-]{36}$`));
    assert.match(versionLines[versionLines.length - 1] ?? '', new RegExp(`^dataset version ${version.id} ready: 344 rows$`));

    const created = await client.request('POST', '/api/training-jobs', {
      body: { datasetVersionId: version.id, target: 'Species', modelName: 'penguins', hyperparameters: { epochs: 3 } },
    });
    assert.equal(created.status, 202, created.text);
    const id = created.body.id as string;
    const jobLines = await eventually(async () => {
      const mine = jsonLines(kiln.output()).filter((l) => l.trainingJobId === id);
      return mine.some((l) => /succeeded/.test(l.msg)) ? mine : undefined;
    }, 120_000);
    const messages = jobLines.map((l) => l.msg as string);
    assert.match(messages[0]!, new RegExp(`^training job ${id} started: model penguins, target Species$`));
    assert.ok(
      messages.some((m) => new RegExp(`^training job ${id}: epoch 1/3 loss \\S+ val loss \\S+ accuracy \\S+$`).test(m)),
      messages.join('\n'),
    );
    assert.ok(messages.some((m) => m.includes('epoch 3/3')));
    assert.match(
      messages[messages.length - 1]!,
      new RegExp(`^training job ${id} succeeded after 3 epochs in [\\d.]+ s: registered penguins v1$`),
    );
    for (const l of jobLines) assert.equal(l.level, 30, 'at info');

    kiln.child.kill('SIGTERM');
    assert.equal(await kiln.exited, 0);
  });

  it('pretty logs are one readable line each; a restart says where the admin key is', async () => {
    const { env, cleanup } = await testEnvironment('embedded', { KILN_LOG_LEVEL: 'info', KILN_LOG_FORMAT: 'pretty' });
    cleanups.push(cleanup);
    delete env.KILN_ADMIN_KEY;
    const first = spawnKiln(env);
    const url = await first.url;
    await untilReady(url);
    assert.match(first.output(), /Admin API key: printed above \(shown once\)/);
    assert.match(first.output(), /^\[\d\d:\d\d:\d\d\.\d{3}\] INFO: .*Kiln is ready/m);
    assert.doesNotMatch(first.output(), /^\{"level"/m, 'no JSON lines');
    first.child.kill('SIGTERM');
    assert.equal(await first.exited, 0);

    const second = spawnKiln(env);
    const url2 = await second.url;
    await untilReady(url2);
    assert.doesNotMatch(second.output(), /printed above/, second.output().slice(-1500));
    assert.match(second.output(), new RegExp(`Admin API key: in ${env.KILN_DATA_DIR}/admin\\.key`));
    const key = /\n\s+(kiln_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)\n/.exec(first.output())?.[1];
    assert.equal((await httpRequest(url2, key!, 'GET', '/api/datasets')).status, 200);
    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });
});
