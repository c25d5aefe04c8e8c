/**
 * The monitoring page: one self-contained HTML document (no CDN, no build step; the machine may be
 * offline) whose vanilla JS asks for an API key (kept in sessionStorage, sent as x-api-key), reads
 * `GET /api/models/{name}/monitoring` and draws SVG charts: latency over time, prediction
 * distribution per version, per-feature drift scores and reference-vs-current histograms. All text
 * from the data goes through textContent / attributes, never innerHTML.
 */

const STYLE = `
body{font:14px system-ui,sans-serif;margin:1.5rem;color:#222;max-width:1100px}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:1.6rem}h3{font-size:.95rem;margin:.8rem 0 .2rem}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left}.muted{color:#777}.bad{color:#b00020;font-weight:600}
svg{background:#fafafa;border:1px solid #e4e4e4;display:block;margin:.3rem 0}.legend span{margin-right:1rem}
#status{margin-left:1rem}.grid{display:flex;flex-wrap:wrap;gap:1rem}`;

// The page's JavaScript is served byte-for-byte as written here, and neither prettier nor a `+` split can re-wrap
// lines inside a template literal without changing the served text: max-len is off for this one constant.
/* eslint-disable max-len */
const SCRIPT = `
const NS = 'http://www.w3.org/2000/svg';
const MODEL = document.body.dataset.model;
const COLORS = ['#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd'];
const $ = (id) => document.getElementById(id);
function el(tag, attrs, text, ns) {
  const e = ns ? document.createElementNS(NS, tag) : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = String(text);
  return e;
}
const svgEl = (tag, attrs, text) => el(tag, attrs, text, true);
const fmt = (v, d = 3) => (v === null || v === undefined || Number.isNaN(v) ? '–' : Number(v).toPrecision(d));

// Line chart: series = [{name, values: [y…]}] over shared x labels.
function lineChart(xLabels, series, yTitle) {
  const W = 700, H = 220, L = 50, B = 30, T = 10;
  const svg = svgEl('svg', { width: W, height: H, role: 'img' });
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const x = (i) => L + (xLabels.length < 2 ? 0 : (i * (W - L - 10)) / (xLabels.length - 1));
  const y = (v) => H - B - (v / max) * (H - B - T);
  svg.append(svgEl('text', { x: 4, y: 14, 'font-size': 11 }, yTitle), svgEl('text', { x: 4, y: y(max) + 12, 'font-size': 10 }, fmt(max)));
  svg.append(svgEl('line', { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: '#999' }));
  [0, xLabels.length - 1].forEach((i) => xLabels[i] && svg.append(svgEl('text', { x: x(i), y: H - 10, 'font-size': 10, 'text-anchor': i ? 'end' : 'start' }, xLabels[i])));
  series.forEach((s, k) => {
    const pts = s.values.map((v, i) => x(i) + ',' + y(v)).join(' ');
    svg.append(svgEl('polyline', { points: pts, fill: 'none', stroke: COLORS[k % COLORS.length], 'stroke-width': 1.5 }));
    s.values.forEach((v, i) => svg.append(svgEl('circle', { cx: x(i), cy: y(v), r: 2, fill: COLORS[k % COLORS.length] })));
  });
  return svg;
}

// Grouped bar chart: categories on x, one bar per series; colorOf(i) may override a single series' colours.
function barChart(categories, series, opts = {}) {
  const W = opts.width || 520, H = 200, L = 40, B = 60, T = 10;
  const svg = svgEl('svg', { width: W, height: H, role: 'img' });
  const max = Math.max(1e-9, ...series.flatMap((s) => s.values));
  const slot = (W - L - 10) / Math.max(1, categories.length), bw = (slot * 0.8) / series.length;
  svg.append(svgEl('text', { x: 2, y: T + 8, 'font-size': 10 }, fmt(max)));
  svg.append(svgEl('line', { x1: L, y1: H - B, x2: W - 10, y2: H - B, stroke: '#999' }));
  categories.forEach((c, i) => {
    series.forEach((s, k) => {
      const v = s.values[i] || 0, h = (v / max) * (H - B - T);
      const bar = svgEl('rect', { x: L + i * slot + slot * 0.1 + k * bw, y: H - B - h, width: Math.max(1, bw - 1), height: h,
        fill: opts.colorOf ? opts.colorOf(i) : COLORS[k % COLORS.length] });
      bar.append(svgEl('title', {}, s.name + ' ' + c + ': ' + fmt(v)));
      svg.append(bar);
    });
    if (categories.length <= 30) {
      const tx = L + i * slot + slot / 2;
      svg.append(svgEl('text', { x: tx, y: H - B + 12, 'font-size': 10, 'text-anchor': 'end', transform: 'rotate(-35 ' + tx + ' ' + (H - B + 12) + ')' }, String(c).slice(0, 18)));
    }
  });
  return svg;
}

function legend(names) {
  const d = el('div', { class: 'legend' });
  names.forEach((n, k) => { const s = el('span', { style: 'color:' + COLORS[k % COLORS.length] }, '■ '); s.append(document.createTextNode(n)); d.append(s); });
  return d;
}

function summary(doc) {
  const t = el('table');
  const head = ['version', 'task', 'requests', 'req/s', 'error rate', 'p50 ms', 'p95 ms', 'p99 ms', 'labelled', 'accuracy', 'macro F1', 'ROC AUC', 'RMSE', 'MAE'];
  const hr = el('tr'); head.forEach((h) => hr.append(el('th', {}, h))); t.append(hr);
  for (const v of doc.versions) {
    const q = v.quality || {};
    const cells = [v.version ?? 'none', v.task ?? '–', v.requests.count, fmt(v.requests.ratePerSecond), fmt(v.requests.errorRate),
      fmt(v.latencyMs.p50), fmt(v.latencyMs.p95), fmt(v.latencyMs.p99), q.labelled ?? 0, fmt(q.accuracy), fmt(q.macroF1), fmt(q.rocAuc), fmt(q.rmse), fmt(q.mae)];
    const tr = el('tr'); cells.forEach((c) => tr.append(el('td', {}, c))); t.append(tr);
  }
  return t;
}

// Reference vs current counts: the report's histograms map (by feature), else a member of the feature entry.
const isHistogram = (v) => v && typeof v === 'object' && Array.isArray(v.reference) && Array.isArray(v.current);
function histogramOf(report, f) {
  const h = report.histograms && report.histograms[f.feature];
  return isHistogram(h) ? h : Object.values(f).find(isHistogram) || null;
}
const share = (a) => { const s = a.reduce((x, y) => x + y, 0) || 1; return a.map((x) => x / s); };
function histogramCell(title, drifted, h) {
  const cats = h.categories || (h.edges || []).slice(0, -1).map((e, i) => fmt(e) + '–' + fmt(h.edges[i + 1]));
  const cell = el('div');
  cell.append(el('h3', { class: drifted ? 'bad' : '' }, title + (drifted ? ' (drifted)' : '')),
    barChart(cats, [{ name: 'reference', values: share(h.reference) }, { name: 'current', values: share(h.current) }], { width: 420 }), legend(['reference', 'current']));
  return cell;
}

function drift(doc) {
  const box = $('drift'); box.replaceChildren();
  if (!doc.drift) { box.append(el('p', { class: 'muted' }, 'No drift report yet.')); return; }
  const r = doc.drift.report || {}, features = r.features || [];
  box.append(el('p', { class: doc.drift.drift ? 'bad' : '' }, 'Version ' + doc.drift.version + ', ' + doc.drift.createdAt + ': ' + (doc.drift.drift ? 'DRIFT' : 'no dataset drift')));
  if (!features.length) return;
  box.append(el('h3', {}, 'Per-feature score (red = drifted; test, threshold and PSI in the tooltip)'));
  const chart = barChart(features.map((f) => f.feature), [{ name: 'score', values: features.map((f) => f.score) }],
    { width: 700, colorOf: (i) => (features[i].drifted ? '#d62728' : '#1f77b4') });
  chart.querySelectorAll('rect').forEach((b, i) => b.querySelector('title').textContent +=
    ' (' + features[i].test + ', threshold ' + features[i].threshold + (features[i].pValue !== undefined ? ', p=' + fmt(features[i].pValue) : '') +
    (features[i].psi !== undefined && features[i].psi !== null ? ', PSI ' + fmt(features[i].psi) : '') + ')');
  box.append(chart);
  const grid = el('div', { class: 'grid' });
  for (const f of features) {
    const h = histogramOf(r, f);
    if (h) grid.append(histogramCell(f.feature, f.drifted, h));
  }
  const p = r.prediction;
  if (p && isHistogram(p.histogram)) grid.append(histogramCell('predicted ' + p.target + ' vs training target', !!(p.result && p.result.drifted), p.histogram));
  box.append(grid);
}

function render(doc) {
  $('window').textContent = doc.window.from + ' → ' + doc.window.to + ' · ' + doc.totals.requests + ' requests';
  $('summary').replaceChildren(summary(doc));
  const lat = $('latency'); lat.replaceChildren();
  const m = doc.latencyOverTime;
  if (m.length) lat.append(lineChart(m.map((b) => b.minute.slice(11, 16)), [{ name: 'p50', values: m.map((b) => b.p50) }, { name: 'p99', values: m.map((b) => b.p99) }], 'latency ms'), legend(['p50', 'p99']));
  else lat.append(el('p', { class: 'muted' }, 'No live requests in this window.'));
  const dist = $('distribution'); dist.replaceChildren();
  for (const v of doc.versions) {
    const p = v.predictions; if (!p) continue;
    dist.append(el('h3', {}, 'version ' + v.version + (p.type === 'labels' ? ' (predicted labels)' : ' (predicted values)')));
    const cats = p.type === 'labels' ? Object.keys(p.counts) : p.counts.map((_, i) => fmt(p.edges[i]) + '–' + fmt(p.edges[i + 1]));
    dist.append(barChart(cats, [{ name: 'count', values: p.type === 'labels' ? Object.values(p.counts) : p.counts }]));
  }
  drift(doc);
}

async function load() {
  const key = sessionStorage.getItem('kiln-key');
  if (!key) { $('status').textContent = 'Enter an API key (auditor or developer).'; return; }
  $('status').textContent = 'loading…';
  const res = await fetch('/api/models/' + encodeURIComponent(MODEL) + '/monitoring?window=' + encodeURIComponent($('win').value), { headers: { 'x-api-key': key } });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) { $('status').textContent = res.status + ': ' + (body.detail || res.statusText); return; }
  $('status').textContent = 'updated ' + new Date().toLocaleTimeString();
  render(body);
}

$('keyform').addEventListener('submit', (e) => { e.preventDefault(); sessionStorage.setItem('kiln-key', $('key').value); $('key').value = ''; load(); });
$('win').addEventListener('change', load);
load();
setInterval(load, 30000);
`;
/* eslint-enable max-len */

/** The page for one model (the name is already checked against MODEL_NAME_PATTERN: no escaping needed). */
export function monitoringPage(model: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Kiln monitoring: ${model}</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><style>${STYLE}</style></head>
<body data-model="${model}">
<h1>Monitoring: ${model}</h1>
<form id="keyform"><input id="key" type="password" placeholder="API key" autocomplete="off" size="40"> <button>Use key</button>
 window <select id="win"><option>15m</option><option selected>1h</option><option>24h</option></select><span id="status"></span></form>
<p id="window" class="muted"></p>
<h2>Versions</h2><div id="summary"></div>
<h2>Latency over time (per minute)</h2><div id="latency"></div>
<h2>Prediction distribution</h2><div id="distribution"></div>
<h2>Drift (latest report)</h2><div id="drift"></div>
<script>${SCRIPT}</script>
</body></html>`;
}
