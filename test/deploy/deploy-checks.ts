/**
 * Checks of deploy/ against the code, as functions returning problems (one line each), so the test
 * can run them on the real files and on broken copies. What "the code" means here:
 *  - variables: `CONFIG_VARIABLES` (the keys of the validated configuration schema) and `loadConfig`
 *    itself, run on each container's environment with its role, as the app would at start;
 *  - ports: `PORT` and, for an app that answers RPC over TCP, `KILN_RPC_PORT` of that configuration;
 *  - probe and health-check paths: the GET routes of the app's roles (`processSurface`);
 *  - queue keys for KEDA: the queues the app's workers consume, under its `KILN_QUEUE_PREFIX`;
 *  - commands: `dist/apps/<app>/main.js` built and shipped by the Dockerfile.
 */
import { existsSync } from 'node:fs';
import { join, normalize, posix } from 'node:path';
import { Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { ConfigMap, Secret, Service } from 'kubernetes-models/v1';
import { ScaledObject, TriggerAuthentication } from '@kubernetes-models/keda/keda.sh/v1alpha1';
import { CONFIG_VARIABLES, loadConfig, type KilnConfig } from '../../src/platform/config/kiln-config';
import { ROLES, type Role } from '../../src/platform/config/process-roles';
import { processSurface, type ProcessSurface } from '../utils/nest-routes';

/** The repository root (this file runs from dist/test/deploy). */
export const ROOT = join(__dirname, '..', '..', '..');
export const APPS: readonly Role[] = ROLES;

export type K8sObject = { apiVersion?: string; kind?: string; metadata?: { name?: string }; [k: string]: any };

/** The schema models deploy/ may use, by `apiVersion/kind`. */
const MODELS: Record<string, new (data: any) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'keda.sh/v1alpha1/ScaledObject': ScaledObject,
  'keda.sh/v1alpha1/TriggerAuthentication': TriggerAuthentication,
};

const surfaces = new Map<string, ProcessSurface>();
function surfaceOf(config: KilnConfig): ProcessSurface {
  const key = config.roles.join(',');
  if (!surfaces.has(key)) surfaces.set(key, processSurface(config));
  return surfaces.get(key)!;
}

/** `problems` collects; `config` returns the app's configuration or records why it does not load. */
function appConfig(where: string, app: Role, env: Record<string, string>, problems: string[]): KilnConfig | undefined {
  for (const name of Object.keys(env)) {
    if (name === 'KILN_ROLES') problems.push(`${where}: sets KILN_ROLES, which apps/${app}/main.ts fixes to ${app}`);
    else if (!CONFIG_VARIABLES.includes(name)) problems.push(`${where}: unknown variable ${name} (not in the configuration schema)`);
  }
  try {
    return loadConfig({ ...env, KILN_ROLES: app });
  } catch (e) {
    problems.push(`${where}: the configuration does not load: ${(e as Error).message}`);
    return undefined;
  }
}

/** The app a command runs (`node dist/apps/<app>/main.js`), checking the built file exists. */
function commandApp(where: string, command: unknown, problems: string[]): Role | undefined {
  const m =
    Array.isArray(command) && command.length === 2 && command[0] === 'node'
      ? /^dist\/apps\/([a-z]+)\/main\.js$/.exec(String(command[1]))
      : null;
  if (!m || !(APPS as readonly string[]).includes(m[1]!)) {
    problems.push(`${where}: command ${JSON.stringify(command)} is not ['node', 'dist/apps/<app>/main.js'] for one of ${APPS.join(', ')}`);
    return undefined;
  }
  if (!existsSync(join(ROOT, String((command as string[])[1])))) problems.push(`${where}: ${(command as string[])[1]} is not built`);
  return m[1] as Role;
}

function probePath(where: string, path: unknown, surface: ProcessSurface, problems: string[]): void {
  if (typeof path !== 'string' || !surface.routes.has(`GET ${path}`)) {
    problems.push(`${where}: GET ${String(path)} is not a route of this app`);
  }
}

