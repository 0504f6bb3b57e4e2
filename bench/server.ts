/**
 * The bench's HTTP server, run in a child process (`fork`) so that its CPU is not spent on
 * the client's event loop. Loopback only. It answers every request the way the test
 * servers do (a small JSON body, keep-alive for 60 s), then reports its port to the parent.
 * It exits when the parent disconnects. Beside it, an HTTP/2 server (h2c) answering the same
 * way, for the HTTP/2 overhead: the message carries both ports.
 */
import http from 'node:http';
import http2 from 'node:http2';
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

const sessions = new Set<http2.ServerHttp2Session>();
const h2 = http2.createServer();
h2.on('session', (session) => {
  sessions.add(session);
  session.on('close', () => sessions.delete(session));
});
h2.on('stream', (stream, headers) => {
  const n = (hits += 1);
  let body = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (body += chunk));
  stream.on('end', () => {
    stream.respond({ ':status': 200, 'content-type': 'application/json' });
    stream.end(JSON.stringify({ ok: true, n, method: headers[':method'], body }));
  });
});

const listening = (s: http.Server | http2.Http2Server): Promise<number> =>
  new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as AddressInfo).port)));
void Promise.all([listening(server), listening(h2)]).then(([port, h2Port]) => process.send?.({ port, h2Port }));
process.on('disconnect', () => {
  for (const socket of sockets) socket.destroy();
  for (const session of sessions) session.destroy();
  h2.close();
  server.close(() => process.exit(0));
});
