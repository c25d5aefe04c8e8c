/** The machine's NATS server for the tests that use it (split deployments, RPC transports), or why they are skipped. */
import { createConnection } from 'node:net';

export const NATS_URL = process.env.KILN_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

/** False when NATS answers at NATS_URL; else the skip message (an error under KILN_TEST_REQUIRE_ALL=1). */
export async function natsUnavailable(): Promise<string | false> {
  const { hostname, port } = new URL(NATS_URL);
  const reachable = await new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: hostname, port: Number(port || 4222) });
    socket.setTimeout(1000, () => (socket.destroy(), resolve(false)));
    socket.once('connect', () => (socket.end(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
  if (reachable) return false;
  const message = `SKIPPED: no NATS server at ${NATS_URL}`;
  if (process.env.KILN_TEST_REQUIRE_ALL === '1') throw new Error(`${message} (KILN_TEST_REQUIRE_ALL=1 forbids skipping)`);
  return message;
}