/** The ports an app listens on, by name, from its configuration. */
function expectedPorts(config: KilnConfig): Map<string, number> {
  const ports = new Map([['http', config.http.port]]);
  if (config.rpc.serve && config.rpc.transport === 'tcp' && config.rpc.port !== undefined) ports.set('rpc', config.rpc.port);
  return ports;
}

/**
 * Whether an app holds the audit signing key: the audit worker signs checkpoints with it, the audit
 * API (verify, checkpoints) checks them with it — every such app must read the same key.
 */
function usesAuditKey(surface: ProcessSurface): boolean {
  return surface.queues.has('audit') || [...surface.routes].some((r) => r.startsWith('GET /api/audit/'));
}

/** The mount (longest mount path) a file lies under, as `(mountPath, source)`. */
function mountOf(
  file: string,
  mounts: Array<{ path: string; source: string | undefined }>,
): { path: string; source: string | undefined } | undefined {
  return mounts
    .filter((m) => file === m.path || file.startsWith(m.path.endsWith('/') ? m.path : `${m.path}/`))
    .sort((a, b) => b.path.length - a.path.length)[0];
}

/** Problems when the apps that use the audit key do not all read it from one shared source. */
function checkSharedKey(users: Array<{ where: string; file: string; source: string | undefined }>): string[] {
  const problems: string[] = [];
  for (const u of users) if (!u.source) problems.push(`${u.where}: the audit signing key ${u.file} is on storage no other app shares`);
  const sources = new Set(users.map((u) => `${u.file} from ${u.source}`));
  if (sources.size > 1) problems.push(`the apps that sign or verify audit checkpoints read different keys: ${[...sources].join('; ')}`);
  return problems;
}

const decode = (secret: K8sObject, key: string): string | undefined =>
  secret.stringData?.[key] ??
  (secret.data?.[key] !== undefined ? Buffer.from(String(secret.data[key]), 'base64').toString('utf8') : undefined);

/**
 * Validates every object against its schema and checks the set as one deployment. `imageEnv`: the
 * variables the image sets (its ENV), under every container's own.
 */
