/**
 * The fault matrix's lab: one raw HTTP/1.1 server (plain or TLS) that injects a fault at a
 * chosen point of a request and keeps a ledger of what its application applied, a plain L4
 * forward proxy in front of it (absolute-form requests and CONNECT tunnels, a server's RST
 * passed on as an RST), and the same fault server over HTTP/2 (h2c, or TLS with ALPN h2).
 */
import http2 from 'node:http2';
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listen, startRawServer, track, writeThenReset, type Closeable, type RawServer } from './net';
import { testCertificate } from './tls';

/** Where, in one request's life, the server dies (an RST on its TCP connection). */
export type FaultPoint = 'before-app' | 'after-head' | 'after-apply' | 'after-response-head' | 'mid-body';

export const FAULT_POINTS: readonly FaultPoint[] = [
  'before-app',
  'after-head',
  'after-apply',
  'after-response-head',
  'mid-body',
];

export interface FaultServer extends RawServer {
  /** Per cell: how many times the application applied its POST (a keyed one once per key). */
  readonly applied: Map<string, number>;
  /** Per cell: request heads its application saw at the faulted hop, faulted or not. */
  readonly seen: Map<string, number>;
  /** Arms the fault for `cell`: the first request to its target hop meets it. */
  arm(cell: string, point: FaultPoint): void;
}

const answer = (status: string, headers: string, body: string): string =>
  `HTTP/1.1 ${status}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: keep-alive\r\n${headers}\r\n${body}`;

/**
 * Routes (any method; the request line may be absolute-form, as through a proxy):
 * - `/warm`: 200, to pool a connection;
 * - `/r303?cell=C`: a POST is applied, then 303 to `/target?cell=C`;
 * - `/r307?cell=C`: 307 to `/target?cell=C`, nothing applied (the POST goes on there);
 * - `/target?cell=C`: the hop that meets the armed fault once; a POST is applied there.
 * An `Idempotency-Key` already applied for a cell is not applied again.
 */
export async function startFaultServer(secure?: { key: string; cert: string }): Promise<FaultServer> {
  const applied = new Map<string, number>();
  const seen = new Map<string, number>();
  const armed = new Map<string, FaultPoint>();
  const keys = new Set<string>();
  const apply = (cell: string, head: string): void => {
    const key = /\r\nidempotency-key:\s*([^\r\n]+)/i.exec(head)?.[1];
    if (key !== undefined && keys.has(`${cell} ${key}`)) return;
    if (key !== undefined) keys.add(`${cell} ${key}`);
    applied.set(cell, (applied.get(cell) ?? 0) + 1);
  };
  const server = await startRawServer((socket, _n, head, { tcp }) => {
    const [method = 'GET', target = '/'] = head.split('\r\n', 1)[0]!.split(' ');
    const url = new URL(target, 'http://fault.invalid');
    const cell = url.searchParams.get('cell') ?? '';
    const post = method === 'POST';
    if (url.pathname === '/r303') {
      if (post) apply(cell, head);
      return void socket.write(answer('303 See Other', `Location: /target?cell=${cell}\r\n`, ''));
    }
    if (url.pathname === '/r307') {
      return void socket.write(answer('307 Temporary Redirect', `Location: /target?cell=${cell}\r\n`, ''));
    }
    if (url.pathname !== '/target') return void socket.write(answer('200 OK', '', 'warm'));
    const point = armed.get(cell);
    armed.delete(cell);
    if (point === 'before-app') return void tcp.resetAndDestroy();
    seen.set(cell, (seen.get(cell) ?? 0) + 1);
    if (point === 'after-head') return void tcp.resetAndDestroy();
    if (post) apply(cell, head);
    if (point === 'after-apply') return void tcp.resetAndDestroy();
    const body = `ok:${cell}`;
    if (point === 'after-response-head') {
      return void writeThenReset(socket, `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`, tcp);
    }
    if (point === 'mid-body') {
      return void writeThenReset(socket, `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\nok`, tcp);
    }
    socket.write(answer('200 OK', '', body));
  }, secure);
  return Object.assign(server, {
    applied,
    seen,
    arm: (cell: string, point: FaultPoint) => void armed.set(cell, point),
  });
}

/**
 * A forward proxy at the TCP level, one upstream connection per client connection: CONNECT
 * opens a tunnel, anything else (an absolute-form request) is relayed as it is. An upstream
 * reset is passed on as a reset, an upstream close as a close, as an L4 balancer would.
 */
export async function startRelayProxy(upstreamPort: number): Promise<Closeable & { connections: number }> {
  const state = { connections: 0 };
  const server = net.createServer((client) => {
    state.connections += 1;
    client.on('error', () => undefined);
    client.once('data', (first: Buffer) => {
      const upstream = net.connect(upstreamPort, '127.0.0.1');
      const relay = (from: Duplex, to: Socket): void => {
        from.on('error', () => to.resetAndDestroy());
        from.pipe(to);
      };
      upstream.on('error', () => client.resetAndDestroy());
      client.on('error', () => upstream.resetAndDestroy());
      upstream.once('connect', () => {
        if (first.subarray(0, 8).toString('latin1') === 'CONNECT ') {
          client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
        } else upstream.write(first);
        relay(upstream, client);
        relay(client, upstream);
      });
    });
  });
  const sockets = track(server);
  return Object.assign(state, await listen(server, sockets));
}

