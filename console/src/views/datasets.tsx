import { useEffect, useState } from 'react';
import type { TopLevelSpec } from 'vega-lite';
import { can, enc, get, post, request } from '../api';
import { Chart, histogramRows } from '../charts';
import { ErrorBox, fmt, link, Loading, Section, Status, useLoad, when, type ViewProps } from '../ui';

export function DatasetsView({ session, route }: ViewProps) {
  const [datasetId, versionId] = route;
  if (datasetId) return <DatasetDetail session={session} datasetId={datasetId} versionId={versionId} />;
  return <DatasetList session={session} />;
}

function DatasetList({ session }: { session: ViewProps['session'] }) {
  const { data, error, reload } = useLoad(() => get<any[]>('/api/datasets'), []);
  const [name, setName] = useState('');
  const [createError, setCreateError] = useState<Error | null>(null);
  return (
    <>
      <Section title="Datasets">
        <ErrorBox error={error} />
        {!data && !error ? <Loading what="datasets" /> : null}
        {data && data.length === 0 ? <p className="muted">No datasets yet.</p> : null}
        {data && data.length > 0 ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Versions</th>
                <th>Latest</th>
                <th>Rows</th>
                <th>Updated</th>
              </tr>
            </thead>
            <tbody>
              {data.map((d) => (
                <tr key={d.id}>
                  <td>
                    <a href={link('datasets', d.id)}>{d.name}</a>
                  </td>
                  <td>{d.versionCount}</td>
                  <td>{d.latestVersion ? <Status status={d.latestVersion.status} /> : '–'}</td>
                  <td>{fmt(d.latestReadyVersion?.rowCount)}</td>
                  <td>{when(d.updatedAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
      {can.write(session.role) ? (
        <Section title="New dataset">
          <form
            className="row"
            onSubmit={(e) => {
              e.preventDefault();
              setCreateError(null);
              post('/api/datasets', { name: name.trim() }).then((d: any) => {
                setName('');
                reload();
                window.location.hash = link('datasets', d.id);
              }, setCreateError);
            }}
          >
            <input name="datasetName" placeholder="name, e.g. penguins" value={name} onChange={(e) => setName(e.target.value)} required />
            <button type="submit">Create</button>
          </form>
          <ErrorBox error={createError} />
        </Section>
      ) : null}
    </>
  );
}

function DatasetDetail({ session, datasetId, versionId }: { session: ViewProps['session']; datasetId: string; versionId?: string }) {
  const dataset = useLoad(() => get(`/api/datasets/${enc(datasetId)}`), [datasetId]);
  const versions = useLoad(() => get<any[]>(`/api/datasets/${enc(datasetId)}/versions`), [datasetId]);
  const [uploadError, setUploadError] = useState<Error | null>(null);
  const [uploading, setUploading] = useState(false);
  const pending = versions.data?.some((v) => v.status === 'pending' || v.status === 'running' || v.status === 'processing');
  useEffect(() => {
    if (!pending) return;
    const t = setInterval(versions.reload, 1000);
    return () => clearInterval(t);
  }, [pending, versions.reload]);
  const selected = versionId ?? versions.data?.find((v) => v.status === 'ready')?.id;
  return (
    <>
      <p className="crumbs">
        <a href="#/datasets">Datasets</a> / {dataset.data?.name ?? datasetId}
      </p>
      <ErrorBox error={dataset.error ?? versions.error} />
      <Section
        title={`Versions of ${dataset.data?.name ?? '…'}`}
        actions={
          can.write(session.role) ? (
            <form
              className="row"
              onSubmit={(e) => {
                e.preventDefault();
                const form = new FormData(e.currentTarget);
                setUploading(true);
                setUploadError(null);
                request('POST', `/api/datasets/${enc(datasetId)}/versions`, form).then(
                  () => {
                    setUploading(false);
                    (e.target as HTMLFormElement).reset();
                    versions.reload();
                  },
                  (err: Error) => {
                    setUploading(false);
                    setUploadError(err);
                  },
                );
              }}
            >
              <input type="file" name="file" accept=".csv,.json,.jsonl,.ndjson,.parquet,.arrow,.tsv" required />
              <button type="submit" disabled={uploading}>
                {uploading ? 'Uploading…' : 'Upload version'}
              </button>
            </form>
          ) : null
        }
      >
        <ErrorBox error={uploadError} />
        {versions.data ? (
          <table>
            <thead>
              <tr>
                <th>Version</th>
                <th>Status</th>
                <th>Rows</th>
                <th>Dropped</th>
                <th>File</th>
                <th>Created</th>
              </tr>
            </thead>
            <tbody>
              {versions.data.map((v) => (
                <tr key={v.id} className={v.id === selected ? 'selected' : ''}>
                  <td>
                    <a href={link('datasets', datasetId, v.id)}>v{v.version}</a>
                  </td>
                  <td>
                    <Status status={v.status} />
                    {v.failureReason ? <span className="muted"> {v.failureReason}</span> : null}
                  </td>
                  <td>{fmt(v.rowCount ?? v.progress?.rowsProcessed)}</td>
                  <td>{fmt(v.droppedRows)}</td>
                  <td>{v.source?.fileName ?? v.source?.kind}</td>
                  <td>{when(v.createdAt)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : (
          <Loading what="versions" />
        )}
      </Section>
      {selected ? <VersionDetail session={session} datasetId={datasetId} versionId={selected} /> : null}
    </>
  );
}

function VersionDetail({ session, datasetId, versionId }: { session: ViewProps['session']; datasetId: string; versionId: string }) {
  const { data: v, error } = useLoad(() => get(`/api/datasets/${enc(datasetId)}/versions/${enc(versionId)}`), [datasetId, versionId]);
  if (error) return <ErrorBox error={error} />;
  if (!v) return <Loading what="version" />;
  const profile = v.profile as { rowCount: number; columns: Record<string, any> } | null;
  return (
    <>
      <Section title={`v${v.version}: schema and profile`}>
        <table>
          <thead>
            <tr>
              <th>Column</th>
              <th>Type</th>
              <th>Missing</th>
              <th>Distinct</th>
              <th>Min</th>
              <th>Mean</th>
              <th>Max</th>
              <th>Top values</th>
            </tr>
          </thead>
          <tbody>
            {(v.columns as any[]).map((c) => {
              const p = profile?.columns[c.name];
              return (
                <tr key={c.name}>
                  <td>{c.name}</td>
                  <td>{c.type}</td>
                  <td>{fmt(p?.missing)}</td>
                  <td>{fmt(p?.distinct)}</td>
                  <td>{fmt(p?.min)}</td>
                  <td>{fmt(p?.mean)}</td>
                  <td>{fmt(p?.max)}</td>
                  <td className="muted">
                    {p?.kind === 'categorical'
                      ? (p.top as any[])
                          .slice(0, 4)
                          .map((t) => `${t.value} (${t.count})`)
                          .join(', ')
                      : ''}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </Section>
      {profile ? (
        <Section title="Profile">
          <div className="grid">
            {Object.entries(profile.columns).map(([name, p]) => (
              <ColumnChart key={name} name={name} profile={p} />
            ))}
          </div>
        </Section>
      ) : null}
      {v.status === 'ready' && can.write(session.role) ? <TrainForm version={v} /> : null}
    </>
  );
}

function ColumnChart({ name, profile }: { name: string; profile: any }) {
  let spec: TopLevelSpec | null = null;
  if (profile.kind === 'numeric' && profile.histogram?.counts?.length) {
    spec = {
      title: name,
      width: 260,
      height: 140,
      data: { values: histogramRows(profile.histogram.edges, { rows: profile.histogram.counts }) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        x: { field: 'bin', type: 'ordinal', sort: { field: 'order' }, title: null, axis: { labelAngle: -45, labelOverlap: true } },
        y: { field: 'count', type: 'quantitative', title: 'rows' },
      },
    };
  } else if (profile.kind === 'categorical' && profile.top?.length) {
    spec = {
      title: name,
      width: 260,
      height: { step: 14 },
      data: { values: (profile.top as any[]).slice(0, 12) },
      mark: { type: 'bar', tooltip: true },
      encoding: {
        y: { field: 'value', type: 'nominal', sort: '-x', title: null },
        x: { field: 'count', type: 'quantitative', title: 'rows' },
      },
    };
  }
  if (!spec) return null;
  return <Chart spec={spec} label={`profile ${name}`} />;
}

function TrainForm({ version }: { version: any }) {
  const columns = (version.columns as any[]).map((c) => c.name as string);
  const [target, setTarget] = useState(columns[0] ?? '');
  const [modelName, setModelName] = useState('');
  const [epochs, setEpochs] = useState(20);
  const [patience, setPatience] = useState('');
  const [error, setError] = useState<Error | null>(null);
  return (
    <Section title="Train a model on this version">
      <form
        className="row"
        onSubmit={(e) => {
          e.preventDefault();
          setError(null);
          post('/api/training-jobs', {
            datasetVersionId: version.id,
            target,
            modelName: modelName.trim(),
            hyperparameters: { epochs, ...(patience.trim() ? { earlyStoppingPatience: Number(patience) } : {}) },
          }).then((job: any) => {
            window.location.hash = link('jobs', job.id);
          }, setError);
        }}
      >
        <label>
          Target
          <select name="target" value={target} onChange={(e) => setTarget(e.target.value)}>
            {columns.map((c) => (
              <option key={c}>{c}</option>
            ))}
          </select>
        </label>
        <label>
          Model name
          <input
            name="modelName"
            value={modelName}
            onChange={(e) => setModelName(e.target.value)}
            placeholder="e.g. penguin-species"
            required
          />
        </label>
        <label>
          Epochs
          <input name="epochs" type="number" min={1} max={1000} value={epochs} onChange={(e) => setEpochs(Number(e.target.value))} />
        </label>
        <label>
          Early-stopping patience
          <input
            name="patience"
            type="number"
            min={0}
            placeholder="default (0 = off)"
            value={patience}
            onChange={(e) => setPatience(e.target.value)}
          />
        </label>
        <button type="submit">Start training</button>
      </form>
      <ErrorBox error={error} />
    </Section>
  );
}