export function checkKubernetes(objects: K8sObject[], imageEnv: Record<string, string>): string[] {
  const problems: string[] = [];
  const named = (kind: string, name: unknown) => objects.find((o) => o.kind === kind && o.metadata?.name === name);
  for (const obj of objects) {
    const key = `${obj.apiVersion}/${obj.kind}`;
    const where = `${obj.kind ?? '?'} ${obj.metadata?.name ?? '?'}`;
    const Model = MODELS[key];
    if (!Model) {
      problems.push(`${where}: no schema for ${key}`);
      continue;
    }
    try {
      new Model(obj).validate();
    } catch (e) {
      problems.push(`${where}: invalid ${key}: ${(e as Error).message}`);
    }
  }

  const deployments = objects.filter((o) => o.kind === 'Deployment');
  const names = deployments.map((d) => d.metadata?.name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...APPS].sort()))
    problems.push(`Deployments are ${names.join(', ')}; expected one per app: ${APPS.join(', ')}`);

  /** Per Deployment: its app's configuration (for the autoscalers below). */
  const configs = new Map<string, KilnConfig>();
  const keyUsers: Array<{ where: string; file: string; source: string | undefined }> = [];
  for (const d of deployments) {
    const name = String(d.metadata?.name);
    const pod = d.spec?.template;
    const containers: any[] = pod?.spec?.containers ?? [];
    if (containers.length !== 1) problems.push(`Deployment ${name}: has ${containers.length} containers, expected 1`);
    const labels = pod?.metadata?.labels ?? {};
    const selects = (selector: Record<string, string> | undefined) =>
      selector !== undefined && Object.keys(selector).length > 0 && Object.entries(selector).every(([k, v]) => labels[k] === v);
    if (!selects(d.spec?.selector?.matchLabels)) problems.push(`Deployment ${name}: selector does not match its pod labels`);
    for (const c of containers) {
      const where = `Deployment ${name} container ${c.name}`;
      const app = commandApp(where, c.command, problems);
      if (app && app !== name) problems.push(`${where}: runs the ${app} app, but the Deployment is named ${name}`);
      // The environment as the container sees it: the image's, then envFrom, then env (the last wins).
      const env: Record<string, string> = { ...imageEnv };
      for (const from of c.envFrom ?? []) {
        const ref = from.configMapRef ?? from.secretRef;
        const source = named(from.configMapRef ? 'ConfigMap' : 'Secret', ref?.name);
        if (!source) {
          problems.push(
            `${where}: envFrom names ${from.configMapRef ? 'ConfigMap' : 'Secret'} ${ref?.name}, which deploy/ does not define`,
          );
          continue;
        }
        const keys = Object.keys({ ...(source.data ?? {}), ...(source.stringData ?? {}) });
        for (const k of keys) env[`${from.prefix ?? ''}${k}`] = source.kind === 'Secret' ? decode(source, k)! : String(source.data[k]);
      }
      for (const e of c.env ?? []) {
        const ref = e.valueFrom?.configMapKeyRef ?? e.valueFrom?.secretKeyRef;
        if (e.value !== undefined) env[e.name] = String(e.value);
        else if (ref) {
          const source = named(e.valueFrom.configMapKeyRef ? 'ConfigMap' : 'Secret', ref.name);
          const value = source ? (source.kind === 'Secret' ? decode(source, ref.key) : source.data?.[ref.key]) : undefined;
          if (value === undefined) problems.push(`${where}: ${e.name} refers to ${ref.name}/${ref.key}, which deploy/ does not define`);
          else env[e.name] = String(value);
        } else problems.push(`${where}: ${e.name} has neither a value nor a ConfigMap/Secret reference`);
      }
      if (!app) continue;
      const config = appConfig(where, app, env, problems);
      if (!config) continue;
      configs.set(name, config);
      const surface = surfaceOf(config);
      const ports = expectedPorts(config);
      const declared = new Map<string, number>((c.ports ?? []).map((p: any) => [String(p.name), Number(p.containerPort)]));
      for (const [portName, port] of ports) {
        if (declared.get(portName) !== port)
          problems.push(`${where}: the app listens on ${portName} ${port}, the container declares ${declared.get(portName) ?? 'nothing'}`);
      }
      for (const [portName, port] of declared) {
        if (!ports.has(portName)) problems.push(`${where}: declares port ${portName} ${port}, which the app does not listen on`);
      }
      for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe'] as const) {
        const get = c[probe]?.httpGet;
        if (!get) {
          if (probe !== 'startupProbe') problems.push(`${where}: no ${probe} (httpGet)`);
          continue;
        }
        probePath(`${where} ${probe}`, get.path, surface, problems);
        const port = typeof get.port === 'string' ? declared.get(get.port) : Number(get.port);
        if (port !== config.http.port) problems.push(`${where} ${probe}: port ${get.port} is not the HTTP port ${config.http.port}`);
      }
      if (c.livenessProbe?.httpGet?.path !== '/health/live') problems.push(`${where}: livenessProbe is not /health/live`);
      if (c.readinessProbe?.httpGet?.path !== '/health/ready') problems.push(`${where}: readinessProbe is not /health/ready`);
      const resources = c.resources ?? {};
      if (!resources.requests?.cpu || !resources.requests?.memory || !resources.limits?.memory) {
        problems.push(`${where}: resources need requests.cpu, requests.memory and limits.memory`);
      }
      if (usesAuditKey(surface)) {
        const volumes: any[] = pod?.spec?.volumes ?? [];
        const mounts = (c.volumeMounts ?? []).map((m: any) => {
          const v = volumes.find((x) => x.name === m.name);
          const source = v?.secret
            ? `Secret ${v.secret.secretName}`
            : v?.persistentVolumeClaim
              ? `PVC ${v.persistentVolumeClaim.claimName}`
              : undefined;
          return { path: String(m.mountPath), source };
        });
        keyUsers.push({ where, file: config.audit.signingKeyFile, source: mountOf(config.audit.signingKeyFile, mounts)?.source });
      }
    }
  }
  problems.push(...checkSharedKey(keyUsers));

  // Services: one per Deployment, same name, selecting its pods, targeting ports its container declares.
  for (const d of deployments) {
    const name = d.metadata?.name;
    const svc = named('Service', name);
    if (!svc) {
      problems.push(`Deployment ${name}: no Service named ${name}`);
      continue;
    }
    const labels = d.spec?.template?.metadata?.labels ?? {};
    const selector: Record<string, string> = svc.spec?.selector ?? {};
    if (Object.keys(selector).length === 0 || !Object.entries(selector).every(([k, v]) => labels[k] === v)) {
      problems.push(`Service ${name}: selector does not select the pods of Deployment ${name}`);
    }
    const containerPorts: any[] = d.spec?.template?.spec?.containers?.[0]?.ports ?? [];
    for (const p of svc.spec?.ports ?? []) {
      const target = p.targetPort ?? p.port;
      const ok = containerPorts.some((cp) => (typeof target === 'string' ? cp.name === target : cp.containerPort === Number(target)));
      if (!ok) problems.push(`Service ${name} port ${p.name ?? p.port}: targetPort ${target} is no port of Deployment ${name}`);
    }
  }

  // A gateway calling a domain service over TCP: host:port must be a Service whose app serves that domain on its RPC port.
  for (const [name, config] of configs) {
    for (const [service, target] of Object.entries(config.rpc.targets ?? {})) {
      if (!target || target === 'broker') continue;
      const svc = named('Service', target.host);
      const svcPort = (svc?.spec?.ports ?? []).find((p: any) => Number(p.port) === target.port);
      const callee = configs.get(target.host);
      const targetPort = svcPort?.targetPort;
      const podPort = (named('Deployment', target.host)?.spec?.template?.spec?.containers?.[0]?.ports ?? []).find((cp: any) =>
        typeof targetPort === 'string' ? cp.name === targetPort : cp.containerPort === Number(targetPort ?? target.port),
      );
      const serves = callee?.rpc.serves ?? [];
      if (!svc || !svcPort || !serves.includes(service as never) || podPort?.containerPort !== callee?.rpc.port) {
        const where = `${target.host}:${target.port}`;
        problems.push(`Deployment ${name}: the ${service} target ${where} does not reach the RPC port of an app that serves ${service}`);
      }
    }
  }

  // Autoscalers: targets exist; inference on CPU (which needs CPU requests, checked above).
  for (const hpa of objects.filter((o) => o.kind === 'HorizontalPodAutoscaler')) {
    const ref = hpa.spec?.scaleTargetRef;
    if (ref?.kind !== 'Deployment' || !named('Deployment', ref?.name))
      problems.push(`HorizontalPodAutoscaler ${hpa.metadata?.name}: targets no Deployment of deploy/`);
    const cpu = (hpa.spec?.metrics ?? []).some((m: any) => m.type === 'Resource' && m.resource?.name === 'cpu');
    if (!cpu) problems.push(`HorizontalPodAutoscaler ${hpa.metadata?.name}: does not scale on CPU`);
  }
  const hpaTargets = objects.filter((o) => o.kind === 'HorizontalPodAutoscaler').map((o) => o.spec?.scaleTargetRef?.name);
  if (!hpaTargets.includes('inference')) problems.push('no HorizontalPodAutoscaler for inference');

  // KEDA: each redis trigger reads a BullMQ list of a queue its target's workers consume, on REDIS_URL's server.
  for (const so of objects.filter((o) => o.kind === 'ScaledObject')) {
    const where = `ScaledObject ${so.metadata?.name}`;
    const targetName = so.spec?.scaleTargetRef?.name;
    const config = configs.get(targetName);
    if (!config) {
      problems.push(`${where}: targets ${targetName}, no Deployment of deploy/ with a loadable configuration`);
      continue;
    }
    const queues = surfaceOf(config).queues;
    for (const trigger of so.spec?.triggers ?? []) {
      if (trigger.type !== 'redis') continue;
      const list = String(trigger.metadata?.listName);
      const m = /^(.+):([^:]+):(wait|active)$/.exec(list);
      if (!m || m[1] !== config.queues.prefix || !queues.has(m[2]!)) {
        const consumed = [...queues].join(', ');
        problems.push(
          `${where}: listName ${list} is not <KILN_QUEUE_PREFIX>:<queue>:wait|active for prefix ${config.queues.prefix} ` +
            `and a queue ${targetName} consumes (${consumed})`,
        );
      }
      if (config.queues.backend !== 'redis') problems.push(`${where}: ${targetName} has no REDIS_URL, its queues are not in Redis`);
      const auth = named('TriggerAuthentication', trigger.authenticationRef?.name);
      const addressRef = (auth?.spec?.secretTargetRef ?? []).find((r: any) => r.parameter === 'address');
      const secret = addressRef ? named('Secret', addressRef.name) : undefined;
      const address = trigger.metadata?.address ?? (secret ? decode(secret, addressRef.key) : undefined);
      const redis = config.queues.redisUrl ? new URL(config.queues.redisUrl) : undefined;
      const redisAddress = redis ? `${redis.hostname}:${redis.port || 6379}` : undefined;
      if (!redisAddress || address !== redisAddress) {
        problems.push(`${where}: reads Redis at ${address ?? 'nothing'}, the app's REDIS_URL is ${redisAddress ?? 'unset'}`);
      }
    }
    if (!(so.spec?.triggers ?? []).some((t: any) => t.type === 'redis')) problems.push(`${where}: no redis (queue depth) trigger`);
    // postgresql triggers: the audit backlog (audit_staging) of an app that chains it, in DATABASE_URL's database.
    for (const trigger of (so.spec?.triggers ?? []).filter((t: any) => t.type === 'postgresql')) {
      if (!/\bFROM\s+audit_staging\b/i.test(String(trigger.metadata?.query))) {
        problems.push(`${where}: the postgresql trigger does not count audit_staging (the audit backlog)`);
      }
      if (!config.roles.includes('audit')) problems.push(`${where}: ${targetName} does not chain audit_staging (no audit role)`);
      const auth = named('TriggerAuthentication', trigger.authenticationRef?.name);
      const ref = (auth?.spec?.secretTargetRef ?? []).find((r: any) => r.parameter === 'connection');
      const secret = ref ? named('Secret', ref.name) : undefined;
      const connection = secret ? decode(secret, ref.key) : undefined;
      const database = (u: string | undefined) => {
        const url = u ? new URL(u) : undefined;
        return url ? `${url.hostname}:${url.port || 5432}${url.pathname}` : undefined;
      };
      const expected = database(config.database.url);
      if (!expected || database(connection) !== expected) {
        problems.push(
          `${where}: reads PostgreSQL at ${database(connection) ?? 'nothing'}, the app's DATABASE_URL is ${expected ?? 'unset'}`,
        );
      }
    }
  }
  const auditScaler = objects.find((o) => o.kind === 'ScaledObject' && o.spec?.scaleTargetRef?.name === 'audit');
  if (auditScaler && !(auditScaler.spec?.triggers ?? []).some((t: any) => t.type === 'postgresql')) {
    problems.push(`ScaledObject ${auditScaler.metadata?.name}: no postgresql trigger on the audit backlog (audit_staging)`);
  }
  for (const worker of ['training', 'audit']) {
    if (!objects.some((o) => o.kind === 'ScaledObject' && o.spec?.scaleTargetRef?.name === worker))
      problems.push(`no ScaledObject for ${worker}`);
  }
  return problems;
}

