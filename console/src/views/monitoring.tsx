import { useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import { can, enc, get, post } from '../api';
import { Chart, histogramRows } from '../charts';
import { ErrorBox, fmt, link, Loading, Section, useLoad, when, type ViewProps } from '../ui';

export function MonitoringView({ session, route }: ViewProps) {
  const models = useLoad(() => get<any[]>('/api/models'), []);
  const name = route[0] ?? models.data?.[0]?.name;
  return (
    <>
      <div className="row">
        <label>
          Model{' '}
          <select aria-label="model" value={name ?? ''} onChange={(e) => (window.location.hash = link('monitoring', e.target.value))}>
            {(models.data ?? []).map((m) => (
              <option key={m.name}>{m.name}</option>
            ))}
          </select>
        </label>
      </div>
      <ErrorBox error={models.error} />
      {models.data && models.data.length === 0 ? <p className="muted">No models yet.</p> : null}
      {name ? <ModelMonitoring session={session} name={name} /> : null}
    </>
  );
}

const WINDOWS = ['15m', '1h', '6h', '24h', '7d'];
const QUALITY = ['accuracy', 'macroF1', 'f1', 'rocAuc', 'rmse', 'mae', 'r2'];

function ModelMonitoring({ session, name }: { session: ViewProps['session']; name: string }) {
  const [window_, setWindow] = useState('1h');
  const doc = useLoad(() => get(`/api/models/${enc(name)}/monitoring?window=${window_}`), [name, window_]);
  const versions = useLoad(() => get<any[]>(`/api/models/${enc(name)}/versions`), [name]);
  const [checkError, setCheckError] = useState<Error | null>(null);
  const [checking, setChecking] = useState(false);
  if (doc.error) return <ErrorBox error={doc.error} />;
  if (!doc.data) return <Loading what="monitoring" />;
  const d = doc.data;
  const trainingOf = (v: number | null) => {
    const mv = versions.data?.find((x) => x.version === v);
    return (mv?.metrics?.test ?? {}) as Record<string, number>;
  };
  return (
    <>
      <Section
        title={`${name}: live traffic`}
        actions={
          <select aria-label="window" value={window_} onChange={(e) => setWindow(e.target.value)}>
            {WINDOWS.map((w) => (
              <option key={w} value={w}>
                last {w}
              </option>
            ))}
          </select>
        }
      >
        <p className="muted">
          {when(d.window.from)} – {when(d.window.to)}: {fmt(d.totals.requests)} requests ({fmt(d.totals.ratePerSecond, 3)}/s), error rate{' '}
          {fmt(100 * d.totals.errorRate, 3)} %
        </p>
        {d.latencyOverTime.length ? (
          <LatencyCharts minutes={d.latencyOverTime} from={d.window.from} to={d.window.to} />
        ) : (
          <p className="muted">No live predictions in this window.</p>
        )}
      </Section>
      <Section title="Per version: live vs. training">
        <table>
          <thead>
            <tr>
              <th>Version</th>
              <th>Requests</th>
              <th>Errors</th>
              <th>p50 / p95 / p99 ms</th>
              <th>Labelled</th>
              <th>Metric</th>
              <th>Training (test split)</th>
              <th>Live</th>
            </tr>
          </thead>
          <tbody>
            {(d.versions as any[]).flatMap((v) => {
              const training = trainingOf(v.version);
              const q = (v.quality ?? {}) as Record<string, unknown>;
              const names = QUALITY.filter((k) => k in q || k in training).filter((k) => k in q || v.quality === null);
              const rows = names.length ? names : ['–'];
              return rows.map((metric, i) => (
                <tr key={`${v.version}-${metric}`} className={i === 0 ? 'group-start' : ''}>
                  {i === 0 ? (
                    <>
                      <td rowSpan={rows.length}>v{v.version ?? '?'}</td>
                      <td rowSpan={rows.length}>{fmt(v.requests.count)}</td>
                      <td rowSpan={rows.length}>{fmt(100 * v.requests.errorRate, 3)} %</td>
                      <td rowSpan={rows.length}>
                        {fmt(v.latencyMs.p50, 3)} / {fmt(v.latencyMs.p95, 3)} / {fmt(v.latencyMs.p99, 3)}
                      </td>
                      <td rowSpan={rows.length}>{fmt(v.quality?.labelled ?? 0)}</td>
                    </>
                  ) : null}
                  <td>{metric}</td>
                  <td>{fmt(training[metric])}</td>
                  <td>{v.quality ? fmt(q[metric]) : <span className="muted">no labels yet</span>}</td>
                </tr>
              ));
            })}
          </tbody>
        </table>
        <div className="grid">
          {(d.versions as any[]).map((v) =>
            v.predictions ? <PredictionChart key={String(v.version)} version={v.version} predictions={v.predictions} /> : null,
          )}
        </div>
      </Section>
      <Section
        title="Drift"
        actions={
          can.write(session.role) ? (
            <button
              disabled={checking}
              onClick={() => {
                setChecking(true);
                setCheckError(null);
                post(`/api/models/${enc(name)}/drift/check`, {})
                  .then(doc.reload, setCheckError)
                  .finally(() => setChecking(false));
              }}
            >
              {checking ? 'Checking…' : 'Check drift now'}
            </button>
          ) : null
        }
      >
        <ErrorBox error={checkError} />
        {d.drift ? <DriftReport drift={d.drift} /> : <p className="muted">No drift report yet.</p>}
      </Section>
    </>
  );
}

function LatencyCharts({ minutes, from, to }: { minutes: any[]; from: string; to: string }) {
  // The whole window on the x axis, so a quiet hour looks quiet and the last minutes sit at the right.
  const domain = [Date.parse(from), Date.parse(to)];
  const latency: TopLevelSpec = {
    title: 'Latency per minute',
    width: 460,
    height: 200,
    data: {
      values: minutes.flatMap((m) => [
        { minute: m.minute, percentile: 'p50', ms: m.p50 },
        { minute: m.minute, percentile: 'p99', ms: m.p99 },
      ]),
    },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'minute', type: 'temporal', title: 'time', axis: { format: '%H:%M' }, scale: { domain } },
      y: { field: 'ms', type: 'quantitative', title: 'latency (ms)' },
      color: { field: 'percentile', type: 'nominal', title: null },
    },
  };
  const traffic: TopLevelSpec = {
    title: 'Requests per minute',
    width: 460,
    height: 200,
    data: { values: minutes },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      x: {
        field: 'minute',
        type: 'temporal',
        timeUnit: 'yearmonthdatehoursminutes',
        title: 'time',
        axis: { format: '%H:%M' },
        scale: { domain },
      },
      y: { field: 'count', type: 'quantitative', title: 'requests' },
    },
  };
  return (
    <div className="grid">
      <Chart spec={latency} label="latency over time" />
      <Chart spec={traffic} label="requests over time" />
    </div>
  );
}

