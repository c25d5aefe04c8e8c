import { resolve } from 'node:path';
import { z } from 'zod';
import type { ArtifactStoreLocation } from '../artifacts/artifact-store';
import { RPC_SERVICES, type RpcService } from '../../contracts/rpc';
import { parseRoles, Role } from './process-roles';

/**
 * Every environment variable Kiln reads, validated once at start into a typed object.
 * A bad value stops start-up with a message naming the variable (see `loadConfig`).
 * The README's configuration table documents each of these; keep the two in step.
 */
/** A URL with one of the given protocols and a host; the message shows an example. */
function urlWith(protocols: string[], example: string) {
  return z.string().refine(
    (v) => {
      try {
        const u = new URL(v);
        return protocols.includes(u.protocol) && u.hostname !== '';
      } catch {
        return false;
      }
    },
    { message: `must be a URL like ${example}` },
  );
}

const postgresUrl = urlWith(['postgres:', 'postgresql:'], 'postgres://user:password@host:5432/database');
const redisUrl = urlWith(['redis:', 'rediss:'], 'redis://host:6379/0');

const natsUrl = urlWith(['nats:', 'tls:'], 'nats://host:4222');
// host:port of a domain service's RPC listener (KILN_RPC_<ROLE> with KILN_TRANSPORT=tcp).
const hostPort = z
  .string()
  .regex(/^[^\s:]+:\d{1,5}$/, 'must be host:port, e.g. ingestion:4001')
  .refine((v) => Number(v.split(':')[1]) <= 65535, 'port must be at most 65535');

const httpUrl = urlWith(['http:', 'https:'], 'http://host:9000');
// s3://bucket/optional/prefix — bucket names as S3 allows them (3–63 lower-case letters, digits, dots, hyphens).
const s3Url = z.string().refine(
  (v) => {
    try {
      const u = new URL(v);
      return u.protocol === 's3:' && /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(u.host) && !u.search && !u.hash;
    } catch {
      return false;
    }
  },
  { message: 'must be a URL like s3://bucket/prefix (bucket: 3-63 lower-case letters, digits, dots, hyphens)' },
);

const exposure = z.enum(['public', 'auth', 'off']);

