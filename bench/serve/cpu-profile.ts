/**
 * Summarises a V8 `.cpuprofile` (written by `node --cpu-prof`) over a time window: where the server
 * process spent its CPU while under load. Self time by function and by code origin (a Kiln source
 * file, an npm package, Node internals, GC), by owner (each sample charged to the code that asked
 * for it, see SPECIFIC), and inclusive time by function (a function and everything it called), as
 * percentages of the window's non-idle samples.
 *
 * The window is given in the same clock as the profile's timestamps: V8's monotonic clock in µs,
 * which on Linux is CLOCK_MONOTONIC, the clock of `process.hrtime` in every process.
 */

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileRow {
  name: string;
  pct: number;
}

export interface ProfileSummary {
  /** The window in the profile's clock (µs). */
  fromUs: number;
  toUs: number;
  windowMs: number;
  samples: number;
  /** Share of the window the main thread was idle (waiting on I/O). */
  idlePct: number;
  selfByFunction: ProfileRow[];
  selfByOrigin: ProfileRow[];
  /** Every busy sample charged to one owner (see SPECIFIC, FALLBACK): adds up to 100 %. */
  byOwner: ProfileRow[];
  inclusiveByFunction: ProfileRow[];
}

/** `node_modules/<pkg>` (scoped included), a repo source file, `node:<internal>`, or the special V8 frames. */
export function originOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1]!;
  if (url.startsWith('node:')) return 'node internals';
  // compiled repo files: <repo>/dist/<dir>/… or an own outDir such as <repo>/.build/<name>/<dir>/…
  const own = /\/(?:dist|\.build\/[^/]+)\/((?:src|bench|test|apps)\/.*)$/.exec(url);
  return own ? `kiln ${own[1]!.replace(/\.js$/, '')}` : url;
}

function frameName(n: ProfileNode): string {
  const { functionName, url, lineNumber } = n.callFrame;
  if (!url) return functionName || '(anonymous)';
  return `${functionName || '(anonymous)'} ${originOf(url, functionName)}:${lineNumber + 1}`;
}

const SPECIAL = new Set(['(idle)', '(root)', '(program)']);

type Frame = ProfileNode['callFrame'] & { origin: string };

/**
 * Who a sample's CPU is charged to: the deepest frame of its stack that a SPECIFIC rule claims (so
 * Node-internal work such as hashing, stream writes or pg protocol work is charged to the Kiln
 * code that asked for it); when none does, the deepest frame a FALLBACK rule claims (frameworks
 * that call everything: charged only what no specific owner below them explains).
 */
const SOCKET_WRITES = 'socket writes (syscalls)';
const DB_CLIENTS = /^(pg|pg-pool|pg-protocol|typeorm|bullmq|ioredis)$/;
const SPECIFIC: Array<[string, (f: Frame) => boolean]> = [
  ['GC', (f) => f.functionName === '(garbage collector)'],
  ['V8 (program: compiler, runtime)', (f) => f.functionName === '(program)'],
  [SOCKET_WRITES, (f) => f.url === '' && /^(writev|writeUtf8String|writeBuffer|writeLatin1String)$/.test(f.functionName)],
  [
    'model (TF.js predict, tensors, wasm; ONNX Runtime)',
    (f) =>
      /^@tensorflow\//.test(f.origin) ||
      f.origin.startsWith('wasm://') ||
      f.origin === 'kiln src/inference/runtime/loaded-model' ||
      f.origin === 'onnxruntime-node' ||
      f.origin.startsWith('kiln src/ml/onnx'),
  ],
  ['preprocessing (validate + transform records)', (f) => f.origin === 'kiln src/ml/preprocessing'],
  ['other src/ml code (output decoding)', (f) => f.origin.startsWith('kiln src/ml')],
  [
    'prediction audit log (call-audit, audit sink + queue, hash chain, its SQL)',
    (f) => f.origin.startsWith('kiln src/audit') || f.origin === 'kiln src/inference/call-audit' || f.origin === 'json-canonicalize',
  ],
  ['routing poll of the registry (models domain, its SQL)', (f) => f.origin.startsWith('kiln src/models')],
  ['auth (API key guard + verify)', (f) => f.origin.startsWith('kiln src/platform/auth')],
  [
    'metrics (prom-client, HTTP + inference metrics)',
    (f) =>
      f.origin === 'prom-client' ||
      f.origin.startsWith('kiln src/platform/metrics') ||
      f.origin === 'kiln src/inference/runtime/inference-metrics',
  ],
  [
    'logging / request id (pino, nestjs-pino)',
    (f) =>
      /^(pino|pino-http|nestjs-pino|pino-std-serializers|sonic-boom)$/.test(f.origin) || f.origin.startsWith('kiln src/platform/logging'),
  ],
  // the parsers only, not the callbacks around them: Fastify runs the whole route synchronously inside the parser's `done`
  [
    'request JSON parse',
    (f) =>
      f.origin === 'secure-json-parse' ||
      (/^kiln src\/(platform\/http|inference\/protocols)\/json-body$/.test(f.origin) && f.functionName !== ''),
  ],
  ['response JSON serialisation', (f) => (f.origin === 'fastify' && f.functionName === 'serialize') || f.origin === 'fast-json-stringify'],
  ['dynamic batcher', (f) => f.origin === 'kiln src/inference/runtime/dynamic-batcher'],
  ['inference service + record API controller', (f) => f.origin.startsWith('kiln src/inference')],
];
const FALLBACK: Array<[string, (f: Frame) => boolean]> = [
  ['Nest (router, guards, interceptors, rxjs)', (f) => /^(@nestjs\/|rxjs$|iterare$|reflect-metadata$)/.test(f.origin)],
  ['Fastify (routing, hooks, reply)', (f) => /^(fastify$|@fastify\/|find-my-way$|avvio$|light-my-request$)/.test(f.origin)],
  ['database + queue clients (pg, typeorm, bullmq) with no owner above', (f) => DB_CLIENTS.test(f.origin) || f.origin === 'pg-types'],
  ['Kiln platform (http hooks, errors, other)', (f) => f.origin.startsWith('kiln src/platform')],
  ['other Kiln code', (f) => f.origin.startsWith('kiln ')],
  ['other npm packages', (f) => f.url.includes('node_modules/')],
];
const UNOWNED = 'Node HTTP/net/streams/timers (no JS owner above)';

