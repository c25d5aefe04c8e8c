/**
 * The HTTP ceiling of the serving benchmark, run as its own child process (forked by run.ts): a bare
 * `node:http` server that reads and JSON-parses the request body and answers 200 with a fixed JSON
 * body of the same bytes as Kiln's record API response. The parent sets the body over IPC
 * (`{body}` → `{ok: true}`) and learns the port from the first message (`{port}`).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

let response = Buffer.from('{}');

process.on('message', (m: { body: string }) => {
  response = Buffer.from(m.body, 'utf8');
  process.send!({ ok: true });
});

const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (c: Buffer) => chunks.push(c));
  req.on('end', () => {
    JSON.parse(Buffer.concat(chunks).toString('utf8'));
    res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': response.length });
    res.end(response);
  });
});
server.listen(0, '127.0.0.1', () => process.send!({ port: (server.address() as AddressInfo).port }));
process.on('disconnect', () => process.exit(0));