/** `${NAME}`, `${NAME:-default}`, `${NAME:?message}` as Compose interpolates them, from `vars`. */
export function interpolate(value: string, vars: Record<string, string>, problems: string[], where: string): string {
  return value.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?([-?])([^}]*))?\}/g, (_, name: string, op?: string, arg?: string) => {
    if (vars[name] !== undefined && vars[name] !== '') return vars[name]!;
    if (op === '-') return arg ?? '';
    problems.push(`${where}: \${${name}} is unset${op === '?' ? ` (${arg})` : ''}`);
    return '';
  });
}

/**
 * The compose file: every app service runs `node dist/apps/<app>/main.js` with a loadable configuration
 * of known variables, publishes and health-checks its HTTP port on a real route, and names only hosts
 * that are services of the file; inference runs two replicas.
 */
export function checkCompose(doc: any, vars: Record<string, string>, imageEnv: Record<string, string>): string[] {
  const problems: string[] = [];
  const services: Record<string, any> = doc?.services ?? {};
  const seen: Role[] = [];
  const keyUsers: Array<{ where: string; file: string; source: string | undefined }> = [];
  for (const [name, svc] of Object.entries(services)) {
    for (const dep of Object.keys(svc.depends_on ?? {}))
      if (!services[dep]) problems.push(`service ${name}: depends on ${dep}, which is no service`);
    if (!Array.isArray(svc.command) || svc.command[0] !== 'node') continue;
    const where = `service ${name}`;
    const app = commandApp(where, svc.command, problems);
    if (!app) continue;
    seen.push(app);
    const raw: Record<string, unknown> = Array.isArray(svc.environment)
      ? Object.fromEntries((svc.environment as string[]).map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]))
      : (svc.environment ?? {});
    const env = {
      ...imageEnv,
      ...Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, interpolate(String(v), vars, problems, `${where} ${k}`)])),
    };
    const config = appConfig(where, app, env, problems);
    if (!config) continue;
    const surface = surfaceOf(config);
    for (const [k, v] of Object.entries(env)) {
      let host: string | undefined;
      try {
        const u = new URL(v);
        if (/^(postgres|postgresql|redis|rediss|nats|http|https):$/.test(u.protocol)) host = u.hostname;
      } catch {
        /* not a URL */
      }
      if (host && !services[host]) problems.push(`${where}: ${k} names host ${host}, which is no service of the compose file`);
    }
    for (const p of svc.ports ?? []) {
      const container = Number(String(p).split(':').pop());
      if (container !== config.http.port)
        problems.push(`${where}: publishes container port ${container}, the app listens on ${config.http.port}`);
    }
    const test = (svc.healthcheck?.test ?? []).join(' ');
    const url = /https?:\/\/[^'"\s)]+/.exec(test)?.[0];
    if (!url) problems.push(`${where}: no HTTP health check`);
    else {
      const u = new URL(url);
      probePath(`${where} healthcheck`, u.pathname, surface, problems);
      if (Number(u.port || 80) !== config.http.port)
        problems.push(`${where} healthcheck: port ${u.port} is not the HTTP port ${config.http.port}`);
    }
    if (app === 'inference' && Number(svc.deploy?.replicas ?? 1) < 2) problems.push(`${where}: inference needs 2 replicas`);
    if (usesAuditKey(surface)) {
      // Named volumes (`name:/path`) and bind mounts (`./dir:/path`) are storage services can share.
      const mounts = (svc.volumes ?? []).map((v: unknown) => {
        const [src, path] = typeof v === 'string' ? v.split(':') : [(v as any).source, (v as any).target];
        const named = src && !src.includes('/') && !src.startsWith('.');
        return {
          path: String(path),
          source: named ? (doc.volumes && src in doc.volumes ? `volume ${src}` : undefined) : src ? `bind ${src}` : undefined,
        };
      });
      keyUsers.push({ where, file: config.audit.signingKeyFile, source: mountOf(config.audit.signingKeyFile, mounts)?.source });
    }
  }
  problems.push(...checkSharedKey(keyUsers));
  if (JSON.stringify([...seen].sort()) !== JSON.stringify([...APPS].sort()))
    problems.push(`the app services run ${seen.join(', ')}; expected ${APPS.join(', ')}`);
  return problems;
}

