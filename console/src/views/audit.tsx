import { useState } from 'react';
import { enc, get } from '../api';
import { ErrorBox, fmt, Json, Loading, Section, useLoad, when } from '../ui';

export function AuditView() {
  return (
    <>
      <Verify />
      <Predictions />
      <Events />
    </>
  );
}

function Verify() {
  const [result, setResult] = useState<any>(null);
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <Section
      title="Verify the audit log"
      actions={
        <button
          disabled={busy}
          onClick={() => {
            setBusy(true);
            setError(null);
            // without ?chain= the server verifies every chain and reports each
            get('/api/audit/verify')
              .then((all: any) => setResult(Object.values(all.chains)), setError)
              .finally(() => setBusy(false));
          }}
        >
          {busy ? 'Verifying…' : 'Verify hash chains'}
        </button>
      }
    >
      <ErrorBox error={error} />
      {result ? (
        <>
          <p className={`verdict ${result.every((r: any) => r.ok) ? 'good' : 'bad'}`} data-testid="verify-result">
            {result.every((r: any) => r.ok)
              ? `The audit log verifies: ${result.map((r: any) => `${r.chain} chain, ${fmt(r.checked)} records`).join('; ')}`
              : `The audit log does NOT verify: ${result
                  .filter((r: any) => !r.ok)
                  .map((r: any) => `${r.chain} chain broken at seq ${r.firstBroken?.seq} (${r.firstBroken?.reason})`)
                  .join('; ')}`}
          </p>
          <Json value={result} />
        </>
      ) : (
        <p className="muted">Recomputes every hash of the prediction and event chains and checks them against the stored checkpoints.</p>
      )}
    </Section>
  );
}

function Predictions() {
  const [model, setModel] = useState('');
  const [cursor, setCursor] = useState<string | null>(null);
  const { data, error } = useLoad(
    () => get(`/api/audit/predictions?limit=25${model ? `&model=${enc(model)}` : ''}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
    [model, cursor],
  );
  const [open, setOpen] = useState<any>(null);
  return (
    <Section
      title="Predictions"
      actions={
        <input
          aria-label="model filter"
          placeholder="model"
          value={model}
          onChange={(e) => {
            setCursor(null);
            setModel(e.target.value.trim());
          }}
        />
      }
    >
      <ErrorBox error={error} />
      {!data ? <Loading what="predictions" /> : null}
      {data ? (
        <>
          <table>
            <thead>
              <tr>
                <th>Served</th>
                <th>Model</th>
                <th>Version</th>
                <th>Kind</th>
                <th>Status</th>
                <th>Records</th>
                <th>Request</th>
              </tr>
            </thead>
            <tbody>
              {(data.items as any[]).map((p, i) => (
                <tr key={p.requestId ?? i} onClick={() => setOpen(p)} className="clickable">
                  <td>{when(p.servedAt)}</td>
                  <td>{p.model}</td>
                  <td>{p.version ?? p.modelVersion}</td>
                  <td>{p.kind}</td>
                  <td>{p.status ?? p.statusCode}</td>
                  <td>{fmt(Array.isArray(p.inputs) ? p.inputs.length : p.recordCount)}</td>
                  <td className="mono">{String(p.requestId ?? '').slice(0, 18)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.nextCursor ? <button onClick={() => setCursor(data.nextCursor)}>Older</button> : null}
          {open ? <Json value={open} /> : null}
        </>
      ) : null}
    </Section>
  );
}

function Events() {
  const [cursor, setCursor] = useState<string | null>(null);
  const { data, error } = useLoad(() => get(`/api/audit/events?limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`), [cursor]);
  const [open, setOpen] = useState<any>(null);
  return (
    <Section title="Events (who changed what)">
      <ErrorBox error={error} />
      {!data ? <Loading what="events" /> : null}
      {data ? (
        <>
          <table>
            <thead>
              <tr>
                <th>When</th>
                <th>Action</th>
                <th>Actor key</th>
                <th>Target</th>
              </tr>
            </thead>
            <tbody>
              {(data.items as any[]).map((e, i) => (
                <tr key={e.id ?? i} onClick={() => setOpen(e)} className="clickable">
                  <td>{when(e.at ?? e.loggedAt)}</td>
                  <td>{e.action}</td>
                  <td className="mono">{e.actorKeyId ?? '–'}</td>
                  <td className="mono">{JSON.stringify(e.target ?? null).slice(0, 60)}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {data.nextCursor ? <button onClick={() => setCursor(data.nextCursor)}>Older</button> : null}
          {open ? <Json value={open} /> : null}
        </>
      ) : null}
    </Section>
  );
}
