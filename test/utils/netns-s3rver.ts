/**
 * An S3-compatible server (s3rver) as its own process, for a test that runs it on another "host"
 * (test/utils/netns.ts): `node netns-s3rver.js <address> <port> <directory> <bucket>`. Prints
 * `s3rver listening on http://<address>:<port>` once it accepts requests; SIGTERM stops it.
 */
import S3rver from 's3rver';

async function main(): Promise<void> {
  const [address, port, directory, bucket] = process.argv.slice(2);
  if (!address || !port || !directory || !bucket) throw new Error('usage: netns-s3rver <address> <port> <directory> <bucket>');
  const server = new S3rver({ address, port: Number(port), directory, silent: true, configureBuckets: [{ name: bucket }] });
  const listening = await server.run();
  process.stdout.write(`s3rver listening on http://${address}:${listening.port}\n`);
  process.once('SIGTERM', () => {
    void server.close().then(() => process.exit(0));
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
