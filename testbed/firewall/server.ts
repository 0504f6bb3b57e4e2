/**
 * The firewall lab's server (run in the server namespace by `FirewallLab.node`): a node
 * http server on `<host>:<port>` with a long keep-alive (60 s), so that only the firewall
 * ever ends an idle connection.
 * - `GET <path>`: 200 with a JSON body naming the path;
 * - `POST /ledger?id=<id>`: counts the POSTs applied per id (the ledger), 200 with the count.
 * Talks JSON lines: prints `{"event":"listening"}`; on `{"op":"ledger"}` on stdin prints
 * `{"event":"ledger","ledger":{id:count},"connections":n}`. Exits when stdin ends.
 */
import http from 'node:http';
import type { Socket } from 'node:net';
import { createInterface } from 'node:readline';

const [host = '198.51.100.1', port = '8080'] = process.argv.slice(2);

const ledger: Record<string, number> = {};
let connections = 0;
const sockets = new Set<Socket>();

function print(message: object): void {
  process.stdout.write(`${JSON.stringify(message)}\n`);
}

const server = http.createServer((req, res) => {
  const url = new URL(req.url ?? '/', 'http://lab');
  req.resume();
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    if (req.method === 'POST' && url.pathname === '/ledger') {
      const id = url.searchParams.get('id') ?? '';
      ledger[id] = (ledger[id] ?? 0) + 1;
      res.end(JSON.stringify({ id, count: ledger[id] }));
    } else {
      res.end(JSON.stringify({ path: req.url, body: 'x'.repeat(512) }));
    }
  });
});
server.keepAliveTimeout = 60_000;
server.headersTimeout = 65_000;
server.on('connection', (socket: Socket) => {
  connections += 1;
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});

server.listen(Number(port), host, () => print({ event: 'listening', host, port: Number(port) }));

const input = createInterface({ input: process.stdin });
input.on('line', (line) => {
  const command = JSON.parse(line) as { op: string };
  if (command.op === 'ledger') print({ event: 'ledger', ledger, connections });
  else print({ event: 'error', message: `unknown op ${command.op}` });
});
input.on('close', () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
});
