/**
 * C: the limit: a raw `node:http` server that reads the body and answers every request with one fixed JSON-RPC
 * response (the bytes of a finished task). Prints `LISTENING <url>` once it listens on 127.0.0.1.
 *
 *   node --import tsx bench/servers/raw-http.ts
 */
import { createServer } from 'node:http';

const BODY = Buffer.from(
  JSON.stringify({
    jsonrpc: '2.0',
    id: 1,
    result: {
      id: '00000000-0000-4000-8000-000000000000',
      contextId: '00000000-0000-4000-8000-000000000001',
      status: { state: 'TASK_STATE_COMPLETED', timestamp: new Date().toISOString() },
      artifacts: [],
      history: [],
    },
  }),
);

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': BODY.length });
    res.end(BODY);
  });
});
server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(`LISTENING http://127.0.0.1:${port}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));
