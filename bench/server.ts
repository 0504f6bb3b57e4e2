/**
 * The bench's HTTP server, run in a child process (`fork`) so that its CPU is not spent on
 * the client's event loop. Loopback only. It answers every request the way the test
 * servers do (a small JSON body, keep-alive for 60 s), then reports its port to the parent.
 * It exits when the parent disconnects.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

const sockets = new Set<Socket>();
let hits = 0;
const server = http.createServer((req, res) => {
  const n = (hits += 1);
  let body = '';
  req.setEncoding('utf8');
  req.on('data', (chunk: string) => (body += chunk));
  req.on('end', () => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, n, method: req.method, body }));
  });
});
server.keepAliveTimeout = 60_000;
server.on('connection', (socket: Socket) => {
  sockets.add(socket);
  socket.on('close', () => sockets.delete(socket));
});
server.listen(0, '127.0.0.1', () => {
  process.send?.({ port: (server.address() as AddressInfo).port });
});
process.on('disconnect', () => {
  for (const socket of sockets) socket.destroy();
  server.close(() => process.exit(0));
});