interface Instruction {
  op: string;
  args: string;
}

/** Dockerfile instructions (comments dropped, `\` continuations joined). */
export function parseDockerfile(text: string): Instruction[] {
  const lines = text.split('\n').filter((l) => !/^\s*#/.test(l));
  const joined = lines.join('\n').replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [op, ...rest] = l.split(/\s+/);
      return { op: op!.toUpperCase(), args: rest.join(' ') };
    });
}

/** The variables the runtime (last) stage sets with ENV (`ENV A=1 B=2` or `ENV A 1`). */
export function imageEnv(text: string): Record<string, string> {
  const stages = parseDockerfile(text).reduce<Instruction[][]>(
    (acc, i) => (i.op === 'FROM' ? [...acc, []] : (acc[acc.length - 1]?.push(i), acc)),
    [],
  );
  const env: Record<string, string> = {};
  for (const { op, args } of stages[stages.length - 1] ?? []) {
    if (op !== 'ENV') continue;
    if (!args.includes('=')) {
      const [name, ...value] = args.split(/\s+/);
      env[name!] = value.join(' ');
    } else for (const m of args.matchAll(/([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S*)/g)) env[m[1]!] = m[2]!.replace(/^"|"$/g, '');
  }
  return env;
}

/**
 * The Dockerfile: each COPY from the build context names files of the repository; each COPY from the
 * build stage names files `npm run build` produced (relative to that stage's WORKDIR); the runtime
 * stage runs as a non-root user and its CMD — and every app command of deploy/ — is a file it ships.
 */
export function checkDockerfile(text: string, commands: string[]): string[] {
  const problems: string[] = [];
  const stages: Array<{ name?: string; workdir: string; copied: string[]; user?: string; cmd?: string[] }> = [];
  for (const { op, args } of parseDockerfile(text)) {
    if (op === 'FROM') {
      stages.push({ name: / AS (\S+)$/i.exec(args)?.[1], workdir: '/', copied: [] });
      continue;
    }
    const stage = stages[stages.length - 1];
    if (!stage) continue;
    if (op === 'WORKDIR') stage.workdir = posix.resolve(stage.workdir, args);
    if (op === 'USER') stage.user = args;
    if (op === 'CMD') stage.cmd = JSON.parse(args) as string[];
    if (op === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      const dest = posix.resolve(stage.workdir, paths.pop()!);
      for (const src of paths) {
        let local: string;
        if (from) {
          const source = stages.find((s) => s.name === from);
          if (!source) {
            problems.push(`COPY --from=${from}: no stage named ${from}`);
            continue;
          }
          // Inside the build stage, the repository sits at its WORKDIR.
          local = posix.relative(source.workdir, posix.resolve(source.workdir, src));
        } else local = src;
        if (local.startsWith('..') || !existsSync(join(ROOT, local)))
          problems.push(`COPY ${from ? `--from=${from} ` : ''}${src}: ${local} does not exist in the repository after npm run build`);
        stage.copied.push(posix.relative(stage.workdir, posix.join(dest, paths.length > 1 ? posix.basename(src) : '')));
      }
    }
  }
  const runtime = stages[stages.length - 1];
  if (!runtime) return ['no FROM'];
  for (const name of Object.keys(imageEnv(text))) {
    if (!CONFIG_VARIABLES.includes(name)) problems.push(`ENV ${name}: unknown variable (not in the configuration schema)`);
  }
  if (!runtime.user || /^(root|0)(:|$)/.test(runtime.user))
    problems.push(`the runtime stage runs as ${runtime.user ?? 'root'}, not as a non-root user`);
  const shipped = (file: string) =>
    runtime.copied.some((dir) => normalize(file) === normalize(dir) || normalize(file).startsWith(normalize(dir) + '/'));
  if (!runtime.cmd || runtime.cmd[0] !== 'node' || !runtime.cmd[1])
    problems.push(`CMD ${JSON.stringify(runtime.cmd)} is not ['node', <file>]`);
  for (const file of [runtime.cmd?.[1], ...commands].filter((f): f is string => Boolean(f))) {
    if (!shipped(file)) problems.push(`${file} is not in the runtime image (copied: ${runtime.copied.join(', ')})`);
    if (!existsSync(join(ROOT, file))) problems.push(`${file} does not exist after npm run build`);
  }
  return problems;
}
