/**
 * The fault matrix's lab: one raw HTTP/1.1 server (plain or TLS) that injects a fault at a
 * chosen point of a request and keeps a ledger of what its application applied, and a
 * plain L4 forward proxy in front of it (absolute-form requests and CONNECT tunnels, a
 * server's RST passed on as an RST).
 */
import net, { type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { listen, startRawServer, track, writeThenReset, type Closeable, type RawServer } from './net';

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
