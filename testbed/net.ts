/**
 * The testbed's plumbing: real servers on 127.0.0.1 (a free port unless given) that
 * misbehave the way the world does, and the helpers every other testbed file builds on
 * (track, listen, Closeable, freePort, pause). Every starter returns `close()`, which
 * destroys every socket it accepted.
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type AddressInfo, type Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import tls from 'node:tls';

export interface Closeable {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

/** The sockets a server accepted and that are still open. */
export function track(server: net.Server): Set<Socket> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  return sockets;
}

/** Listens on 127.0.0.1 (a free port unless given); `close()` destroys `sockets`, then closes the server. */
export async function listen(server: net.Server, sockets: Set<Socket>, scheme = 'http', at = 0): Promise<Closeable> {
  await new Promise<void>((resolve) => server.listen(at, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    port,
    url: `${scheme}://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', () => resolve(Buffer.concat(chunks).toString('utf8')));
  });
}

export interface Recorder {
  /** Requests whose headers arrived. */
  hits: number;
  /** TCP connections accepted. */
  connections: number;
  /** Full body of every request, in arrival order (reset ones included). */
  readonly bodies: string[];
  readonly methods: string[];
  readonly headers: IncomingHttpHeaders[];
}

export interface HttpServerOptions {
  /** Reset (RST, before any response byte) the first N requests. */
  resetFirst?: number;
  /** Finer control: reset when this returns true (n is 1-based). */
  resetWhen?: (req: IncomingMessage, n: number, body: string) => boolean;
  keepAliveTimeout?: number;
  handler?: (req: IncomingMessage, res: ServerResponse, n: number, body: string) => void;
  /** Keep bodies and headers (default); off for long runs such as benchmarks. */
  record?: boolean;
  /** Listen on this port (default: a free one). */
  port?: number;
}

const json = (req: IncomingMessage, res: ServerResponse, n: number, body: string): void => {
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ ok: true, n, method: req.method, body }));
};

export async function startHttpServer(options: HttpServerOptions = {}): Promise<Closeable & Recorder> {
  const record: Recorder = { hits: 0, connections: 0, bodies: [], methods: [], headers: [] };
  const resetWhen = options.resetWhen ?? ((_req, n) => n <= (options.resetFirst ?? 0));
  const server = http.createServer((req, res) => {
    const n = (record.hits += 1);
    const keep = options.record !== false;
    if (keep) record.methods.push(req.method ?? '');
    if (keep) record.headers.push(req.headers);
    void readBody(req).then((body) => {
      if (keep) record.bodies.push(body);
      if (resetWhen(req, n, body)) req.socket.resetAndDestroy();
      else (options.handler ?? json)(req, res, n, body);
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeout ?? 60_000;
  server.on('connection', () => (record.connections += 1));
  const sockets = track(server);
  return Object.assign(record, await listen(server, sockets, 'http', options.port));
}

/** Sends headers and half the body, then resets, for the requests `cut(n)` picks (n is 1-based). */
export async function startHalfBodyServer(cut: (n: number) => boolean = (n) => n === 1): Promise<Closeable & Recorder> {
  const full = JSON.stringify({ payload: 'x'.repeat(2048) });
  return startHttpServer({
    handler: (_req, res, n) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
      if (!cut(n)) {
        res.end(full);
        return;
      }
      res.write(full.slice(0, full.length / 2));
      setTimeout(() => res.socket?.resetAndDestroy(), 20);
    },
  });
}

export interface RawServer extends Closeable {
  /** Connections accepted: one per attempt, since no socket here is reused unless a test says so. */
  connections: number;
  /** Request heads read, across connections. */
  requests: number;
}

/**
 * What a raw server answers on: `socket` to write on (the TLS socket under `secure`), and
 * `tcp`, the connection under it, whose RST is the server dying (a TLS socket cannot send one).
 */
export interface RawConnection {
  readonly socket: Duplex;
  readonly tcp: Socket;
}

/**
 * A TCP server (TLS with `secure`) that reads each request head (and the body its
 * Content-Length announces), then lets `respond` answer on the raw socket. `n` counts
 * requests from 1, across connections; a connection may carry several (keep-alive).
 */
export async function startRawServer(
  respond: (socket: Socket, n: number, head: string, connection: RawConnection) => void,
  secure?: { key: string; cert: string },
): Promise<RawServer> {
  const state = { connections: 0, requests: 0 };
  const server = net.createServer((tcp) => {
    state.connections += 1;
    tcp.on('error', () => undefined);
    const socket: Duplex = secure ? new tls.TLSSocket(tcp, { isServer: true, ...secure }) : tcp;
    socket.on('error', () => undefined);
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      const end = buffered.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buffered.subarray(0, end).toString('latin1');
      const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(head)?.[1] ?? 0);
      if (buffered.length < end + 4 + length) return;
      buffered = buffered.subarray(end + 4 + length);
      state.requests += 1;
      respond(socket as Socket, state.requests, head, { socket, tcp });
    });
  });
  const sockets = track(server);
  return Object.assign(state, await listen(server, sockets, secure ? 'https' : 'http'));
}

/**
 * Writes `bytes`, then sends an RST (on `tcp`, the connection under a TLS socket) 50 ms
 * after they were handed to the kernel: an RST that arrives together with the data is
 * reported by libuv as an EOF, so the client must have read the data first for the RST to
 * show as ECONNRESET.
 */
export const writeThenReset = (socket: Duplex, bytes: string | Uint8Array, tcp: Socket = socket as Socket): void => {
  socket.write(bytes, () => setTimeout(() => tcp.resetAndDestroy(), 50));
};

export interface IdleDropProxy extends Closeable {
  connections: number;
  /** RSTs sent to clients whose connection had been forgotten (or, when silent, packets swallowed). */
  resets: number;
  /** Forget every current connection now: its next packet gets an RST. */
  dropAllNow(): void;
}

/**
 * A firewall/NAT in front of `target`: it forgets a connection idle longer than
 * `idleMs` without telling either side, and answers the client's next packet with an RST,
 * or, when `silent`, swallows it and every later one (a black hole: the client hears
 * nothing until it gives up; the proxy's socket is closed when the client closes).
 */
export async function startIdleDropProxy(target: number, idleMs: number, silent = false): Promise<IdleDropProxy> {
  const forgetters = new Set<() => void>();
  const state = { connections: 0, resets: 0 };
  const server = net.createServer((client) => {
    state.connections += 1;
    const upstream = net.connect(target, '127.0.0.1');
    let last = Date.now();
    let forgotten = false;
    const forget = (): void => void (forgotten = true);
    forgetters.add(forget);
    client.on('data', (chunk: Buffer) => {
      if (forgotten || Date.now() - last > idleMs) {
        state.resets += 1;
        upstream.destroy();
        forgotten = true;
        if (!silent) client.resetAndDestroy();
        return;
      }
      last = Date.now();
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      last = Date.now();
      client.write(chunk);
    });
    upstream.on('end', () => client.end());
    client.on('error', () => upstream.destroy());
    upstream.on('error', () => client.destroy());
    client.on('close', () => {
      forgetters.delete(forget);
      upstream.destroy();
    });
  });
  const sockets = track(server);
  const base = await listen(server, sockets);
  return Object.assign(state, base, {
    dropAllNow: () => {
      for (const forget of forgetters) forget();
    },
  });
}

/** A port nothing listens on right now (bind port 0, read it, release it). */
/**
 * A port of 127.0.0.1 where nothing listens, for good: a connection to it is refused. Not
 * one from {@link freePort}: another test's server (jest runs files in parallel) may take a
 * free port between its close and its use. Port 2 is below the kernel's ephemeral range, so
 * no `listen(0)` is handed it, and it is not on the fetch spec's (or Chromium's) list of
 * blocked ports, so undici and browsers try it too.
 */
export const CLOSED_PORT = 2;

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Resolves after `ms` (a timer, nothing else). */
export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
