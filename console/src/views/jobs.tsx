import { useEffect, useMemo, useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import { can, enc, get, openStream, post } from '../api';
import { Chart } from '../charts';
import { ErrorBox, fmt, Json, link, Loading, Section, Status, useLoad, when, type ViewProps } from '../ui';

const FINAL = ['succeeded', 'failed', 'cancelled'];

export function JobsView({ session, route }: ViewProps) {
  if (route[0]) return <JobDetail session={session} id={route[0]} />;
  return <JobList />;
}

function JobList() {
  const [status, setStatus] = useState('');
  const { data, error, reload } = useLoad(
    () => get<any[]>(`/api/training-jobs?limit=50${status ? `&status=${enc(status)}` : ''}`),
    [status],
  );
  useEffect(() => {
    const t = setInterval(reload, 3000);
    return () => clearInterval(t);
  }, [reload]);
  return (
    <Section
      title="Training jobs"
      actions={
        <select aria-label="status filter" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any status</option>
          {['queued', 'running', ...FINAL].map((s) => (
            <option key={s}>{s}</option>
          ))}
        </select>
      }
    >
      <ErrorBox error={error} />
      {!data ? <Loading what="jobs" /> : null}
      {data && data.length === 0 ? <p className="muted">No training jobs. Start one from a dataset version.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Job</th>
              <th>Model</th>
              <th>Status</th>
              <th>Epoch</th>
              <th>Version</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {data.map((j) => (
              <tr key={j.id}>
                <td>
                  <a href={link('jobs', j.id)}>{j.id.slice(0, 8)}</a>
                </td>
                <td>{j.modelName}</td>
                <td>
                  <Status status={j.status} />
                </td>
                <td>{j.progress ? `${j.progress.epoch} / ${j.progress.epochs}` : '–'}</td>
                <td>{j.modelVersion ? <a href={link('models', j.modelName)}>v{j.modelVersion.version}</a> : '–'}</td>
                <td>{when(j.createdAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

interface Epoch {
  epoch: number;
  epochs: number;
  loss: number;
  valLoss: number;
  valMetric: number;
  valMetricName: string;
}

function JobDetail({ session, id }: { session: ViewProps['session']; id: string }) {
  const { data: job, error, reload } = useLoad(() => get(`/api/training-jobs/${enc(id)}`), [id]);
  const [epochs, setEpochs] = useState<Map<number, Epoch>>(new Map());
  const [queued, setQueued] = useState<{ position: number; running: number } | null>(null);
  const [streamError, setStreamError] = useState<Error | null>(null);
  const [live, setLive] = useState(false);
  const [actionError, setActionError] = useState<Error | null>(null);

  // Live progress: the job's event stream (opened with a stream token), until its final event.
  useEffect(() => {
    setEpochs(new Map());
    setLive(true);
    const add = (p: Epoch) => setEpochs((m) => new Map(m).set(p.epoch, p));
    const close = openStream(
      `/api/training-jobs/${enc(id)}/events`,
      {
        queued: (q) => setQueued(q),
        progress: (p) => {
          setQueued(null);
          add(p);
        },
        succeeded: () => {
          setLive(false);
          reload();
        },
        failed: () => {
          setLive(false);
          reload();
        },
        cancelled: () => {
          setLive(false);
          reload();
        },
      },
      FINAL,
      setStreamError,
    );
    return close;
  }, [id, reload]);

  const history = useMemo(() => {
    const all = new Map<number, Epoch>();
    for (const h of (job?.history ?? []) as Epoch[]) all.set(h.epoch, h);
    for (const [k, v] of epochs) all.set(k, v);
    return [...all.values()].sort((a, b) => a.epoch - b.epoch);
  }, [job, epochs]);

  if (error) return <ErrorBox error={error} />;
  if (!job) return <Loading what="job" />;
  const last = history[history.length - 1];
  const status = live && history.length > 0 && !FINAL.includes(job.status) ? 'running' : job.status;
  const total = last?.epochs ?? job.resolved?.hyperparameters?.epochs;
  return (
    <>
      <p className="crumbs">
        <a href="#/jobs">Training</a> / {job.modelName} · {id.slice(0, 8)}
      </p>
      <Section
        title={`Job ${id.slice(0, 8)} → ${job.modelName}`}
        actions={
          can.write(session.role) && !FINAL.includes(job.status) ? (
            <button
              className="danger"
              onClick={() => {
                setActionError(null);
                post(`/api/training-jobs/${enc(id)}/cancel`).then(reload, setActionError);
              }}
            >
              Cancel job
            </button>
          ) : null
        }
      >
        <ErrorBox error={actionError ?? streamError} />
        <dl className="facts">
          <dt>Status</dt>
          <dd>
            <Status status={status} /> {live && !FINAL.includes(job.status) ? <span className="live">● live</span> : null}
            {queued ? (
              <span className="muted">
                {' '}
                position {queued.position} in the queue, {queued.running} running
              </span>
            ) : null}
          </dd>
          <dt>Epoch</dt>
          <dd data-testid="epoch">
            {last ? `${last.epoch} / ${total ?? '?'}` : '–'}
            {last && total ? <progress max={total} value={last.epoch} /> : null}
          </dd>
          <dt>Model version</dt>
          <dd>{job.modelVersion ? <a href={link('models', job.modelName)}>v{job.modelVersion.version}</a> : '–'}</dd>
          <dt>Early stopping</dt>
          <dd>
            patience {fmt(job.earlyStopping?.patience)}, best epoch {fmt(job.earlyStopping?.bestEpoch)}
            {job.earlyStopping?.stoppedEarly ? ' (stopped early)' : ''}
          </dd>
          <dt>Started / finished</dt>
          <dd>
            {when(job.startedAt)} / {when(job.finishedAt)}
          </dd>
          {job.error ? (
            <>
              <dt>Error</dt>
              <dd className="error-text">
                {job.error.code}: {job.error.message}
              </dd>
            </>
          ) : null}
        </dl>
      </Section>
      <Section title="Curves per epoch">
        {history.length === 0 ? (
          <p className="muted">No epoch finished yet.</p>
        ) : (
          <Curves history={history} total={total ?? history.length} />
        )}
      </Section>
      {job.metrics ? (
        <Section title="Metrics">
          <MetricsTable metrics={job.metrics} />
        </Section>
      ) : null}
      <Section title="Resolved configuration">
        <Json value={job.resolved} />
      </Section>
    </>
  );
}

export function MetricsTable({ metrics }: { metrics: Record<string, any> }) {
  const splits = Object.entries(metrics).filter(([, v]) => v && typeof v === 'object' && !Array.isArray(v));
  const names = [...new Set(splits.flatMap(([, v]) => Object.keys(v).filter((k) => typeof v[k] === 'number')))];
  if (splits.length === 0) return <Json value={metrics} />;
  return (
    <table>
      <thead>
        <tr>
          <th>Metric</th>
          {splits.map(([s]) => (
            <th key={s}>{s}</th>
          ))}
        </tr>
      </thead>
      <tbody>
        {names.map((n) => (
          <tr key={n}>
            <td>{n}</td>
            {splits.map(([s, v]) => (
              <td key={s}>{fmt(v[n])}</td>
            ))}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Curves({ history, total }: { history: Epoch[]; total: number }) {
  const metricName = history[0]!.valMetricName;
  const loss: TopLevelSpec = {
    title: 'Loss',
    width: 420,
    height: 220,
    data: {
      values: history.flatMap((h) => [
        { epoch: h.epoch, series: 'training loss', value: h.loss },
        { epoch: h.epoch, series: 'validation loss', value: h.valLoss },
      ]),
    },
    mark: { type: 'line', point: true, tooltip: true },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' }, scale: { domain: [1, Math.max(total, 2)] } },
      y: { field: 'value', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'series', type: 'nominal', title: null },
    },
  };
  const metric: TopLevelSpec = {
    title: `Validation ${metricName}`,
    width: 420,
    height: 220,
    data: { values: history.map((h) => ({ epoch: h.epoch, value: h.valMetric })) },
    mark: { type: 'line', point: { color: '#2a9d8f' }, tooltip: true, color: '#2a9d8f' },
    encoding: {
      x: { field: 'epoch', type: 'quantitative', axis: { tickMinStep: 1, format: 'd' }, scale: { domain: [1, Math.max(total, 2)] } },
      y: { field: 'value', type: 'quantitative', title: metricName, scale: { zero: false } },
    },
  };
  return (
    <div className="grid" data-epochs={history.length}>
      <Chart spec={loss} label="loss curve" />
      <Chart spec={metric} label="metric curve" />
    </div>
  );
}
