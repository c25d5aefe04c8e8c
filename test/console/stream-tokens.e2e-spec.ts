/**
 * Stream tokens (POST /api/stream-tokens): what lets the web console open a training job's event stream
 * with EventSource, which cannot send Authorization. A token opens exactly the path it was issued for,
 * for 60 s, only on event-stream routes, only while its key is valid, and with its key's role.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { StreamTokensService } from '../../src/platform/auth/stream-tokens.service';
import { penguinsVersion } from '../inference/inference-helpers';
import { eventually, skipUnless, startTestKiln, type TestKiln } from '../utils/test-kiln';

void (async () => {
  const skip = await skipUnless('postgres');

  describe('stream tokens', { skip }, () => {
    let kiln: TestKiln;
    let jobId: string;
    let otherJobId: string;
    const eventsOf = (id: string) => `/api/training-jobs/${id}/events`;

    async function token(path: string, key?: string | null): Promise<string> {
      const res = await kiln.request('POST', '/api/stream-tokens', { body: { path }, ...(key !== undefined ? { key } : {}) });
      assert.equal(res.status, 201, res.text);
      assert.equal(res.body.path, path);
      assert.ok(
        Date.parse(res.body.expiresAt) > Date.now() + 50_000 && Date.parse(res.body.expiresAt) <= Date.now() + 61_000,
        res.body.expiresAt,
      );
      return res.body.token as string;
    }

    /** GET with `?token=` and no Authorization header, as EventSource does. */
    async function open(path: string, t: string): Promise<{ status: number; type: string; text: string; challenge: string | null }> {
      const res = await fetch(`${kiln.url}${path}?token=${encodeURIComponent(t)}`, { headers: { accept: 'text/event-stream' } });
      return {
        status: res.status,
        type: res.headers.get('content-type') ?? '',
        text: await res.text(),
        challenge: res.headers.get('www-authenticate'),
      };
    }

    async function trainedJob(modelName: string): Promise<string> {
      const version = await penguinsVersion(kiln);
      const res = await kiln.request('POST', '/api/training-jobs', {
        body: { datasetVersionId: version.id, target: 'Species', modelName, hyperparameters: { epochs: 3, seed: 1 } },
      });
      assert.equal(res.status, 202, res.text);
      await eventually(
        async () => ((await kiln.request('GET', `/api/training-jobs/${res.body.id}`)).body.status === 'succeeded' ? true : undefined),
        90_000,
        200,
      );
      return res.body.id as string;
    }

    before(async () => {
      kiln = await startTestKiln('postgres');
      jobId = await trainedJob(`tok-${Date.now().toString(36)}`);
      otherJobId = randomUUID();
    });
    after(async () => {
      await kiln?.close();
    });

    it('opens the event stream it was issued for, without an Authorization header', async () => {
      const res = await open(eventsOf(jobId), await token(eventsOf(jobId)));
      assert.equal(res.status, 200, res.text);
      assert.match(res.type, /^text\/event-stream/);
      assert.match(res.text, /event: progress\n/);
      assert.match(res.text, /event: succeeded\n/);
    });

    it('is 401 on the stream without a token, with a forged, tampered or expired token, or one for another path', async () => {
      const path = eventsOf(jobId);
      const noToken = await fetch(`${kiln.url}${path}`);
      assert.equal(noToken.status, 401);

      const good = await token(path);
      const [prefix, claims, signature] = good.split('.') as [string, string, string];
      const flipped = signature.slice(0, -2) + (signature.endsWith('AA') ? 'BB' : 'AA');
      const forged = await open(path, `${prefix}.${claims}.${flipped}`);
      assert.equal(forged.status, 401, forged.text);
      assert.match(forged.text, /stream token is not valid/);
      assert.match(forged.challenge ?? '', /invalid_token/);

      // Claims rewritten to another path, keeping the signature: the HMAC no longer matches.
      const decoded = JSON.parse(Buffer.from(claims, 'base64url').toString('utf8'));
      const moved = Buffer.from(JSON.stringify({ ...decoded, p: eventsOf(otherJobId) })).toString('base64url');
      assert.equal((await open(eventsOf(otherJobId), `${prefix}.${moved}.${signature}`)).status, 401);
      // Claims rewritten to a later expiry: same.
      const later = Buffer.from(JSON.stringify({ ...decoded, e: decoded.e + 3600 })).toString('base64url');
      assert.equal((await open(path, `${prefix}.${later}.${signature}`)).status, 401);

      const wrongPath = await open(eventsOf(otherJobId), good);
      assert.equal(wrongPath.status, 401, wrongPath.text);
      assert.match(wrongPath.text, /issued for another path/);

      const session = (await kiln.request('GET', '/api/session')).body;
      const expired = await kiln.app
        .get(StreamTokensService)
        .issue({ id: '', keyId: session.keyId, name: session.name, role: session.role }, path, Date.now() - 61_000);
      const expiredRes = await open(path, expired.token);
      assert.equal(expiredRes.status, 401, expiredRes.text);
      assert.match(expiredRes.text, /expired/);

      for (const junk of ['', 'abc', 'kst1.x.y', 'kst1..', `kst1.${Buffer.from('{"k":1}').toString('base64url')}.x`]) {
        assert.equal((await open(path, junk)).status, 401, `token ${JSON.stringify(junk)}`);
      }
    });

    it('cannot be used on any other route, even the same job', async () => {
      const t = await token(`/api/training-jobs/${jobId}`);
      const job = await fetch(`${kiln.url}/api/training-jobs/${jobId}?token=${encodeURIComponent(t)}`);
      assert.equal(job.status, 401);
      assert.match(await job.text(), /\?token= opens only event streams/);
      const listToken = await token('/api/models');
      assert.equal((await fetch(`${kiln.url}/api/models?token=${encodeURIComponent(listToken)}`)).status, 401);
      // A stream token is no API key either.
      const streamToken = await token(eventsOf(jobId));
      assert.equal((await fetch(`${kiln.url}/api/models`, { headers: { authorization: `Bearer ${streamToken}` } })).status, 401);
    });

    it("keeps the key's role and dies with its key", async () => {
      const created = await kiln.request('POST', '/api/keys', { body: { name: 'stream-predictor', role: 'predictor' } });
      assert.equal(created.status, 201, created.text);
      const predictorToken = await token(eventsOf(jobId), created.body.key);
      assert.equal((await open(eventsOf(jobId), predictorToken)).status, 403, 'training streams are for developers');

      const dev = await kiln.request('POST', '/api/keys', { body: { name: 'stream-developer', role: 'developer' } });
      const devToken = await token(eventsOf(jobId), dev.body.key);
      assert.equal((await kiln.request('DELETE', `/api/keys/${dev.body.id}`)).status, 200);
      const revoked = await open(eventsOf(jobId), devToken);
      assert.equal(revoked.status, 401, revoked.text);
      assert.match(revoked.text, /unknown or revoked/);
    });

    it('is issued only to a valid key, for a path', async () => {
      assert.equal((await kiln.request('POST', '/api/stream-tokens', { body: { path: eventsOf(jobId) }, key: null })).status, 401);
      for (const path of [undefined, 'api/x', '/a?token=1', '/a b', 'x'.repeat(600), 12]) {
        const res = await kiln.request('POST', '/api/stream-tokens', { body: path === undefined ? {} : { path } });
        assert.equal(res.status, 400, `${JSON.stringify(path)}: ${res.text}`);
        assert.equal(res.body.errors?.[0]?.field, 'path', res.text);
      }
    });

    it('says who the key is (GET /api/session)', async () => {
      const res = await kiln.request('GET', '/api/session');
      assert.equal(res.status, 200);
      assert.equal(res.body.role, 'admin');
      assert.match(res.body.keyId, /^[A-Za-z0-9]{12}$/);
      assert.equal((await kiln.request('GET', '/api/session', { key: null })).status, 401);
    });
  });
})();
