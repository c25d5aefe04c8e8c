import { useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import { ApiError, can, enc, get, put, request } from '../api';
import { Chart } from '../charts';
import { ErrorBox, fmt, Json, link, Loading, Section, Status, useLoad, when, type ViewProps } from '../ui';

export function ModelsView({ session, route }: ViewProps) {
  if (route[0]) return <ModelDetail session={session} name={route[0]} />;
  return <ModelList />;
}

function ModelList() {
  const { data, error } = useLoad(() => get<any[]>('/api/models'), []);
  return (
    <Section title="Models">
      <ErrorBox error={error} />
      {!data && !error ? <Loading what="models" /> : null}
      {data && data.length === 0 ? <p className="muted">No models yet: train one from a dataset version.</p> : null}
      {data && data.length > 0 ? (
        <table>
          <thead>
            <tr>
              <th>Model</th>
              <th>Latest version</th>
              <th>Aliases</th>
              <th>Updated</th>
            </tr>
          </thead>
          <tbody>
            {data.map((m) => (
              <tr key={m.id}>
                <td>
                  <a href={link('models', m.name)}>{m.name}</a>
                </td>
                <td>{m.latestVersion ? `v${m.latestVersion}` : '–'}</td>
                <td>
                  {Object.entries(m.aliases as Record<string, number>)
                    .map(([a, v]) => `${a} → v${v}`)
                    .join(', ') || '–'}
                </td>
                <td>{when(m.updatedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      ) : null}
    </Section>
  );
}

/** The metrics a version is judged by: the test split when there is one, else whatever is flat. */
function headlineMetrics(v: any): Record<string, number> {
  const m = v.metrics ?? {};
  const source = m.test && typeof m.test === 'object' ? m.test : m;
  return Object.fromEntries(Object.entries(source).filter(([, x]) => typeof x === 'number')) as Record<string, number>;
}

function ModelDetail({ session, name }: { session: ViewProps['session']; name: string }) {
  const model = useLoad(() => get(`/api/models/${enc(name)}`), [name]);
  const versions = useLoad(() => get<any[]>(`/api/models/${enc(name)}/versions`), [name]);
  const [actionError, setActionError] = useState<Error | null>(null);
  const [compare, setCompare] = useState<number[]>([]);
  const writer = can.write(session.role);
  const reloadAll = () => {
    model.reload();
    versions.reload();
  };
  const list = versions.data ? [...versions.data].sort((a, b) => b.version - a.version) : [];
  const metricNames = [...new Set(list.flatMap((v) => Object.keys(headlineMetrics(v))))];
  const promote = (version: number) => {
    setActionError(null);
    put(`/api/models/${enc(name)}/aliases/production`, { version }).then(reloadAll, setActionError);
  };
  return (
    <>
      <p className="crumbs">
        <a href="#/models">Models</a> / {name}
      </p>
      <ErrorBox error={model.error ?? versions.error ?? actionError} />
      <Section title={`${name}: versions`}>
        {!versions.data ? <Loading what="versions" /> : null}
        <table>
          <thead>
            <tr>
              <th>Compare</th>
              <th>Version</th>
              <th>Status</th>
              <th>Task</th>
              <th>Aliases</th>
              {metricNames.map((m) => (
                <th key={m}>test {m}</th>
              ))}
              <th>Created</th>
              {writer ? <th /> : null}
            </tr>
          </thead>
          <tbody>
            {list.map((v) => {
              const metrics = headlineMetrics(v);
              const isProd = (v.aliases as string[]).includes('production');
              return (
                <tr key={v.id} data-version={v.version}>
                  <td>
                    <input
                      type="checkbox"
                      aria-label={`compare v${v.version}`}
                      checked={compare.includes(v.version)}
                      onChange={(e) =>
                        setCompare((c) =>
                          e.target.checked ? [...c.filter((x) => x !== v.version), v.version].slice(-2) : c.filter((x) => x !== v.version),
                        )
                      }
                    />
                  </td>
                  <td>v{v.version}</td>
                  <td>
                    <Status status={v.status} />
                  </td>
                  <td>{v.task}</td>
                  <td>
                    {(v.aliases as string[]).map((a) => (
                      <span key={a} className="tag">
                        {a}
                      </span>
                    ))}
                  </td>
                  {metricNames.map((m) => (
                    <td key={m}>{fmt(metrics[m])}</td>
                  ))}
                  <td>{when(v.createdAt)}</td>
                  {writer ? (
                    <td>
                      {!isProd && v.status !== 'archived' ? (
                        <button onClick={() => promote(v.version)} data-action="promote">
                          Promote to production
                        </button>
                      ) : null}
                    </td>
                  ) : null}
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      {compare.length === 2 ? (
        <Compare a={list.find((v) => v.version === Math.min(...compare))} b={list.find((v) => v.version === Math.max(...compare))} />
      ) : (
        <p className="muted">Tick two versions to compare them.</p>
      )}
      {model.data ? <Aliases session={session} name={name} aliases={model.data.aliases} onChange={reloadAll} /> : null}
      <Deployment session={session} name={name} versions={list.map((v) => v.version)} />
    </>
  );
}

function flatten(value: unknown, prefix = ''): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return { [prefix]: value };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) Object.assign(out, flatten(v, prefix ? `${prefix}.${k}` : k));
  return out;
}

function Compare({ a, b }: { a: any; b: any }) {
  if (!a || !b) return null;
  const ma = flatten(a.metrics ?? {});
  const mb = flatten(b.metrics ?? {});
  const la = flatten({ hyperparameters: a.lineage?.hyperparameters, features: a.lineage?.features, dataset: a.lineage?.datasetVersionId });
  const lb = flatten({ hyperparameters: b.lineage?.hyperparameters, features: b.lineage?.features, dataset: b.lineage?.datasetVersionId });
  const metricKeys = [...new Set([...Object.keys(ma), ...Object.keys(mb)])].filter((k) => typeof (ma[k] ?? mb[k]) === 'number');
  const lineageKeys = [...new Set([...Object.keys(la), ...Object.keys(lb)])].filter((k) => JSON.stringify(la[k]) !== JSON.stringify(lb[k]));
  const testKeys = metricKeys.filter((k) => k.startsWith('test.'));
  const spec: TopLevelSpec = {
    title: 'Test metrics',
    width: 360,
    height: { step: 12 },
    data: {
      values: testKeys.flatMap((k) => [
        { metric: k.slice(5), version: `v${a.version}`, value: ma[k] },
        { metric: k.slice(5), version: `v${b.version}`, value: mb[k] },
      ]),
    },
    mark: { type: 'bar', tooltip: true },
    encoding: {
      y: { field: 'metric', type: 'nominal', title: null },
      yOffset: { field: 'version' },
      x: { field: 'value', type: 'quantitative' },
      color: { field: 'version', type: 'nominal' },
    },
  };
  return (
    <Section title={`Compare v${a.version} and v${b.version}`}>
      <div className="grid">
        <table>
          <thead>
            <tr>
              <th>Metric</th>
              <th>v{a.version}</th>
              <th>v{b.version}</th>
              <th>Δ</th>
            </tr>
          </thead>
          <tbody>
            {metricKeys.map((k) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{fmt(ma[k])}</td>
                <td>{fmt(mb[k])}</td>
                <td>{typeof ma[k] === 'number' && typeof mb[k] === 'number' ? fmt((mb[k] as number) - (ma[k] as number)) : '–'}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {testKeys.length ? <Chart spec={spec} label="compare versions" /> : null}
      </div>
      <h3>What differs in how they were trained</h3>
      {lineageKeys.length === 0 ? (
        <p className="muted">Same hyperparameters, features and dataset version.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Setting</th>
              <th>v{a.version}</th>
              <th>v{b.version}</th>
            </tr>
          </thead>
          <tbody>
            {lineageKeys.map((k) => (
              <tr key={k}>
                <td>{k}</td>
                <td>{fmt(la[k])}</td>
                <td>{fmt(lb[k])}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </Section>
  );
}

function Aliases({
  session,
  name,
  aliases,
  onChange,
}: {
  session: ViewProps['session'];
  name: string;
  aliases: Record<string, number>;
  onChange: () => void;
}) {
  const names = Object.keys(aliases).length ? Object.keys(aliases) : ['production'];
  const history = useLoad(
    () =>
      Promise.all(
        names.map(async (a) => [a, await get<any[]>(`/api/models/${enc(name)}/aliases/${enc(a)}/history`).catch(() => [])] as const),
      ),
    [name, JSON.stringify(aliases)],
  );
  const [error, setError] = useState<Error | null>(null);
  return (
    <Section title="Aliases">
      <ErrorBox error={error ?? history.error} />
      {names.map((alias) => {
        const h = [...(history.data?.find(([a]) => a === alias)?.[1] ?? [])].sort(
          (x, y) => Date.parse(y.changedAt) - Date.parse(x.changedAt),
        );
        const last = h[0];
        const canRollBack = can.write(session.role) && last && last.from !== null && last.from !== undefined;
        return (
          <div key={alias} className="alias">
            <h3>
              {alias} → {aliases[alias] !== undefined ? `v${aliases[alias]}` : 'none'}{' '}
              {canRollBack ? (
                <button
                  data-action="rollback"
                  onClick={() => {
                    setError(null);
                    put(`/api/models/${enc(name)}/aliases/${enc(alias)}`, { version: last.from }).then(onChange, setError);
                  }}
                >
                  Roll back to v{last.from}
                </button>
              ) : null}
            </h3>
            {h.length ? (
              <table>
                <thead>
                  <tr>
                    <th>When</th>
                    <th>From</th>
                    <th>To</th>
                    <th>By</th>
                    <th>Reason</th>
                  </tr>
                </thead>
                <tbody>
                  {h.map((e, i) => (
                    <tr key={i}>
                      <td>{when(e.changedAt)}</td>
                      <td>{e.from === null ? '–' : `v${e.from}`}</td>
                      <td>{e.to === null ? '(deleted)' : `v${e.to}`}</td>
                      <td>{e.changedBy ?? '–'}</td>
                      <td className="muted">{e.reason ?? ''}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            ) : (
              <p className="muted">No history.</p>
            )}
          </div>
        );
      })}
    </Section>
  );
}

function Deployment({ session, name, versions }: { session: ViewProps['session']; name: string; versions: number[] }) {
  const { data, error, reload } = useLoad(
    () =>
      get(`/api/models/${enc(name)}/deployment`).catch((e: Error) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [name],
  );
  const [draft, setDraft] = useState<string | null>(null);
  const [saveError, setSaveError] = useState<Error | null>(null);
  const writer = can.write(session.role);
  const example = JSON.stringify(
    {
      routes: [
        { alias: 'production', weight: 90 },
        { version: versions[0] ?? 1, weight: 10 },
      ],
      shadow: null,
    },
    null,
    2,
  );
  return (
    <Section title="Deployment (traffic split and shadow)">
      <ErrorBox error={error ?? saveError} />
      {data === null ? <p className="muted">No deployment: all traffic goes to the production alias.</p> : null}
      {data ? (
        <table>
          <thead>
            <tr>
              <th>Route</th>
              <th>Serves</th>
              <th>Weight</th>
              <th>Share</th>
            </tr>
          </thead>
          <tbody>
            {(data.routes as any[]).map((r, i) => {
              const total = (data.routes as any[]).reduce((s, x) => s + x.weight, 0);
              return (
                <tr key={i}>
                  <td>{i === 0 ? 'primary' : 'canary'}</td>
                  <td>{r.alias ? `${r.alias} (v${r.version ?? '?'})` : `v${r.version}`}</td>
                  <td>{fmt(r.weight)}</td>
                  <td>{fmt((100 * r.weight) / total, 3)} %</td>
                </tr>
              );
            })}
            <tr>
              <td>shadow</td>
              <td colSpan={3}>{data.shadow ? `v${data.shadow.version} (gets a copy of every request; answers only recorded)` : 'none'}</td>
            </tr>
          </tbody>
        </table>
      ) : null}
      {writer ? (
        <details>
          <summary>Edit deployment</summary>
          <textarea
            rows={8}
            value={
              draft ??
              (data
                ? JSON.stringify(
                    {
                      routes: data.routes.map(({ alias, version, weight }: any) => (alias ? { alias, weight } : { version, weight })),
                      shadow: data.shadow?.version ?? null,
                    },
                    null,
                    2,
                  )
                : example)
            }
            onChange={(e) => setDraft(e.target.value)}
          />
          <div className="row">
            <button
              onClick={() => {
                setSaveError(null);
                let body: unknown;
                try {
                  body = JSON.parse(draft ?? example);
                } catch (e) {
                  setSaveError(new Error(`not JSON: ${(e as Error).message}`));
                  return;
                }
                put(`/api/models/${enc(name)}/deployment`, body).then(() => {
                  setDraft(null);
                  reload();
                }, setSaveError);
              }}
            >
              Save deployment
            </button>
            {data ? (
              <button
                className="danger"
                onClick={() => void request('DELETE', `/api/models/${enc(name)}/deployment`).then(reload, setSaveError)}
              >
                Remove deployment
              </button>
            ) : null}
          </div>
        </details>
      ) : null}
      {data ? <Json value={{ updatedBy: data.updatedBy, updatedAt: data.updatedAt }} /> : null}
    </Section>
  );
}