/**
 * Where, in one HTTP/2 request's life, the server's fault strikes:
 * - `refused`: RST_STREAM(REFUSED_STREAM) before the application saw it (a server at its limit);
 * - `goaway-below`: a graceful GOAWAY whose last stream id is below the stream, then the
 *   session closes: the stream was never processed (RFC 9113 §6.8);
 * - `fin-after-apply`: applied, then a FIN on the session's connection, no headers sent
 *   (Node closes the client stream with no error: an orphaned stream);
 * - `rst-after-apply`: applied, then an RST on the TCP connection, no headers sent;
 * - `rst-stream-after-head`: applied, the response headers sent, then RST_STREAM(INTERNAL_ERROR);
 * - `fin-mid-body`: applied, the headers (with content-length) and half the body, then a FIN.
 */
export type H2FaultPoint =
  'refused' | 'goaway-below' | 'fin-after-apply' | 'rst-after-apply' | 'rst-stream-after-head' | 'fin-mid-body';

export const H2_FAULT_POINTS: readonly H2FaultPoint[] = [
  'refused',
  'goaway-below',
  'fin-after-apply',
  'rst-after-apply',
  'rst-stream-after-head',
  'fin-mid-body',
];

export interface H2FaultServer extends Closeable {
  /** The certificate to trust (`ca` in axios's `http2Options`), under TLS. */
  readonly ca: string;
  /** Per cell: how many times the application applied its POST (a keyed one once per key). */
  readonly applied: Map<string, number>;
  /** Per cell: streams of its target that reached the application, faulted or not. */
  readonly seen: Map<string, number>;
  /** Sessions the server accepted. */
  sessions: number;
  /** Arms the fault for `cell`: the first stream to its target meets it. */
  arm(cell: string, point: H2FaultPoint): void;
}

const { NGHTTP2_NO_ERROR, NGHTTP2_REFUSED_STREAM } = http2.constants;

/**
 * The fault server over HTTP/2 (a real `node:http2` server; `tls`: ALPN h2 with the
 * testbed's certificate). Routes, any method: `/warm` answers 200 (a session to reuse);
 * `/target?cell=C` meets the fault armed for C once, its later streams are served; a POST
 * there is applied after its body was read whole, and an `Idempotency-Key` already applied
 * for a cell is not applied again. Answers carry `ok:C` with a content-length.
 */
export async function startH2FaultServer(tls = false): Promise<H2FaultServer> {
  const { key, cert } = testCertificate();
  const server = tls ? http2.createSecureServer({ key, cert, allowHTTP1: false }) : http2.createServer();
  const state = { sessions: 0 };
  const applied = new Map<string, number>();
  const seen = new Map<string, number>();
  const armed = new Map<string, H2FaultPoint>();
  const keys = new Set<string>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      fn();
    }, ms);
    timers.add(timer);
  };
  // the TCP connection under each session, by the client's port (a TLS socket cannot send an RST)
  const tcp = new Map<number, Socket>();
  server.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined);
    const port = socket.remotePort ?? -1;
    tcp.set(port, socket);
    socket.once('close', () => tcp.delete(port));
  });
  const sockets = track(server);
  const sessions = new Set<http2.ServerHttp2Session>();
  server.on('session', (session) => {
    state.sessions += 1;
    sessions.add(session);
    session.on('error', () => undefined);
    session.once('close', () => sessions.delete(session));
  });

  server.on('stream', (stream, headers) => {
    stream.on('error', () => undefined);
    const method = String(headers[':method']);
    const url = new URL(String(headers[':path']), 'http://fault.invalid');
    const cell = url.searchParams.get('cell') ?? '';
    const session = stream.session;
    const connection = tcp.get(session?.socket?.remotePort ?? -1);
    const respond = (status: number, body: string): void => {
      if (stream.destroyed || stream.closed) return;
      stream.respond({ ':status': status, 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    };
    stream.resume();
    if (url.pathname !== '/target') return void stream.once('end', () => respond(200, 'warm'));
    const point = armed.get(cell);
    armed.delete(cell);
    if (point === 'refused') return void stream.close(NGHTTP2_REFUSED_STREAM);
    if (point === 'goaway-below') {
      // the last stream processed is the one before this stream: this one never was
      session?.goaway(NGHTTP2_NO_ERROR, Math.max(0, (stream.id ?? 1) - 2));
      return void later(20, () => session?.destroy());
    }
    stream.once('end', () => {
      seen.set(cell, (seen.get(cell) ?? 0) + 1);
      if (method === 'POST') {
        const key = headers['idempotency-key'];
        const fresh = typeof key !== 'string' || !keys.has(`${cell} ${key}`);
        if (typeof key === 'string') keys.add(`${cell} ${key}`);
        if (fresh) applied.set(cell, (applied.get(cell) ?? 0) + 1);
      }
      const body = `ok:${cell}`;
      switch (point) {
        case 'fin-after-apply':
          return void connection?.end();
        case 'rst-after-apply':
          return void connection?.resetAndDestroy();
        case 'rst-stream-after-head':
        case 'fin-mid-body':
          stream.respond({ ':status': 200, 'content-length': Buffer.byteLength(body) });
          if (point === 'fin-mid-body') stream.write(body.slice(0, 2));
          // a moment for the client to read the headers (and the half body) first; destroy(err),
          // not close(code): close() would end the stream (END_STREAM) before it resets
          return void later(30, () => {
            if (point === 'fin-mid-body') connection?.end();
            else stream.destroy(new Error('testbed: RST_STREAM INTERNAL_ERROR after the response head'));
          });
        default:
          return void respond(200, body);
      }
    });
  });

  const base = await listen(server, sockets, tls ? 'https' : 'http');
  return Object.assign(state, base, {
    ca: cert,
    applied,
    seen,
    arm: (cell: string, point: H2FaultPoint) => void armed.set(cell, point),
    close: async () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      for (const session of sessions) session.destroy();
      await base.close();
    },
  });
}
