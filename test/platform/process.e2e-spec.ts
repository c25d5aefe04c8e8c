/**
 * The real process (`node dist/src/main.js`, what `npm start` runs) on the embedded default:
 * ready with no services configured, state survives kill -9 and restart, SIGTERM drains in-flight
 * work, and bad configuration stops start-up with one clear line.
 */
import assert from 'node:assert/strict';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { spawnerWithCleanup, untilReady } from '../utils/spawn-kiln';
import { httpRequest, testEnvironment } from '../utils/test-kiln';

describe('the all-in-one process on embedded PostgreSQL', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups) await c();
  });
  const spawn = spawnerWithCleanup(cleanups);

  it('starts with no services configured, keeps its state across kill -9 and restart', async () => {
    const { env, cleanup } = await testEnvironment('embedded', { PORT: '0' });
    cleanups.push(cleanup);
    delete env.KILN_ADMIN_KEY; // the first start creates and prints the admin key
    const first = spawn(env);
    const url = await first.url;
    await untilReady(url);
    const adminKey = /\n\s+(kiln_[A-Za-z0-9]{12}_[A-Za-z0-9_-]+)\n/.exec(first.output())?.[1];
    assert.ok(adminKey, `the first start prints the admin key:\n${first.output().slice(0, 1500)}`);
    assert.doesNotMatch(first.output(), /DataSourceNameRegistry/, 'one TypeORM data source registration per process');
    const created = await httpRequest(url, adminKey, 'POST', '/api/keys', { body: { name: 'survives kill -9', role: 'predictor' } });
    assert.equal(created.status, 201);

    first.child.kill('SIGKILL');
    await first.exited;

    const second = spawn(env);
    const url2 = await second.url;
    await untilReady(url2);
    assert.doesNotMatch(second.output(), /created the first admin API key/, 'no second admin key is created');
    const listed = await httpRequest(url2, adminKey, 'GET', '/api/keys');
    assert.equal(listed.status, 200);
    assert.ok(listed.body.some((k: { name: string }) => k.name === 'survives kill -9'));
    const asPredictor = await httpRequest(url2, created.body.key, 'GET', '/api/platform');
    assert.equal(asPredictor.status, 200);

    // A second Kiln on the same data directory is refused instead of stopping the first one's database.
    const intruder = spawn(env);
    assert.equal(await intruder.exited, 1);
    assert.match(intruder.output(), /kiln: cannot start: .* is in use by another Kiln process \(pid \d+\)/);
    assert.equal((await fetch(`${url2}/health/ready`)).status, 200, 'the first one is unharmed');

    second.child.kill('SIGTERM');
    assert.equal(await second.exited, 0);
  });

  it('on SIGTERM finishes the in-flight request and its queue job, refuses new work, exits 0', async () => {
    const { env, cleanup } = await testEnvironment('embedded', { PORT: '0', KILN_LOG_LEVEL: 'info' });
    cleanups.push(cleanup);
    const kiln = spawn(env);
    const url = await kiln.url;
    await untilReady(url);
    const inFlight = httpRequest(url, env.KILN_ADMIN_KEY!, 'POST', '/api/platform/ping', { body: { message: 'drain me', delayMs: 1500 } });
    await new Promise((r) => setTimeout(r, 300)); // the job is running now
    kiln.child.kill('SIGTERM');
    const res = await inFlight;
    assert.equal(res.status, 201, res.text);
    assert.equal(res.body.message, 'drain me');
    await assert.rejects(fetch(`${url}/health/live`), 'no new connections once draining');
    assert.equal(await kiln.exited, 0, kiln.output().slice(-2000));
    assert.match(kiln.output(), /closing \d+ queue workers/);
  });

  describe('stops start-up with one clear line on bad configuration', () => {
    const cases: Array<[string, (dir: string) => Promise<Record<string, string>>, RegExp]> = [
      ['an unparseable DATABASE_URL', async () => ({ DATABASE_URL: 'not a url' }), /DATABASE_URL: must be a URL like postgres:/],
      [
        'an unreachable database',
        async () => ({ DATABASE_URL: 'postgres://kiln@127.0.0.1:1/kiln' }),
        /DATABASE_URL: cannot use PostgreSQL at postgres:\/\/kiln@127\.0\.0\.1:1\/kiln/,
      ],
      [
        'an unreachable Redis',
        async () => ({ REDIS_URL: 'redis://127.0.0.1:1' }),
        /REDIS_URL: cannot reach Redis at redis:\/\/127\.0\.0\.1:1/,
      ],
      [
        'an unwritable KILN_DATA_DIR',
        async (dir) => {
          const file = join(dir, 'a-file');
          await writeFile(file, 'x');
          return { KILN_DATA_DIR: join(file, 'data') };
        },
        /KILN_DATA_DIR \(.*a-file\/data\) is not writable/,
      ],
      ['an unknown role', async () => ({ KILN_ROLES: 'gateway,trainer' }), /KILN_ROLES: unknown role "trainer"/],
      ['a bad PORT', async () => ({ PORT: '70000' }), /PORT: /],
      // once read at import time by the training queue's worker options, so it crashed with a stack trace
      ['a bad KILN_TRAINING_CONCURRENCY', async () => ({ KILN_TRAINING_CONCURRENCY: 'two' }), /KILN_TRAINING_CONCURRENCY: /],
      [
        'a KILN_ARTIFACTS_URL that is not an s3:// bucket URL',
        async () => ({ KILN_ARTIFACTS_URL: 'https://kiln-artifacts.s3.amazonaws.com/prefix' }),
        /KILN_ARTIFACTS_URL: must be a URL like s3:\/\/bucket\/prefix/,
      ],
    ];
    for (const [what, envFor, expected] of cases) {
      it(what, async () => {
        const { env, cleanup } = await testEnvironment('embedded');
        cleanups.push(cleanup);
        const kiln = spawn({ ...env, ...(await envFor(env.KILN_DATA_DIR!)) });
        assert.equal(await kiln.exited, 1);
        const lines = kiln
          .output()
          .trim()
          .split('\n')
          .filter((l) => l.startsWith('kiln: cannot start:'));
        assert.equal(lines.length, 1, kiln.output());
        assert.match(lines[0]!, expected);
        assert.doesNotMatch(kiln.output(), /^\s+at /m, 'no stack trace');
      });
    }
  });
});
