import { useState } from 'react';
import { enc, get, post, request } from '../api';
import { ErrorBox, Loading, Section, useLoad, when, type ViewProps } from '../ui';

const ROLES = ['developer', 'predictor', 'auditor', 'admin'];

/** API keys (admin only): list, create (the key is shown once), revoke. */
export function KeysView({ session }: ViewProps) {
  const { data, error, reload } = useLoad(() => get<any[]>('/api/keys'), []);
  const [name, setName] = useState('');
  const [role, setRole] = useState('developer');
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const [actionError, setActionError] = useState<Error | null>(null);
  return (
    <>
      <Section title="New API key">
        <form
          className="row"
          onSubmit={(e) => {
            e.preventDefault();
            setActionError(null);
            post('/api/keys', { name: name.trim(), role }).then((k: any) => {
              setCreated({ name: k.name, key: k.key });
              setName('');
              reload();
            }, setActionError);
          }}
        >
          <label>
            Name
            <input
              name="keyName"
              value={name}
              onChange={(e) => setName(e.target.value)}
              placeholder="e.g. fraud-scoring service"
              required
            />
          </label>
          <label>
            Role
            <select name="keyRole" value={role} onChange={(e) => setRole(e.target.value)}>
              {ROLES.map((r) => (
                <option key={r}>{r}</option>
              ))}
            </select>
          </label>
          <button type="submit">Create key</button>
        </form>
        {created ? (
          <p className="verdict good" data-testid="created-key">
            Key for {created.name} (shown once, copy it now): <code>{created.key}</code>
          </p>
        ) : null}
        <ErrorBox error={actionError} />
      </Section>
      <Section title="API keys">
        <ErrorBox error={error} />
        {!data ? <Loading what="keys" /> : null}
        {data ? (
          <table>
            <thead>
              <tr>
                <th>Name</th>
                <th>Key id</th>
                <th>Role</th>
                <th>Created</th>
                <th>Last used</th>
                <th>Revoked</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td className="mono">{k.keyId}</td>
                  <td>{k.role}</td>
                  <td>{when(k.createdAt)}</td>
                  <td>{when(k.lastUsedAt)}</td>
                  <td>{when(k.revokedAt)}</td>
                  <td>
                    {!k.revokedAt && k.keyId !== session.keyId ? (
                      <button
                        className="danger"
                        onClick={() => {
                          setActionError(null);
                          void request('DELETE', `/api/keys/${enc(k.id)}`).then(reload, setActionError);
                        }}
                      >
                        Revoke
                      </button>
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        ) : null}
      </Section>
    </>
  );
}
