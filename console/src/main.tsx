import { StrictMode, useEffect, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, can, request, storedKey, storeKey, type Session } from './api';
import { ErrorBox } from './ui';
import { AuditView } from './views/audit';
import { DatasetsView } from './views/datasets';
import { JobsView } from './views/jobs';
import { KeysView } from './views/keys';
import { ModelsView } from './views/models';
import { MonitoringView } from './views/monitoring';
import './style.css';

/** Views are hash routes (`#/models/iris`): the server only ever serves `/`, nothing else is shadowed. */
function useRoute(): string[] {
  const parse = () =>
    window.location.hash
      .replace(/^#\/?/, '')
      .split('/')
      .filter(Boolean)
      .map((s) => decodeURIComponent(s));
  const [route, setRoute] = useState(parse);
  useEffect(() => {
    const on = () => setRoute(parse());
    window.addEventListener('hashchange', on);
    return () => window.removeEventListener('hashchange', on);
  }, []);
  return route;
}

async function whoAmI(key: string): Promise<Session> {
  const s = await request<Omit<Session, 'key'>>('GET', '/api/session', undefined, key);
  return { ...s, key };
}

function SignIn({ onSession }: { onSession: (s: Session) => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <main className="signin">
      <h1>Kiln</h1>
      <p className="muted">Sign in with an API key. It is kept in this browser tab only (sessionStorage) and sent as a bearer token.</p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          setBusy(true);
          setError(null);
          whoAmI(key.trim()).then(
            (s) => {
              storeKey(s.key);
              onSession(s);
            },
            (err: Error) => {
              setBusy(false);
              setError(err instanceof ApiError && err.status === 401 ? new Error('That API key is not valid or was revoked.') : err);
            },
          );
        }}
      >
        <label>
          API key
          <input
            name="apiKey"
            type="password"
            autoComplete="off"
            value={key}
            onChange={(e) => setKey(e.target.value)}
            placeholder="kiln_…"
            required
          />
        </label>
        <button type="submit" disabled={busy || !key.trim()}>
          Sign in
        </button>
      </form>
      <ErrorBox error={error} />
    </main>
  );
}

const VIEWS = [
  { id: 'datasets', title: 'Datasets', allowed: can.readData },
  { id: 'jobs', title: 'Training', allowed: can.readData },
  { id: 'models', title: 'Models', allowed: () => true },
  { id: 'monitoring', title: 'Monitoring', allowed: can.monitor },
  { id: 'audit', title: 'Audit', allowed: can.audit },
  { id: 'keys', title: 'API keys', allowed: can.admin },
] as const;

function App() {
  const [session, setSession] = useState<Session | null>(null);
  const [checking, setChecking] = useState(() => storedKey() !== null);
  const route = useRoute();
  useEffect(() => {
    const key = storedKey();
    if (!key) return;
    whoAmI(key)
      .then(setSession, () => storeKey(null))
      .finally(() => setChecking(false));
  }, []);
  if (checking) return <p className="muted">…</p>;
  if (!session) return <SignIn onSession={setSession} />;
  const views = VIEWS.filter((v) => v.allowed(session.role));
  const current = views.find((v) => v.id === route[0]) ?? views[0]!;
  const props = { session, route: route[0] === current.id ? route.slice(1) : [] };
  return (
    <>
      <nav className="top">
        <span className="brand">Kiln</span>
        {views.map((v) => (
          <a key={v.id} href={`#/${v.id}`} className={v.id === current.id ? 'active' : ''}>
            {v.title}
          </a>
        ))}
        <span className="who">
          {session.name} · <b data-role={session.role}>{session.role}</b>
          <button
            className="link"
            onClick={() => {
              storeKey(null);
              setSession(null);
            }}
          >
            Sign out
          </button>
        </span>
      </nav>
      <main className="page">
        {current.id === 'datasets' && <DatasetsView {...props} />}
        {current.id === 'jobs' && <JobsView {...props} />}
        {current.id === 'models' && <ModelsView {...props} />}
        {current.id === 'monitoring' && <MonitoringView {...props} />}
        {current.id === 'audit' && <AuditView />}
        {current.id === 'keys' && <KeysView {...props} />}
      </main>
    </>
  );
}

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);