export function summarise(profile: CpuProfile, fromUs: number, toUs: number, top = 40): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);

  const frames = new Map<number, Frame>(
    profile.nodes.map((n) => [n.id, { ...n.callFrame, origin: originOf(n.callFrame.url, n.callFrame.functionName) }]),
  );
  const ancestors = function* (id: number | undefined): Generator<Frame> {
    for (; id !== undefined; id = parent.get(id)) yield frames.get(id)!;
  };
  const ownerOf = (leaf: number): string => {
    for (const rules of [SPECIFIC, FALLBACK]) {
      for (const f of ancestors(leaf)) {
        const rule = rules.find(([, claims]) => claims(f));
        if (!rule) continue;
        if (rule[0] !== SOCKET_WRITES) return rule[0];
        for (const a of ancestors(leaf)) if (DB_CLIENTS.test(a.origin)) return `${SOCKET_WRITES}: PostgreSQL client`;
        return `${SOCKET_WRITES}: HTTP responses`;
      }
    }
    return UNOWNED;
  };
  const owner = new Map<string, number>();
  const self = new Map<string, number>();
  const origin = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let t = profile.startTime;
  let busy = 0;
  let idle = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i]!;
    if (t < fromUs || t > toUs) continue;
    const node = byId.get(profile.samples[i]!)!;
    if (node.callFrame.functionName === '(idle)') {
      idle++;
      continue;
    }
    busy++;
    const name = frameName(node);
    self.set(name, (self.get(name) ?? 0) + 1);
    const who = ownerOf(node.id);
    owner.set(who, (owner.get(who) ?? 0) + 1);
    const o = originOf(node.callFrame.url, node.callFrame.functionName);
    origin.set(o, (origin.get(o) ?? 0) + 1);
    const seen = new Set<string>();
    for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
      const n = byId.get(id)!;
      const key = frameName(n);
      if (SPECIAL.has(n.callFrame.functionName) || seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + 1);
    }
  }
  const rows = (m: Map<string, number>, n = top): ProfileRow[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, n]) => ({ name, pct: Number(((100 * n) / Math.max(busy, 1)).toFixed(1)) }));
  return {
    fromUs,
    toUs,
    windowMs: Math.round((toUs - fromUs) / 1000),
    samples: busy + idle,
    idlePct: Number(((100 * idle) / Math.max(busy + idle, 1)).toFixed(1)),
    selfByFunction: rows(self),
    selfByOrigin: rows(origin),
    byOwner: rows(owner, SPECIFIC.length + FALLBACK.length + 2),
    inclusiveByFunction: rows(inclusive),
  };
}
