/**
 * One in-process server per real cause of ECONNRESET (idle drops, idle closes, overload,
 * restarts, mid-body and TLS resets, outages). The demo runs its scenarios against them;
 * tests use them too. Random faults come from a seed, so every client meets the same pattern.
 */
import http from 'node:http';
import https from 'node:https';
import net, { type Socket } from 'node:net';
import { listen, pause, startIdleDropProxy, track, type Closeable } from './net';
import { seededRandom } from './random';
import { testCertificate } from './tls';

export interface Target {
  readonly url: string;
  /** CA to trust, for the TLS scenario. */
  readonly ca?: string;
  /** Hook run at a given point of the traffic (the restart scenario). */
  readonly during?: { readonly atMs: number; run(): Promise<void> };
  close(): Promise<void>;
}

const BODY = JSON.stringify({ ok: true, items: Array.from({ length: 20 }, (_, i) => ({ id: i, name: `item-${i}` })) });

function reply(res: http.ServerResponse): void {
  res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
  res.end(BODY);
}

/** Listens on 127.0.0.1 (a free port unless given); `close()` destroys every accepted socket. */
function serve(server: net.Server, port = 0): Promise<Closeable> {
  return listen(server, track(server), 'http', port);
}

/** A plain server; `onRequest` may take over the socket to misbehave. */
export async function plainServer(
  options: {
    keepAliveTimeout?: number;
    onRequest?: (req: http.IncomingMessage, res: http.ServerResponse) => boolean;
  } = {},
): Promise<Closeable> {
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      if (options.onRequest?.(req, res) !== true) reply(res);
    });
  });
  server.keepAliveTimeout = options.keepAliveTimeout ?? 60_000;
  return serve(server);
}

/**
 * 1. A box in the path that forgets connections idle longer than idleMs without a FIN,
 * and answers the next packet with an RST; with `silent`, it drops that packet and every
 * later one instead (a black hole).
 */
export async function idleDropFirewall(idleMs: number, silent = false): Promise<Target> {
  const origin = await plainServer();
  const proxy = await startIdleDropProxy(origin.port, idleMs, silent);
  return { url: proxy.url, close: async () => void (await Promise.all([proxy.close(), origin.close()])) };
}

/**
 * 2. A server closing idle keep-alive connections at its own timeout, without a
 * `Keep-Alive: timeout` hint (as nginx, Go and most load balancers do): a FIN after idleMs.
 * With `keepAliveHint`, it sends that `Keep-Alive` header all the same (Apache's way; a
 * hint that need not match the close).
 */
export async function idleClosingServer(idleMs: number, keepAliveHint?: string): Promise<Target> {
  const timers = new Map<Socket, NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    const socket = req.socket;
    clearTimeout(timers.get(socket));
    if (keepAliveHint !== undefined) res.setHeader('keep-alive', keepAliveHint);
    req.resume();
    req.on('end', () => reply(res));
    res.on('finish', () =>
      timers.set(
        socket,
        setTimeout(() => socket.end(), idleMs),
      ),
    );
  });
  server.keepAliveTimeout = 0; // no hint; the idle close above is the server's policy
  server.on('connection', (s: Socket) => s.on('close', () => clearTimeout(timers.get(s))));
  const base = await serve(server);
  return {
    url: base.url,
    close: async () => {
      for (const t of timers.values()) clearTimeout(t);
      await base.close();
    },
  };
}

/** 3. An overloaded server that resets a share of new connections at once. */
export async function overloadedServer(share: number, seed: number): Promise<Target> {
  const random = seededRandom(seed);
  const s = await plainServer();
  const front = net.createServer((socket) => {
    if (random() < share) {
      socket.once('data', () => socket.resetAndDestroy());
      return;
    }
    const upstream = net.connect(s.port, '127.0.0.1');
    socket.pipe(upstream).pipe(socket);
    socket.on('error', () => upstream.destroy());
    upstream.on('error', () => socket.destroy());
    socket.on('close', () => upstream.destroy());
  });
  const base = await serve(front);
  return { url: base.url, close: async () => void (await Promise.all([base.close(), s.close()])) };
}

/** 4. A server restart: open connections reset, then refused for downMs, then back on the same port. */
export async function restartingServer(atMs: number, downMs: number): Promise<Target> {
  let server = http.createServer((req, res) => req.resume().on('end', () => reply(res)));
  let base = await serve(server);
  const { port } = base;
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  return {
    url: base.url,
    during: {
      atMs,
      run: async () => {
        for (const s of sockets) if (!s.destroyed) s.resetAndDestroy();
        await base.close();
        await pause(downMs);
        server = http.createServer((req, res) => req.resume().on('end', () => reply(res)));
        server.keepAliveTimeout = 60_000;
        base = await serve(server, port);
      },
    },
    close: () => base.close(),
  };
}

/** 5. A server that resets a share of responses half-way through the body. */
export async function midBodyResetServer(share: number, seed: number): Promise<Target> {
  const random = seededRandom(seed);
  const s = await plainServer({
    onRequest: (_req, res) => {
      if (random() >= share) return false;
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(BODY) });
      res.write(BODY.slice(0, BODY.length / 2));
      setTimeout(() => res.socket?.resetAndDestroy(), 5);
      return true;
    },
  });
  return { url: s.url, close: () => s.close() };
}

/** 6. A TLS server that resets a share of handshakes; it closes every connection after one response. */
export async function tlsHandshakeResetServer(share: number, seed: number): Promise<Target> {
  const random = seededRandom(seed);
  const { key, cert } = testCertificate();
  const secure = https.createServer({ key, cert }, (req, res) => {
    req.resume();
    req.on('end', () => {
      res.setHeader('connection', 'close');
      reply(res);
    });
  });
  const front = net.createServer((socket) => {
    if (random() < share) {
      socket.once('data', () => socket.resetAndDestroy());
      return;
    }
    secure.emit('connection', socket);
  });
  const base = await listen(front, track(front), 'https');
  return {
    url: base.url,
    ca: cert,
    close: async () => {
      await base.close();
      secure.close();
    },
  };
}

/** 8. An outage: every connection is reset as soon as the request arrives. */
export async function resettingServer(): Promise<Target> {
  const s = await plainServer({
    onRequest: (req) => {
      req.socket.resetAndDestroy();
      return true;
    },
  });
  return { url: s.url, close: () => s.close() };
}