const envSchema = z.object({
  KILN_ROLES: z.string().default('all'),
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('0.0.0.0'),
  DATABASE_URL: postgresUrl.optional(),
  REDIS_URL: redisUrl.optional(),
  KILN_DATA_DIR: z.string().min(1).default('./data'),
  // Artifact store: absent → the filesystem under KILN_DATA_DIR; s3://bucket/prefix → S3 (credentials: AWS SDK default chain).
  KILN_ARTIFACTS_URL: s3Url.optional(),
  AWS_ENDPOINT_URL_S3: httpUrl.optional(),
  AWS_ENDPOINT_URL: httpUrl.optional(),
  AWS_REGION: z.string().min(1).default('us-east-1'),
  KILN_S3_FORCE_PATH_STYLE: z.enum(['true', 'false']).optional(),
  // Read by the AWS SDK's default credential chain, not by Kiln; listed so they are known variables
  // (deploy/ is checked against this schema).
  AWS_ACCESS_KEY_ID: z.string().min(1).optional(),
  AWS_SECRET_ACCESS_KEY: z.string().min(1).optional(),
  AWS_SESSION_TOKEN: z.string().min(1).optional(),
  KILN_ADMIN_KEY: z.string().min(24, 'must be at least 24 characters').optional(),
  KILN_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Unset: readable lines when stdout is a terminal, JSON lines otherwise (files, pipes, log collectors).
  KILN_LOG_FORMAT: z.enum(['json', 'pretty']).optional(),
  KILN_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(10 * 1024 * 1024),
  // /v1 and /v2 bodies (Triton's default --http-max-input-size: 64 MB).
  KILN_SERVING_BODY_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(64 * 1024 * 1024),
  KILN_UPLOAD_LIMIT_BYTES: z.coerce
    .number()
    .int()
    .min(1024)
    .default(2 * 1024 * 1024 * 1024),
  // Slow clients: headers must arrive within, the whole request (body included) within, idle keep-alive closes after.
  KILN_HTTP_HEADERS_TIMEOUT_MS: z.coerce.number().int().min(100).default(30_000),
  KILN_HTTP_REQUEST_TIMEOUT_MS: z.coerce.number().int().min(100).default(300_000),
  KILN_HTTP_KEEPALIVE_TIMEOUT_MS: z.coerce.number().int().min(100).default(72_000),
  KILN_IMPORT_MAX_ELEMENTS: z.coerce.number().int().min(1).max(1e9).default(4_000_000),
  // Writable memory of the process an ONNX import is checked in (MiB); Node itself needs about 100.
  KILN_IMPORT_MAX_MEMORY_MB: z.coerce.number().int().min(256).max(1_048_576).default(4096),
  // WebAssembly memory of a TF.js import's worker thread (MiB; the wasm backend keeps tensors there).
  KILN_IMPORT_MAX_WASM_MB: z.coerce.number().int().min(64).max(4096).default(1024),
  KILN_METRICS: exposure.default('public'),
  KILN_DOCS: exposure.default('public'),
  KILN_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, _ and - only')
    .default('kiln'),
  KILN_SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().min(0).default(30_000),
  KILN_TF_BACKEND: z.enum(['auto', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  // Split deployment RPC: set KILN_TRANSPORT to turn it on (see `rpcConfig`).
  KILN_TRANSPORT: z.enum(['tcp', 'redis', 'nats']).optional(),
  NATS_URL: natsUrl.optional(),
  KILN_RPC_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  KILN_RPC_INGESTION: hostPort.optional(),
  KILN_RPC_TRAINING: hostPort.optional(),
  KILN_RPC_AUDIT: hostPort.optional(),
  KILN_RPC_INFERENCE: hostPort.optional(),
  KILN_RPC_TIMEOUT_MS: z.coerce.number().int().min(100).max(60_000).default(3000),
  // Open Inference Protocol over gRPC (inference.GRPCInferenceService) on this port, on HOST; unset: no gRPC listener.
  KILN_GRPC_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  KILN_INFERENCE_MAX_MODELS: z.coerce.number().int().min(1).default(16),
  KILN_INFERENCE_MAX_MODEL_MB: z.coerce.number().min(1).default(2048),
  // Every inference replica must learn of an alias move within 2 s: poll at most every 1.5 s.
  KILN_ROUTING_REFRESH_MS: z.coerce.number().int().min(50).max(1500).default(500),
  // Change events (alias moves, deployments, serving settings, key revocations) over PostgreSQL LISTEN/NOTIFY;
  // `off` for a database reached through a transaction-pooling proxy (PgBouncer), where LISTEN does not work.
  KILN_EVENTS: z.enum(['postgres', 'off']).default('postgres'),
  // ONNX Runtime's intra-op threads per loaded graph (1: like TF.js wasm, one core per model call).
  KILN_ONNX_THREADS: z.coerce.number().int().min(1).max(64).default(1),
  // Writable memory of the process each imported ONNX graph is served from (MiB); a call needing more is a 400.
  KILN_ONNX_SERVING_MAX_MEMORY_MB: z.coerce.number().int().min(256).max(1_048_576).default(4096),
  KILN_AUDIT: z.enum(['on', 'off']).default('on'),
  KILN_AUDIT_PAYLOADS: z.enum(['full', 'hash']).default('full'),
  // at most 16: each commit in flight holds one of the pool's 20 connections (data-source-options.ts)
  KILN_AUDIT_COMMITS_IN_FLIGHT: z.coerce.number().int().min(1).max(16).default(4),
  KILN_AUDIT_RETENTION_DAYS: z.coerce.number().int().min(1).max(36_500).default(90),
  KILN_AUDIT_SIGNING_KEY_FILE: z.string().min(1).optional(),
  KILN_AUDIT_CHECKPOINT_INTERVAL_MS: z.coerce.number().int().min(1_000).default(3_600_000),
  KILN_DRIFT_INTERVAL_MS: z.coerce.number().int().min(1_000).default(300_000),
  KILN_DRIFT_WINDOW_ROWS: z.coerce.number().int().min(10).max(1_000_000).default(5_000),
  KILN_ALERT_WEBHOOK_URL: z.string().url('must be an http(s) URL').optional(),
  KILN_TRAINING_CONCURRENCY: z.coerce.number().int().min(1).default(1),
  KILN_TRAINING_LOCK_MS: z.coerce.number().int().min(1).default(30_000),
  KILN_TRAINING_IN_PROCESS: z.enum(['0', '1']).default('0'),
  KILN_CODE_VERSION: z.string().min(1).optional(),
  // Set by npm for `npm start` / `npm run …`: the package.json version.
  npm_package_version: z.string().min(1).optional(),
});

/** The name of every environment variable Kiln reads (the keys of the schema above). */
export const CONFIG_VARIABLES: readonly string[] = Object.keys(envSchema.shape);

export type Transport = 'tcp' | 'redis' | 'nats';

/** The role whose app answers each domain service's patterns (the registry lives with training, batch predictions with inference). */
export const RPC_SERVED_BY: Readonly<Record<RpcService, Role>> = {
  ingestion: 'ingestion',
  training: 'training',
  models: 'training',
  audit: 'audit',
  inference: 'inference',
  batch: 'inference',
};

/** The variable naming where a gateway reaches a service over TCP (`models` is the training app's). */
export const RPC_TARGET_VARIABLE: Readonly<
  Record<RpcService, 'KILN_RPC_INGESTION' | 'KILN_RPC_TRAINING' | 'KILN_RPC_AUDIT' | 'KILN_RPC_INFERENCE'>
> = {
  ingestion: 'KILN_RPC_INGESTION',
  training: 'KILN_RPC_TRAINING',
  models: 'KILN_RPC_TRAINING',
  audit: 'KILN_RPC_AUDIT',
  inference: 'KILN_RPC_INFERENCE',
  batch: 'KILN_RPC_INFERENCE',
};

/**
 * Synchronous calls between split apps (only when KILN_TRANSPORT is set): `serves` — the domain services
 * whose message patterns this process answers (those of its roles; over TCP only with KILN_RPC_PORT,
 * which the ingestion role must set); `serve` — it answers any; `targets` — where a gateway sends the
 * calls of a domain whose role it lacks (TCP: KILN_RPC_<ROLE>, required for ingestion, else optional;
 * NATS/Redis: the broker, for every such domain). A domain absent from `targets` is served from the
 * shared database by the gateway itself (and an inference app's management is not reachable).
 * `timeoutMs` bounds one call, its single read retry included.
 */
export interface RpcConfig {
  transport?: Transport;
  serve: boolean;
  serves?: RpcService[];
  /** TCP: the port this process's RPC listener binds (KILN_RPC_PORT, on HOST). */
  port?: number;
  /** Where each called service answers: TCP host:port, or through the NATS/Redis broker. */
  targets?: Partial<Record<RpcService, { host: string; port: number } | 'broker'>>;
  natsUrl?: string;
  redisUrl?: string;
  /** KILN_QUEUE_PREFIX: the namespace of this deployment's subjects on a shared NATS or Redis. */
  queuePrefix?: string;
  timeoutMs: number;
}

export type DatabaseMode = 'embedded' | 'external';
export type QueueBackendKind = 'redis' | 'postgres';
export type Exposure = z.infer<typeof exposure>;

export interface KilnConfig {
  roles: Role[];
  http: {
    port: number;
    host: string;
    bodyLimitBytes: number;
    /** Body limit of the serving protocols' routes (/v1, /v2). */
    servingBodyLimitBytes: number;
    uploadLimitBytes: number;
    /** Slow-client bounds (ms): request headers, the whole request incl. body, idle keep-alive connection. */
    headersTimeoutMs: number;
    requestTimeoutMs: number;
    keepAliveTimeoutMs: number;
  };
  /** Model import: the dry prediction's inputs may hold at most this many elements in total. */
  importMaxElements: number;
  /** ONNX import: the check process's cap on writable memory, in MiB. */
  importMaxMemoryMb: number;
  /** TF.js import: the worker thread's cap on WebAssembly memory, in MiB. */
  importMaxWasmMb: number;
  database: { mode: DatabaseMode; url?: string };
  queues: { backend: QueueBackendKind; redisUrl?: string; prefix: string };
  dataDir: string;
  /** Where artifacts live: the filesystem store under `<dataDir>/artifacts` (default) or an S3 bucket (KILN_ARTIFACTS_URL). */
  artifacts: ArtifactStoreLocation;
  adminKey?: string;
  /** `pretty`: one readable, coloured line per entry (pino-pretty); `json`: one JSON object per line. */
  log: { level: string; format: 'json' | 'pretty' };
  metrics: Exposure;
  docs: Exposure;
  shutdownTimeoutMs: number;
  tfBackend: 'auto' | 'tensorflow-gpu' | 'tensorflow' | 'wasm' | 'cpu';
  transport: Transport;
  rpc: RpcConfig;
  /** The Open Inference Protocol's gRPC listener (inference role): its port on `http.host`, or null for none (0 = any free port). */
  grpc: { port: number | null };
  /** Model runtime: LRU bounds on loaded versions (pinned ones excepted) and the routing poll interval. */
  inference: {
    maxModels: number;
    maxModelBytes: number;
    routingRefreshMs: number;
    onnxThreads: number;
    /** Cap on the writable memory of an imported ONNX graph's session process, MiB. */
    onnxServingMaxMemoryMb: number;
  };
  /**
   * Diagnostics-audit: `enabled` off only for benchmarks/trusted batch setups (no prediction log);
   * payloads `hash` stores only the SHA-256 of inputs; drift checks every `driftIntervalMs` over the
   * last `driftWindowRows` logged rows of each served model; `alertWebhookUrl` is POSTed on drift.
   */
  audit: {
    enabled: boolean;
    payloads: 'full' | 'hash';
    /**
     * Group commits of audit records (audit-sink.ts) written to PostgreSQL at once by one process; records
     * that arrive meanwhile wait for the next.
     */
    commitsInFlight: number;
    retentionDays: number;
    driftIntervalMs: number;
    driftWindowRows: number;
    alertWebhookUrl?: string;
    /**
     * Signed checkpoints of the chain heads: the Ed25519 private key (PEM, never in the database;
     * default `<dataDir>/keys/audit-signing.pem`, created 0600 when missing) and how often the
     * audit worker signs the heads when they moved.
     */
    signingKeyFile: string;
    checkpointIntervalMs: number;
  };
  training: TrainingConfig;
  /** Change events: `postgres` listens for them (LISTEN/NOTIFY, src/platform/events); `off` relies on the poll alone. */
  events: 'postgres' | 'off';
  /**
   * `package`: the package.json version (npm_package_version under npm, else 0.1.0) in API metadata;
   * `code`: recorded with each model version (KILN_CODE_VERSION, e.g. a git sha; else the package version).
   */
  version: { package: string; code: string };
}

/**
 * The `training` queue worker: jobs trained at once per process (each in its own worker thread from
 * the training pool), the job lock in ms (a worker that died stops renewing it; the stalled check, run
 * every lock period, moves the job back to waiting and it resumes from its last checkpoint), and
 * `inProcess` (KILN_TRAINING_IN_PROCESS=1: train on the calling thread, debugging only).
 */
export interface TrainingConfig {
  concurrency: number;
  lockMs: number;
  inProcess: boolean;
}

/** A configuration problem: the message names the variable and the reason, in one line. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): KilnConfig {
  // Empty strings count as unset, as in most twelve-factor tooling.
  const cleaned = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));
  const parsed = envSchema.safeParse(cleaned);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${problems.join('; ')}`);
  }
  const e = parsed.data;
  let roles: Role[];
  try {
    roles = parseRoles(e.KILN_ROLES);
  } catch (err) {
    throw new ConfigError(`invalid configuration: KILN_ROLES: ${(err as Error).message}`);
  }
  const dataDir = resolve(e.KILN_DATA_DIR);
  if (e.KILN_GRPC_PORT !== undefined && e.KILN_GRPC_PORT !== 0) {
    for (const [name, port] of [
      ['PORT', e.PORT],
      ['KILN_RPC_PORT', e.KILN_RPC_PORT],
    ] as const) {
      if (port === e.KILN_GRPC_PORT) throw new ConfigError(`invalid configuration: KILN_GRPC_PORT: must differ from ${name} (${port})`);
    }
  }
  return {
    roles,
    http: {
      port: e.PORT,
      host: e.HOST,
      bodyLimitBytes: e.KILN_BODY_LIMIT_BYTES,
      servingBodyLimitBytes: e.KILN_SERVING_BODY_LIMIT_BYTES,
      uploadLimitBytes: e.KILN_UPLOAD_LIMIT_BYTES,
      headersTimeoutMs: e.KILN_HTTP_HEADERS_TIMEOUT_MS,
      requestTimeoutMs: e.KILN_HTTP_REQUEST_TIMEOUT_MS,
      keepAliveTimeoutMs: e.KILN_HTTP_KEEPALIVE_TIMEOUT_MS,
    },
    importMaxElements: e.KILN_IMPORT_MAX_ELEMENTS,
    importMaxMemoryMb: e.KILN_IMPORT_MAX_MEMORY_MB,
    importMaxWasmMb: e.KILN_IMPORT_MAX_WASM_MB,
    database: e.DATABASE_URL ? { mode: 'external', url: e.DATABASE_URL } : { mode: 'embedded' },
    queues: e.REDIS_URL
      ? { backend: 'redis', redisUrl: e.REDIS_URL, prefix: e.KILN_QUEUE_PREFIX }
      : { backend: 'postgres', prefix: e.KILN_QUEUE_PREFIX },
    dataDir,
    artifacts: e.KILN_ARTIFACTS_URL ? s3Location(e) : { kind: 'filesystem', root: resolve(dataDir, 'artifacts') },
    adminKey: e.KILN_ADMIN_KEY,
    log: { level: e.KILN_LOG_LEVEL, format: e.KILN_LOG_FORMAT ?? (process.stdout.isTTY ? 'pretty' : 'json') },
    metrics: e.KILN_METRICS,
    docs: e.KILN_DOCS,
    shutdownTimeoutMs: e.KILN_SHUTDOWN_TIMEOUT_MS,
    tfBackend: e.KILN_TF_BACKEND,
    transport: e.KILN_TRANSPORT ?? 'tcp',
    rpc: rpcConfig(e, roles),
    grpc: { port: e.KILN_GRPC_PORT ?? null },
    inference: {
      maxModels: e.KILN_INFERENCE_MAX_MODELS,
      maxModelBytes: Math.round(e.KILN_INFERENCE_MAX_MODEL_MB * 1024 * 1024),
      routingRefreshMs: e.KILN_ROUTING_REFRESH_MS,
      onnxThreads: e.KILN_ONNX_THREADS,
      onnxServingMaxMemoryMb: e.KILN_ONNX_SERVING_MAX_MEMORY_MB,
    },
    audit: {
      enabled: e.KILN_AUDIT === 'on',
      payloads: e.KILN_AUDIT_PAYLOADS,
      commitsInFlight: e.KILN_AUDIT_COMMITS_IN_FLIGHT,
      retentionDays: e.KILN_AUDIT_RETENTION_DAYS,
      driftIntervalMs: e.KILN_DRIFT_INTERVAL_MS,
      driftWindowRows: e.KILN_DRIFT_WINDOW_ROWS,
      signingKeyFile: resolve(e.KILN_AUDIT_SIGNING_KEY_FILE ?? resolve(dataDir, 'keys', 'audit-signing.pem')),
      checkpointIntervalMs: e.KILN_AUDIT_CHECKPOINT_INTERVAL_MS,
      ...(e.KILN_ALERT_WEBHOOK_URL ? { alertWebhookUrl: e.KILN_ALERT_WEBHOOK_URL } : {}),
    },
    events: e.KILN_EVENTS,
    training: {
      concurrency: e.KILN_TRAINING_CONCURRENCY,
      lockMs: e.KILN_TRAINING_LOCK_MS,
      inProcess: e.KILN_TRAINING_IN_PROCESS === '1',
    },
    version: {
      package: e.npm_package_version ?? '0.1.0',
      code: e.KILN_CODE_VERSION ?? e.npm_package_version ?? 'unknown',
    },
  };
}

/** The RPC settings, or a ConfigError naming the missing variable when KILN_TRANSPORT needs one. */
function rpcConfig(e: z.infer<typeof envSchema>, roles: Role[]): RpcConfig {
  const transport = e.KILN_TRANSPORT;
  const base = { timeoutMs: e.KILN_RPC_TIMEOUT_MS, ...(e.NATS_URL ? { natsUrl: e.NATS_URL } : {}) };
  if (!transport) return { ...base, serve: false };
  const fail = (message: string): never => {
    throw new ConfigError(`invalid configuration: ${message}`);
  };
  if (transport === 'nats' && !e.NATS_URL) fail('NATS_URL: required with KILN_TRANSPORT=nats (e.g. nats://host:4222)');
  if (transport === 'redis' && !e.REDIS_URL) fail('REDIS_URL: required with KILN_TRANSPORT=redis (e.g. redis://host:6379/0)');
  if (transport === 'tcp' && roles.includes('ingestion') && e.KILN_RPC_PORT === undefined) {
    fail('KILN_RPC_PORT: required with KILN_TRANSPORT=tcp on a process with the ingestion role');
  }
  const serves = RPC_SERVICES.filter((s) => roles.includes(RPC_SERVED_BY[s]) && (transport !== 'tcp' || e.KILN_RPC_PORT !== undefined));
  const serve = serves.length > 0;
  if (transport === 'tcp' && roles.includes('gateway') && !roles.includes('ingestion') && !e.KILN_RPC_INGESTION) {
    fail('KILN_RPC_INGESTION: required with KILN_TRANSPORT=tcp on a gateway without the ingestion role (host:port)');
  }
  const targets: NonNullable<RpcConfig['targets']> = {};
  if (roles.includes('gateway')) {
    for (const service of RPC_SERVICES) {
      if (roles.includes(RPC_SERVED_BY[service])) continue;
      if (transport !== 'tcp') targets[service] = 'broker';
      else {
        const target = e[RPC_TARGET_VARIABLE[service]];
        if (!target) continue;
        const [host, port] = target.split(':');
        targets[service] = { host: host!, port: Number(port) };
      }
    }
  }
  return {
    ...base,
    transport,
    serve,
    ...(e.KILN_RPC_PORT !== undefined ? { port: e.KILN_RPC_PORT } : {}),
    ...(serve ? { serves } : {}),
    ...(Object.keys(targets).length > 0 ? { targets } : {}),
    ...(e.REDIS_URL ? { redisUrl: e.REDIS_URL } : {}),
    queuePrefix: e.KILN_QUEUE_PREFIX,
  };
}

function s3Location(e: z.infer<typeof envSchema>): ArtifactStoreLocation {
  const url = new URL(e.KILN_ARTIFACTS_URL!);
  const path = decodeURIComponent(url.pathname).replace(/^\/+/, '');
  const endpoint = e.AWS_ENDPOINT_URL_S3 ?? e.AWS_ENDPOINT_URL;
  return {
    kind: 's3',
    bucket: url.host,
    prefix: path === '' || path.endsWith('/') ? path : `${path}/`,
    ...(endpoint ? { endpoint } : {}),
    region: e.AWS_REGION,
    // S3-compatible servers mostly want path-style addressing (no bucket DNS names); AWS S3 wants virtual-hosted.
    forcePathStyle: e.KILN_S3_FORCE_PATH_STYLE ? e.KILN_S3_FORCE_PATH_STYLE === 'true' : endpoint !== undefined,
  };
}

/** DI token for the validated configuration. */
export const KILN_CONFIG = Symbol('KILN_CONFIG');
