import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Script, createContext } from 'node:vm';
import { monitoringPage } from './monitoring-page';

/** Just enough DOM for the page's script (no DOM library in the project): elements with attributes, children and text. */
class FakeElement {
  children: FakeElement[] = [];
  attrs: Record<string, string> = {};
  text = '';
  value = '1h';
  listeners: Record<string, (e: unknown) => void> = {};
  constructor(
    readonly tag: string,
    readonly ns: string | null = null,
  ) {}
  setAttribute(k: string, v: unknown) {
    this.attrs[k] = String(v);
  }
  set textContent(v: string) {
    this.text = v;
    this.children = [];
  }
  get textContent(): string {
    return this.text + this.children.map((c) => c.textContent).join('');
  }
  append(...nodes: FakeElement[]) {
    this.children.push(...nodes);
  }
  replaceChildren(...nodes: FakeElement[]) {
    this.children = nodes;
  }
  addEventListener(type: string, fn: (e: unknown) => void) {
    this.listeners[type] = fn;
  }
  all(tag: string): FakeElement[] {
    return this.children.flatMap((c) => [...(c.tag === tag ? [c] : []), ...c.all(tag)]);
  }
  querySelectorAll(tag: string) {
    return this.all(tag);
  }
  querySelector(tag: string) {
    return this.all(tag)[0] ?? null;
  }
}

const DOC = {
  model: 'fraud',
  window: { from: '2025-06-01T11:00:00.000Z', to: '2025-06-01T12:00:00.000Z', seconds: 3600 },
  totals: { requests: 12, ratePerSecond: 12 / 3600, errors: 1, errorRate: 1 / 12 },
  versions: [
    {
      version: 3,
      task: 'binary',
      requests: { count: 12, ratePerSecond: 12 / 3600, errors: 1, errorRate: 1 / 12 },
      latencyMs: { p50: 2, p95: 5, p99: 9 },
      predictions: { type: 'labels', counts: { no: 8, '<img src=x onerror=alert(1)>': 3 } },
      quality: { labelled: 5, accuracy: 0.8, macroF1: 0.7, f1: 0.6, rocAuc: 0.9, auc: 'binary', confusionMatrix: null },
    },
  ],
  latencyOverTime: [
    { minute: '2025-06-01T11:58:00.000Z', count: 5, p50: 2, p99: 8 },
    { minute: '2025-06-01T11:59:00.000Z', count: 7, p50: 3, p99: 9 },
  ],
  labelledTruncated: false,
  drift: {
    id: 'r1',
    version: 3,
    createdAt: '2025-06-01T12:00:00.000Z',
    drift: true,
    report: {
      // The drift monitor's stored shape (src/audit/drift/drift-report.ts).
      features: [
        { feature: 'amount', test: 'ks', score: 0.4, pValue: 0.001, threshold: 0.05, drifted: true, psi: 0.3 },
        { feature: 'country', test: 'chi_square', score: 1.2, pValue: 0.5, threshold: 0.05, drifted: false, psi: 0.01 },
      ],
      histograms: {
        amount: { kind: 'numeric', edges: [0, 10, 20, 30], reference: [5, 3, 2], current: [1, 3, 6] },
        country: { kind: 'categorical', categories: ['DE', 'FR'], reference: [4, 6], current: [5, 5] },
      },
      prediction: {
        target: 'fraud',
        result: { drifted: false },
        histogram: { kind: 'categorical', categories: ['no', 'yes'], reference: [9, 1], current: [8, 2] },
      },
    },
  },
};

async function renderPage(doc: unknown, status = 200) {
  const html = monitoringPage('fraud');
  const script = /<script>([\s\S]*)<\/script>/.exec(html)![1]!;
  const ids = new Map<string, FakeElement>();
  for (const m of html.matchAll(/id="([a-z]+)"/g)) ids.set(m[1]!, new FakeElement('div'));
  const requests: Array<{ url: string; headers: Record<string, string> }> = [];
  let done!: () => void;
  const fetched = new Promise<void>((r) => (done = r));
  const document = {
    body: { dataset: { model: 'fraud' } },
    getElementById: (id: string) => ids.get(id) ?? null,
    createElement: (tag: string) => new FakeElement(tag),
    createElementNS: (ns: string, tag: string) => new FakeElement(tag, ns),
    createTextNode: (t: string) => Object.assign(new FakeElement('#text'), { text: t }),
  };
  const context = createContext({
    document,
    sessionStorage: { getItem: () => 'the-key', setItem: () => undefined },
    fetch: async (url: string, init: { headers: Record<string, string> }) => {
      requests.push({ url, headers: init.headers });
      setImmediate(done);
      return { ok: status < 400, status, statusText: 'x', json: async () => doc };
    },
    setInterval: () => 0,
    encodeURIComponent,
    Date,
  });
  new Script(script, { filename: 'monitoring-page.js' }).runInContext(context);
  await fetched;
  await new Promise((r) => setImmediate(r));
  return { html, ids, requests };
}

describe('monitoringPage', () => {
  it('is self-contained: no external scripts, styles or fonts', () => {
    const html = monitoringPage('fraud-v2');
    assert.doesNotMatch(html, /<script[^>]+src=/i);
    assert.doesNotMatch(html, /<link[^>]+href=/i);
    assert.doesNotMatch(html, /https?:\/\/(?!www\.w3\.org\/2000\/svg)/);
    assert.match(html, /data-model="fraud-v2"/);
  });

  it('reads the monitoring API with the stored key and draws every chart', async () => {
    const { ids, requests } = await renderPage(DOC);
    assert.deepEqual(JSON.parse(JSON.stringify(requests)), [
      { url: '/api/models/fraud/monitoring?window=1h', headers: { 'x-api-key': 'the-key' } },
    ]);
    // Latency: one line per percentile, one point per minute.
    const latency = ids.get('latency')!;
    assert.equal(latency.all('polyline').length, 2);
    assert.equal(latency.all('circle').length, 4);
    // Distribution: a bar per label, the label as text (not markup).
    const dist = ids.get('distribution')!;
    assert.equal(dist.all('rect').length, 2);
    assert.ok(dist.all('text').some((t) => t.text === '<img src=x onerror=alert(1)>'.slice(0, 18)));
    // Drift: a score bar per feature (red when drifted), then reference vs current per feature.
    const drift = ids.get('drift')!;
    const svgs = drift.all('svg');
    assert.equal(svgs.length, 4);
    assert.deepEqual(
      svgs[0]!.all('rect').map((r) => r.attrs.fill),
      ['#d62728', '#1f77b4'],
    );
    assert.match(svgs[0]!.all('title')[0]!.text, /ks, threshold 0.05, p=0.00100, PSI 0.300/);
    assert.equal(svgs[1]!.all('rect').length, 6);
    assert.equal(svgs[2]!.all('rect').length, 4);
    assert.equal(svgs[3]!.all('rect').length, 4);
    assert.match(drift.textContent, /predicted fraud vs training target/);
    assert.match(ids.get('summary')!.textContent, /0\.800/);
  });

  it('shows the API error instead of charts', async () => {
    const { ids } = await renderPage({ detail: 'role "predictor" may not do this' }, 403);
    assert.match(ids.get('status')!.text, /403: role "predictor"/);
    assert.equal(ids.get('latency')!.children.length, 0);
  });
});