function PredictionChart({ version, predictions }: { version: number | null; predictions: any }) {
  let spec: TopLevelSpec;
  if (predictions.type === 'labels') {
    spec = {
      title: `v${version}: predicted labels`,
      width: 300,
      height: { step: 16 },
      data: { values: Object.entries(predictions.counts as Record<string, number>).map(([label, count]) => ({ label, count })) },
      mark: { type: 'bar', tooltip: true },
      encoding: { y: { field: 'label', type: 'nominal', sort: '-x', title: null }, x: { field: 'count', type: 'quantitative' } },
    };
  } else {
    spec = {
      title: `v${version}: predicted values`,
      width: 300,
      height: 160,
      data: { values: histogramRows(predictions.edges, { predictions: predictions.counts }) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labelAngle: -45, labelOverlap: true } },
        y: { field: 'count', type: 'quantitative' },
      },
    };
  }
  return <Chart spec={spec} label={`predictions v${version}`} />;
}

const TEST_NAMES: Record<string, string> = {
  ks: 'Kolmogorov–Smirnov',
  chi_square: 'chi-square',
  wasserstein_normalized: 'Wasserstein / std',
  jensen_shannon: 'Jensen–Shannon',
};

function DriftReport({ drift }: { drift: any }) {
  const report = drift.report;
  if (!report) return <p className="muted">The latest drift check said nothing ({drift.reason ?? 'skipped'}).</p>;
  const features = report.features as any[];
  const drifted = features.filter((f) => f.drifted);
  const share = report.rules?.datasetDriftShare;
  const tests = [...new Set(features.map((f) => f.test as string))];
  const statistical = features.filter((f) => f.thresholdRule === 'p_value_below');
  const distances = features.filter((f) => f.thresholdRule === 'score_at_least');
  return (
    <>
      <p className={`verdict ${drift.drift ? 'bad' : 'good'}`} data-testid="drift-verdict">
        <b>{drift.drift ? 'Dataset drift' : 'No dataset drift'}</b>: {drifted.length} of {report.featureCount ?? features.length} features
        drifted ({fmt(100 * (report.driftedShare ?? 0), 3)} %); the dataset counts as drifted when at least {fmt(100 * (share ?? 0), 3)} %
        of its features drift.
        {drifted.length ? ` Drifted: ${drifted.map((f) => f.feature).join(', ')}.` : ''}
      </p>
      <p className="muted">
        v{drift.version}, checked {when(drift.createdAt)} on {fmt(report.window?.rows)} live rows ({when(report.window?.from)} –{' '}
        {when(report.window?.to)}) against {report.reference?.datasetName} v{report.reference?.datasetVersion}; tests:{' '}
        {tests.map((t) => TEST_NAMES[t] ?? t).join(', ')}.
      </p>
      <div className="grid">
        {statistical.length ? (
          <Chart
            label="drift p-values"
            spec={{
              title: { text: 'p-value per feature (log scale)', subtitle: `drift when p < ${statistical[0].threshold}` },
              width: 340,
              height: { step: 18 },
              layer: [
                {
                  data: {
                    values: statistical.map((f) => ({
                      feature: f.feature,
                      test: TEST_NAMES[f.test] ?? f.test,
                      p: Math.max(f.pValue ?? 1, 1e-300),
                      drifted: f.drifted ? 'drifted' : 'stable',
                    })),
                  },
                  mark: { type: 'point', filled: true, size: 90, tooltip: true },
                  encoding: {
                    y: { field: 'feature', type: 'nominal', title: null },
                    x: {
                      field: 'p',
                      type: 'quantitative',
                      scale: { type: 'log', domainMax: 1 },
                      title: 'p-value',
                      axis: { format: '.0e' },
                    },
                    shape: { field: 'test', type: 'nominal', title: 'test' },
                    color: {
                      field: 'drifted',
                      type: 'nominal',
                      scale: { domain: ['drifted', 'stable'], range: ['#d62828', '#2a9d8f'] },
                      title: null,
                    },
                  },
                },
                {
                  data: { values: [{ t: statistical[0].threshold }] },
                  mark: { type: 'rule', strokeDash: [4, 3] },
                  encoding: { x: { field: 't', type: 'quantitative' } },
                },
              ],
            }}
          />
        ) : null}
        {[...new Set(distances.map((f) => f.test as string))].map((test) => {
          const rows = distances.filter((f) => f.test === test);
          return (
            <Chart
              key={test}
              label={`drift ${test}`}
              spec={{
                title: { text: `${TEST_NAMES[test] ?? test} distance`, subtitle: `drift when ≥ ${rows[0].threshold}` },
                width: 340,
                height: { step: 18 },
                layer: [
                  {
                    data: { values: rows.map((f) => ({ feature: f.feature, score: f.score, drifted: f.drifted ? 'drifted' : 'stable' })) },
                    mark: { type: 'bar', tooltip: true },
                    encoding: {
                      y: { field: 'feature', type: 'nominal', title: null },
                      x: { field: 'score', type: 'quantitative', title: 'distance' },
                      color: {
                        field: 'drifted',
                        type: 'nominal',
                        scale: { domain: ['drifted', 'stable'], range: ['#d62828', '#2a9d8f'] },
                        title: null,
                      },
                    },
                  },
                  {
                    data: { values: [{ t: rows[0].threshold }] },
                    mark: { type: 'rule', strokeDash: [4, 3] },
                    encoding: { x: { field: 't', type: 'quantitative' } },
                  },
                ],
              }}
            />
          );
        })}
      </div>
      <table>
        <thead>
          <tr>
            <th>Feature</th>
            <th>Test</th>
            <th>Statistic</th>
            <th>p-value</th>
            <th>Threshold</th>
            <th>PSI</th>
            <th>Verdict</th>
          </tr>
        </thead>
        <tbody>
          {features.map((f) => (
            <tr key={f.feature} className={f.drifted ? 'drifted' : ''}>
              <td>{f.feature}</td>
              <td>{TEST_NAMES[f.test] ?? f.test}</td>
              <td>
                {fmt(f.score)}
                {f.dof !== undefined ? <span className="muted"> (dof {f.dof})</span> : null}
              </td>
              <td>{fmt(f.pValue)}</td>
              <td>
                {f.thresholdRule === 'p_value_below' ? 'p <' : '≥'} {fmt(f.threshold)}
              </td>
              <td>
                {fmt(f.psi)} {f.psiLevel && f.psiLevel !== 'none' ? <span className="muted">({f.psiLevel})</span> : null}
              </td>
              <td>{f.drifted ? <b className="error-text">drifted</b> : 'stable'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <h3>Reference vs. live distribution</h3>
      <div className="grid">
        {Object.entries((report.histograms ?? {}) as Record<string, any>).map(([feature, h]) => (
          <Chart
            key={feature}
            label={`histogram ${feature}`}
            spec={{
              title: feature,
              width: 260,
              height: 130,
              data: {
                values:
                  h.kind === 'numeric'
                    ? histogramRows(h.edges, { reference: h.reference, live: h.current })
                    : (['reference', 'live'] as const).flatMap((series) => {
                        const counts = (series === 'reference' ? h.reference : h.current) as number[];
                        const total = counts.reduce((a, b) => a + b, 0) || 1;
                        return (h.categories as string[]).map((c, i) => ({ bin: c, order: i, series, share: counts[i]! / total }));
                      }),
              },
              mark: { type: 'bar', tooltip: true },
              encoding: {
                x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labelAngle: -45, labelOverlap: true } },
                xOffset: { field: 'series' },
                y: { field: 'share', type: 'quantitative', axis: { format: '%' }, title: 'share' },
                color: {
                  field: 'series',
                  type: 'nominal',
                  title: null,
                  scale: { domain: ['reference', 'live'], range: ['#8d99ae', '#e76f51'] },
                },
              },
            }}
          />
        ))}
      </div>
    </>
  );
}
