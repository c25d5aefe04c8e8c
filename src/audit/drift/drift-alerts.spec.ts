import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { KilnConfig } from '../../platform/config/kiln-config';
import { alertOf, DriftAlerts } from './drift-alerts';
import type { CompletedDriftReportView as DriftReportView } from './drift-report';

const feature = (name: string, drifted: boolean) => ({
  feature: name,
  kind: 'numeric' as const,
  test: 'ks' as const,
  score: 0.4,
  pValue: drifted ? 1e-9 : 0.6,
  threshold: 0.05,
  thresholdRule: 'p_value_below' as const,
  drifted,
  psi: 0.3,
  psiThreshold: 0.1,
  psiMajorThreshold: 0.25,
  psiLevel: 'major' as const,
  referenceCount: 300,
  currentCount: 200,
  currentMissing: 0,
});

const report = {
  id: 'r1',
  model: 'm',
  modelVersion: 2,
  createdAt: '2025-01-01T00:00:00.000Z',
  windowFrom: '2025-01-01T00:00:00.000Z',
  windowTo: '2025-01-01T00:01:00.000Z',
  rows: 200,
  referenceDatasetVersionId: 'd1',
  drift: true,
  driftedShare: 0.5,
  report: { features: [feature('a', true), feature('b', false)], prediction: null, retrain: null },
} as unknown as DriftReportView;

const alerts = (url?: string) => new DriftAlerts({ audit: { alertWebhookUrl: url } } as KilnConfig);

describe('drift webhook', () => {
  let server: Server;
  let base: string;
  const received: Array<{ status: number; body: any }> = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const status = req.url === '/fail' ? 500 : 204;
        received.push({ status, body: JSON.parse(body) });
        res.writeHead(status).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  it('names only the drifted features in the alert', () => {
    const a = alertOf(report);
    assert.deepEqual(
      a.driftedFeatures.map((f) => f.feature),
      ['a'],
    );
    assert.equal(a.reportPath, '/api/models/m/drift');
    assert.equal(a.version, 2);
  });

  it('POSTs the alert as JSON and reports the answer', async () => {
    assert.deepEqual(await alerts(`${base}/ok`).send(report), { sent: true, status: 204 });
    assert.equal(received.at(-1)!.body.reportId, 'r1');
  });

  it('never throws: an error status, a refused connection or no webhook at all', async () => {
    assert.deepEqual(await alerts(`${base}/fail`).send(report), { sent: false, error: 'HTTP 500' });
    const refused = await alerts('http://127.0.0.1:1/x').send(report);
    assert.equal(refused?.sent, false);
    assert.equal(await alerts(undefined).send(report), null);
  });
});
