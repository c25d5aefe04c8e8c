import { useState, type ReactNode } from 'react';
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
  const load = useLoad(
    () => get(`/api/audit/predictions?limit=25${model ? `&model=${enc(model)}` : ''}${cursor ? `&cursor=${enc(cursor)}` : ''}`),
    [model, cursor],
  );
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
      <AuditPage
        what="predictions"
        data={load.data}
        error={load.error}
        onOlder={setCursor}
        columns={['Served', 'Model', 'Version', 'Kind', 'Status', 'Records', 'Request']}
        rowKey={(p) => p.requestId}
        cells={(p) => (
          <>
            <td>{when(p.servedAt)}</td>
            <td>{p.model}</td>
            <td>{p.version ?? p.modelVersion}</td>
            <td>{p.kind}</td>
            <td>{p.status ?? p.statusCode}</td>
            <td>{fmt(Array.isArray(p.inputs) ? p.inputs.length : p.recordCount)}</td>
            <td className="mono">{String(p.requestId ?? '').slice(0, 18)}</td>
          </>
        )}
      />
    </Section>
  );
}

function Events() {
  const [cursor, setCursor] = useState<string | null>(null);
  const load = useLoad(() => get(`/api/audit/events?limit=25${cursor ? `&cursor=${enc(cursor)}` : ''}`), [cursor]);
  return (
    <Section title="Events (who changed what)">
      <AuditPage
        what="events"
        data={load.data}
        error={load.error}
        onOlder={setCursor}
        columns={['When', 'Action', 'Actor key', 'Target']}
        rowKey={(e) => e.id}
        cells={(e) => (
          <>
            <td>{when(e.at ?? e.loggedAt)}</td>
            <td>{e.action}</td>
            <td className="mono">{e.actorKeyId ?? '–'}</td>
            <td className="mono">{JSON.stringify(e.target ?? null).slice(0, 60)}</td>
          </>
        )}
      />
    </Section>
  );
}

/** One page of an audit list: a row per item (a click shows the item as JSON), and "Older" while there are more. */
function AuditPage(props: {
  what: string;
  data: any;
  error: Error | null;
  onOlder: (cursor: string) => void;
  columns: string[];
  rowKey: (item: any) => string | undefined;
  cells: (item: any) => ReactNode;
}) {
  const { what, data, error, onOlder, columns, rowKey, cells } = props;
  const [open, setOpen] = useState<any>(null);
  return (
    <>
      <ErrorBox error={error} />
      {!data ? <Loading what={what} /> : null}
      {data ? (
        <>
          <table>
            <thead>
              <tr>
                {columns.map((c) => (
                  <th key={c}>{c}</th>
                ))}
              </tr>
            </thead>
            <tbody>
              {(data.items as any[]).map((item, i) => (
                <tr key={rowKey(item) ?? i} onClick={() => setOpen(item)} className="clickable">
                  {cells(item)}
                </tr>
              ))}
            </tbody>
          </table>
          {data.nextCursor ? <button onClick={() => onOlder(data.nextCursor)}>Older</button> : null}
          {open ? <Json value={open} /> : null}
        </>
      ) : null}
    </>
  );
}
