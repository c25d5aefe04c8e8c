/**
 * The split deployment entries (`apps/<app>/main.ts`): each has an `npm run start:<app>` script and a
 * Nest CLI project that name the same compiled file, and that file, run as its own process on the
 * machine's PostgreSQL and Redis, becomes ready and reports exactly its own role.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { describe, it } from 'node:test';
import { readyUrl, SpawnedKiln, spawnKiln } from '../utils/spawn-kiln';
import { httpRequest, skipUnless, testEnvironment } from '../utils/test-kiln';

/** The repository (tests run from dist/test/platform). */
const ROOT = join(__dirname, '..', '..', '..');
const APPS = readdirSync(join(ROOT, 'apps'), { withFileTypes: true })
  .filter((d) => d.isDirectory() && existsSync(join(ROOT, 'apps', d.name, 'main.ts')))
  .map((d) => d.name)
  .sort();

interface NestProject {
  type?: string;
  root?: string;
  sourceRoot?: string;
  entryFile?: string;
  compilerOptions?: { tsConfigPath?: string };
}
const readJson = (file: string) => JSON.parse(readFileSync(join(ROOT, file), 'utf8'));
const scripts: Record<string, string> = readJson('package.json').scripts;
const nestCli: NestProject & { projects?: Record<string, NestProject> } = readJson('nest-cli.json');

/** The file `nest start [project]` runs: the Nest CLI tries outDir/sourceRoot/entryFile, then outDir/entryFile. */
function nestEntry(project: NestProject): string {
  const tsConfigPath = project.compilerOptions?.tsConfigPath ?? nestCli.compilerOptions?.tsConfigPath ?? 'tsconfig.json';
  const outDir: string = readJson(tsConfigPath).compilerOptions.outDir;
  const sourceRoot = project.sourceRoot ?? nestCli.sourceRoot ?? 'src';
  const entryFile = project.entryFile ?? nestCli.entryFile ?? 'main';
  const first = join(outDir, sourceRoot, entryFile) + '.js';
  return normalize(existsSync(join(ROOT, first)) ? first : join(outDir, entryFile) + '.js');
}

/** The file an `npm run start…` script runs after building. */
function scriptEntry(name: string): string {
  const m = /^npm run build --silent && node (\S+\.js)$/.exec(scripts[name] ?? '');
  assert.ok(m, `package.json script "${name}" is "npm run build --silent && node <file>.js": ${scripts[name]}`);
  return normalize(m[1]!);
}

describe('the apps/ entries', () => {
  it('each has an npm start:<app> script and a Nest CLI project naming the same built file', () => {
    assert.deepEqual(APPS, ['audit', 'gateway', 'inference', 'ingestion', 'training']);
    assert.equal(scriptEntry('start'), nestEntry({}), '`npm start` and the default Nest project agree');
    for (const app of APPS) {
      const project = nestCli.projects?.[app];
      assert.ok(project, `nest-cli.json lists project "${app}"`);
      assert.equal(project.type, 'application');
      assert.equal(project.root, `apps/${app}`);
      const entry = scriptEntry(`start:${app}`);
      assert.equal(entry, normalize(`dist/apps/${app}/main.js`));
      assert.equal(nestEntry(project), entry, `start:${app} and the Nest project "${app}" run the same file`);
      assert.ok(existsSync(join(ROOT, entry)), `${entry} is built`);
    }
    const others = Object.keys(scripts).filter((s) => s.startsWith('start:') && s !== 'start:built' && !APPS.includes(s.slice(6)));
    assert.deepEqual(others, [], 'every start:<app> script names an app');
    assert.deepEqual(Object.keys(nestCli.projects ?? {}).sort(), APPS, 'every Nest project is an app');
  });

  describe('each runs as its own process on PostgreSQL and Redis', async () => {
    const skip = await skipUnless('redis');
    it('becomes ready and reports exactly its own role', { skip }, async () => {
      const { env, cleanup } = await testEnvironment('redis', { PORT: '0' });
      const running = new Map<string, SpawnedKiln>();
      try {
        // All five together on one database, as a split deployment starts: migrations run under a lock.
        for (const app of APPS) running.set(app, spawnKiln(env, join(ROOT, scriptEntry(`start:${app}`))));
        await Promise.all(
          APPS.map(async (app) => {
            const kiln = running.get(app)!;
            const url = await readyUrl(kiln);
            const info = await httpRequest(url, env.KILN_ADMIN_KEY!, 'GET', '/api/platform');
            assert.equal(info.status, 200, `${app}: ${info.text}`);
            assert.deepEqual(info.body.roles, [app], `${app} reports only its role`);
            assert.equal(info.body.database, 'external');
            assert.equal(info.body.queueBackend, 'redis');
            assert.equal(info.body.pid, kiln.child.pid, `${app} answered from its own process`);
            // one Nest app, one TypeORM data source per process: @nestjs/typeorm's name registry never warns
            assert.doesNotMatch(kiln.output(), /DataSourceNameRegistry/, `${app} starts without a data source name warning`);
          }),
        );
        for (const app of APPS) running.get(app)!.child.kill('SIGTERM');
        for (const app of APPS) {
          const kiln = running.get(app)!;
          assert.equal(await kiln.exited, 0, `${app} exits 0 on SIGTERM:\n${kiln.output().slice(-2000)}`);
        }
      } finally {
        for (const kiln of running.values()) {
          if (kiln.child.exitCode === null && kiln.child.signalCode === null) kiln.child.kill('SIGKILL');
        }
        await Promise.all([...running.values()].map((k) => k.exited));
        await cleanup();
      }
    });
  });
});
