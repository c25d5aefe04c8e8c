/**
 * deploy/ cannot drift from the code: every Kubernetes object validates against its schema
 * (kubernetes-models, @kubernetes-models/keda), and the manifests, the compose file and the Dockerfile
 * agree with the configuration schema, the ports, the routes and the queues of each app (see
 * deploy-checks.ts). The second half breaks copies of the real files and shows each check fails.
 */
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { load as loadYaml, loadAll as loadAllYaml, YAML11_SCHEMA } from 'js-yaml';
import { generateAdminKey } from '../utils/test-kiln';
import { APPS, checkCompose, checkDockerfile, checkKubernetes, imageEnv, type K8sObject, ROOT } from './deploy-checks';

const DEPLOY = join(ROOT, 'deploy');
const KUBERNETES = join(DEPLOY, 'kubernetes');

// YAML 1.1 as kubectl and Compose read it (merge keys `<<`, which Compose files use for shared settings).
const load = (text: string) => loadYaml(text, { schema: YAML11_SCHEMA });
const loadAll = (text: string) => loadAllYaml(text, { schema: YAML11_SCHEMA });

function kubernetesObjects(): K8sObject[] {
  const kustomization = load(readFileSync(join(KUBERNETES, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
  return kustomization.resources.flatMap((file) => (loadAll(readFileSync(join(KUBERNETES, file), 'utf8')) as K8sObject[]).filter(Boolean));
}
const composeDoc = () => load(readFileSync(join(DEPLOY, 'compose.yaml'), 'utf8')) as any;
const dockerfile = () => readFileSync(join(DEPLOY, 'Dockerfile'), 'utf8');
/** What the image's ENV sets under every container's environment. */
const baseEnv = imageEnv(dockerfile());
/** What `docker compose` would interpolate: the one variable the compose file requires. */
const composeVars = { KILN_ADMIN_KEY: generateAdminKey() };

function appCommands(objects: K8sObject[], compose: any): string[] {
  const k8s = objects
    .filter((o) => o.kind === 'Deployment')
    .flatMap((d) => d.spec.template.spec.containers.map((c: any) => c.command?.[1]));
  const composed = Object.values(compose.services as Record<string, any>)
    .filter((s) => Array.isArray(s.command) && s.command[0] === 'node')
    .map((s) => s.command[1]);
  return [...k8s, ...composed];
}

const copy = <T>(x: T): T => structuredClone(x);
const deployment = (objects: K8sObject[], name: string) => objects.find((o) => o.kind === 'Deployment' && o.metadata?.name === name)!;
const container = (objects: K8sObject[], name: string) => deployment(objects, name).spec.template.spec.containers[0];

describe('deploy/', () => {
  it('kustomization.yaml lists every manifest of deploy/kubernetes', () => {
    const kustomization = load(readFileSync(join(KUBERNETES, 'kustomization.yaml'), 'utf8')) as { resources: string[] };
    const files = readdirSync(KUBERNETES).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  it('Kubernetes manifests: valid objects that match the configuration, ports, routes and queues of each app', () => {
    const objects = kubernetesObjects();
    assert.deepEqual(checkKubernetes(objects, baseEnv), []);
    const kinds = objects.map((o) => `${o.kind} ${o.metadata?.name}`);
    for (const app of APPS) {
      assert.ok(kinds.includes(`Deployment ${app}`) && kinds.includes(`Service ${app}`), `${app}: Deployment and Service`);
    }
    for (const kind of ['ConfigMap', 'Secret', 'HorizontalPodAutoscaler', 'ScaledObject'])
      assert.ok(
        objects.some((o) => o.kind === kind),
        kind,
      );
  });

  it('compose file: the five apps (inference twice) with loadable configurations on real routes and hosts', () => {
    assert.deepEqual(checkCompose(composeDoc(), composeVars, baseEnv), []);
  });

  it('Dockerfile: its COPY sources and every app command exist after npm run build, non-root runtime', () => {
    assert.deepEqual(checkDockerfile(dockerfile(), appCommands(kubernetesObjects(), composeDoc())), []);
  });

  describe('each check fails when deploy/ drifts from the code', () => {
    const objects = kubernetesObjects();
    const broken = (mutate: (objects: K8sObject[]) => void): string[] => {
      const changed = copy(objects);
      mutate(changed);
      return checkKubernetes(changed, baseEnv);
    };
    const expectProblem = (problems: string[], pattern: RegExp) =>
      assert.ok(
        problems.some((p) => pattern.test(p)),
        `expected a problem matching ${pattern}, got:\n${problems.join('\n')}`,
      );

    it('an unknown variable, in env or in the ConfigMap', () => {
      expectProblem(
        broken((o) => container(o, 'gateway').env.push({ name: 'KILN_RPC_INGESTON', value: 'ingestion:4001' })),
        /gateway container gateway: unknown variable KILN_RPC_INGESTON/,
      );
      expectProblem(
        broken((o) => (o.find((x) => x.kind === 'ConfigMap')!.data.KILN_TRANSPRT = 'tcp')),
        /Deployment audit container audit: unknown variable KILN_TRANSPRT/,
      );
    });

    it('a value the configuration rejects, or a variable the role needs and lacks', () => {
      expectProblem(
        broken((o) => (o.find((x) => x.kind === 'ConfigMap')!.data.KILN_TRANSPORT = 'grpc')),
        /does not load: invalid configuration: KILN_TRANSPORT/,
      );
      expectProblem(
        broken((o) => (container(o, 'ingestion').env = [])),
        /ingestion: the configuration does not load: .*KILN_RPC_PORT: required/,
      );
    });

    it('a wrong probe path or probe port', () => {
      expectProblem(
        broken((o) => (container(o, 'inference').readinessProbe.httpGet.path = '/healthz')),
        /inference container inference readinessProbe: GET \/healthz is not a route of this app/,
      );
      expectProblem(
        broken((o) => (container(o, 'audit').livenessProbe.httpGet.port = 8080)),
        /audit livenessProbe: port 8080 is not the HTTP port 3000/,
      );
      // A route of another app is not a route of this one: /v2/health/ready is the inference app's.
      expectProblem(
        broken((o) => (container(o, 'gateway').readinessProbe.httpGet.path = '/v2/health/ready')),
        /gateway readinessProbe: GET \/v2\/health\/ready is not a route of this app/,
      );
    });

    it('ports that differ from PORT / KILN_RPC_PORT, and Services that miss them', () => {
      expectProblem(
        broken((o) => (container(o, 'training').ports[0].containerPort = 8080)),
        /training: the app listens on http 3000, the container declares 8080/,
      );
      expectProblem(
        broken((o) => (container(o, 'ingestion').env.find((e: any) => e.name === 'KILN_RPC_PORT').value = '4002')),
        /ingestion: the app listens on rpc 4002, the container declares 4001/,
      );
      expectProblem(
        broken((o) => (o.find((x) => x.kind === 'Service' && x.metadata?.name === 'gateway')!.spec.ports[0].targetPort = 'web')),
        /Service gateway port http: targetPort web is no port/,
      );
      expectProblem(
        broken((o) => (container(o, 'gateway').env.find((e: any) => e.name === 'KILN_RPC_INGESTION').value = 'ingestion:4999')),
        /the ingestion target ingestion:4999 does not reach the RPC port/,
      );
      expectProblem(
        broken((o) => (container(o, 'gateway').env.find((e: any) => e.name === 'KILN_RPC_AUDIT').value = 'training:4001')),
        /the audit target training:4001 does not reach the RPC port of an app that serves audit/,
      );
    });

    it('a schema violation, a wrong command, a missing autoscaler', () => {
      expectProblem(
        broken((o) => (deployment(o, 'audit').spec.replicas = 'two')),
        /Deployment audit: invalid apps\/v1\/Deployment: .*replicas/,
      );
      expectProblem(
        broken((o) => (container(o, 'training').command = ['node', 'dist/apps/trainer/main.js'])),
        /training container training: command .* is not \['node', 'dist\/apps\/<app>\/main.js'\]/,
      );
      expectProblem(
        broken((o) =>
          o.splice(
            o.findIndex((x) => x.kind === 'HorizontalPodAutoscaler'),
            1,
          ),
        ),
        /no HorizontalPodAutoscaler for inference/,
      );
    });

    it('an app that signs or verifies audit checkpoints without the shared key', () => {
      expectProblem(
        broken(
          (o) =>
            (container(o, 'gateway').volumeMounts = container(o, 'gateway').volumeMounts.filter(
              (m: any) => m.name !== 'audit-signing-key',
            )),
        ),
        /gateway container gateway: the audit signing key \/etc\/kiln\/keys\/audit-signing.pem is on storage no other app shares/,
      );
      expectProblem(
        broken((o) => (container(o, 'audit').env = container(o, 'audit').env.filter((e: any) => e.name !== 'KILN_AUDIT_SIGNING_KEY_FILE'))),
        /audit container audit: the audit signing key \/data\/keys\/audit-signing.pem is on storage no other app shares/,
      );
    });

    it('a KEDA trigger on a queue the worker does not consume, or on another Redis', () => {
      const scaled = (o: K8sObject[], name: string) => o.find((x) => x.kind === 'ScaledObject' && x.metadata?.name === name)!;
      expectProblem(
        broken((o) => (scaled(o, 'training').spec.triggers[0].metadata.listName = 'kiln:audit:wait')),
        /ScaledObject training: listName kiln:audit:wait is not/,
      );
      expectProblem(
        broken((o) => (o.find((x) => x.kind === 'ConfigMap')!.data.KILN_QUEUE_PREFIX = 'prod')),
        /ScaledObject audit: listName kiln:audit:wait is not .* for prefix prod/,
      );
      expectProblem(
        broken((o) => (o.find((x) => x.kind === 'Secret' && x.metadata?.name === 'kiln-keda-redis')!.stringData.address = 'redis-2:6379')),
        /reads Redis at redis-2:6379, the app's REDIS_URL is redis:6379/,
      );
    });

    it('an audit scaler that does not watch the staged backlog, or reads another database', () => {
      const audit = (o: K8sObject[]) => o.find((x) => x.kind === 'ScaledObject' && x.metadata?.name === 'audit')!;
      expectProblem(
        broken((o) => (audit(o).spec.triggers = audit(o).spec.triggers.filter((t: any) => t.type !== 'postgresql'))),
        /ScaledObject audit: no postgresql trigger on the audit backlog \(audit_staging\)/,
      );
      expectProblem(
        broken(
          (o) =>
            (audit(o).spec.triggers.find((t: any) => t.type === 'postgresql').metadata.query = 'SELECT count(*) FROM audit_predictions'),
        ),
        /ScaledObject audit: the postgresql trigger does not count audit_staging/,
      );
      expectProblem(
        broken(
          (o) =>
            (o.find((x) => x.kind === 'Secret' && x.metadata?.name === 'kiln-keda-postgres')!.stringData.connection =
              'postgresql://kiln:x@postgres-old:5432/kiln'),
        ),
        /ScaledObject audit: reads PostgreSQL at postgres-old:5432\/kiln, the app's DATABASE_URL is postgres:5432\/kiln/,
      );
    });

    it('compose: an unknown variable, an unknown host, a wrong health-check path, one inference replica', () => {
      const doc = composeDoc();
      const check = (mutate: (d: any) => void) => {
        const changed = copy(doc);
        mutate(changed);
        return checkCompose(changed, composeVars, baseEnv);
      };
      expectProblem(
        check((d) => (d.services.audit.environment = { ...d.services.audit.environment, KILN_AUDIT_RETENTION: '30' })),
        /service audit: unknown variable KILN_AUDIT_RETENTION/,
      );
      expectProblem(
        check((d) => (d.services.training.environment = { ...d.services.training.environment, NATS_URL: 'nats://broker:4222' })),
        /service training: NATS_URL names host broker, which is no service/,
      );
      expectProblem(
        check(
          (d) =>
            (d.services.gateway.healthcheck = { ...d.services.gateway.healthcheck, test: ['CMD', 'curl', 'http://127.0.0.1:3000/ready'] }),
        ),
        /service gateway healthcheck: GET \/ready is not a route of this app/,
      );
      expectProblem(
        check((d) => (d.services.inference.deploy.replicas = 1)),
        /service inference: inference needs 2 replicas/,
      );
      expectProblem(checkCompose(doc, {}, baseEnv), /KILN_ADMIN_KEY: \$\{KILN_ADMIN_KEY\} is unset/);
      expectProblem(
        check((d) => delete d.services.audit.volumes),
        /service audit: the audit signing key \/data\/keys\/audit-signing.pem is on storage no other app shares/,
      );
    });

    it('Dockerfile: a COPY of something that does not exist, a command the image does not ship, root', () => {
      const commands = appCommands(objects, composeDoc());
      expectProblem(checkDockerfile(dockerfile().replace('COPY apps ./apps', 'COPY app ./apps'), commands), /COPY app: app does not exist/);
      expectProblem(
        checkDockerfile(dockerfile().replace('COPY --from=build /app/dist/apps ./dist/apps\n', ''), commands),
        /dist\/apps\/gateway\/main.js is not in the runtime image/,
      );
      expectProblem(
        checkDockerfile(dockerfile().replace('/app/dist/migrations', '/app/dist/migration'), commands),
        /dist\/migration does not exist/,
      );
      expectProblem(checkDockerfile(dockerfile().replace('USER node', 'USER root'), commands), /runs as root/);
      expectProblem(
        checkDockerfile(dockerfile().replace('KILN_DATA_DIR=/data', 'KILN_DATADIR=/data'), commands),
        /ENV KILN_DATADIR: unknown variable/,
      );
    });
  });
});
