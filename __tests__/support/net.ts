/**
 * Real servers on 127.0.0.1 (port 0) that misbehave the way the world does.
 * Every starter returns `close()`, which destroys every socket it accepted.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import net, { type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AxiosError } from 'axios';

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

export interface IdleDropProxy extends Closeable {
  connections: number;
  /** RSTs sent to clients whose connection had been forgotten. */
  resets: number;
  /** Forget every current connection now: its next packet gets an RST. */
  dropAllNow(): void;
}

/**
 * A firewall/NAT in front of `target`: it forgets a connection idle longer than
 * `idleMs` without telling either side, and answers the client's next packet with an RST.
 */
export async function startIdleDropProxy(target: number, idleMs: number): Promise<IdleDropProxy> {
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
        client.resetAndDestroy();
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

let certificate: { key: string; cert: string } | undefined;

/** A self-signed certificate for 127.0.0.1, made once per test process with openssl. */
export function testCertificate(): { key: string; cert: string } {
  if (certificate) return certificate;
  const dir = mkdtempSync(join(tmpdir(), 'arg-tls-'));
  try {
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=IP:127.0.0.1,DNS:localhost',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    certificate = {
      key: readFileSync(join(dir, 'key.pem'), 'utf8'),
      cert: readFileSync(join(dir, 'cert.pem'), 'utf8'),
    };
    return certificate;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface TlsServer extends Closeable {
  /** The certificate to trust (`ca`). */
  readonly ca: string;
  handshakeResets: number;
  hits: number;
}

/** HTTPS server that resets the first `resetHandshakeFirst` connections after their ClientHello. */
export async function startTlsServer(resetHandshakeFirst: number): Promise<TlsServer> {
  const { key, cert } = testCertificate();
  const state = { handshakeResets: 0, hits: 0, ca: cert };
  const secure = https.createServer({ key, cert }, (_req, res) => {
    state.hits += 1;
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ ok: true, n: state.hits }));
  });
  let accepted = 0;
  const front = net.createServer((socket) => {
    accepted += 1;
    if (accepted <= resetHandshakeFirst) {
      socket.once('data', () => {
        state.handshakeResets += 1;
        socket.resetAndDestroy();
      });
      return;
    }
    secure.emit('connection', socket);
  });
  const sockets = track(front);
  const base = await listen(front, sockets, 'https');
  return Object.assign(state, base, {
    close: async () => {
      await base.close();
      secure.close();
    },
  });
}

export const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** The error a request rejected with; fails the test when it resolved. */
export async function failure(promise: Promise<unknown>): Promise<AxiosError> {
  try {
    await promise;
  } catch (error) {
    return error as AxiosError;
  }
  throw new Error('expected the request to fail');
}
