/**
 * Chaos on 127.0.0.1 (port 0): a TCP proxy that injects resets, driven by a seeded
 * generator, in front of a small HTTP "ledger" server that can tell whether a POST was
 * applied twice. Every starter returns `close()`, which destroys every socket it holds.
 */
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import net, { type Socket } from 'node:net';
import { listen, track, type Closeable } from './net';
import { seededRandom } from './random';

/** The faults the chaos proxy injects. */
export type ChaosFault =
  /** (a) the client's request bytes arrive: RST at once, nothing is forwarded upstream. */
  | 'resetBeforeRequest'
  /** (b) the request is forwarded; the response headers and part of the body go back, then RST. */
  | 'resetMidResponse'
  /** (c) a kept-alive connection idle for at least `idleMs` gets request bytes: RST (a forgotten flow). */
  | 'resetAfterIdle';

export const CHAOS_FAULTS: readonly ChaosFault[] = ['resetBeforeRequest', 'resetMidResponse', 'resetAfterIdle'];

/** Seed of connection `index` (0-based, in accept order), derived from the run's seed. */
function connectionSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b9)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/** What the proxy does with one request exchange on a connection. */
export interface ChaosDecision {
  /** This exchange is faulted. */
  readonly fault: boolean;
  /**
   * The fault when the connection is fresh or was not idle long: (a) or (b). A faulted
   * exchange that arrives on a kept-alive connection idle >= `idleMs` is always (c).
   */
  readonly kind: 'resetBeforeRequest' | 'resetMidResponse';
}

/**
 * The decisions of one connection, exchange after exchange: a pure function of the seed
 * and the connection's accept index, so a run's choices can be replayed. Each exchange
 * draws exactly two numbers, whatever it decides.
 */
export function chaosPlan(seed: number, index: number, rate: number): () => ChaosDecision {
  const random = seededRandom(connectionSeed(seed, index));
  return () => {
    const fault = random() < rate;
    const kind = random() < 0.5 ? 'resetBeforeRequest' : 'resetMidResponse';
    return { fault, kind };
  };
}

export interface ChaosProxyOptions {
  /** Port of the upstream HTTP server on 127.0.0.1. */
  readonly target: number;
  /** Seed of every choice the proxy makes. */
  readonly seed: number;
  /** Probability that a request exchange is faulted. @default 0.1 */
  readonly rate?: number;
  /** A faulted exchange on a kept-alive connection idle this long is a stale-flow reset (c). @default 50 */
  readonly idleMs?: number;
}

export interface ChaosProxy extends Closeable {
  readonly seed: number;
  readonly rate: number;
  readonly idleMs: number;
  /** Client connections accepted. */
  readonly connections: number;
  /** Request exchanges seen (first request bytes on a connection, and each later request on it). */
  readonly exchanges: number;
  /** Faults injected, per kind. */
  readonly faults: Readonly<Record<ChaosFault, number>>;
  /** Sockets still open, both sides (client connections and their upstream connections). */
  openSockets(): Socket[];
}

/**
 * A TCP proxy in front of `target` that resets about `rate` of the request exchanges.
 *
 * An exchange starts when request bytes arrive on a connection that is new or has
 * already received response bytes (Node's HTTP client never pipelines). The connection's
 * own generator decides, in order, for each of its exchanges: no fault, (a) or (b); a
 * faulted exchange on a kept-alive connection that has been idle (no byte either way)
 * for at least `idleMs` becomes (c). A connection that was never reused carries one
 * exchange, so on fresh connections `rate` is the rate of faulted connections.
 */
export async function startChaosProxy(options: ChaosProxyOptions): Promise<ChaosProxy> {
  const rate = options.rate ?? 0.1;
  const idleMs = options.idleMs ?? 50;
  const { seed, target } = options;
  const faults: Record<ChaosFault, number> = { resetBeforeRequest: 0, resetMidResponse: 0, resetAfterIdle: 0 };
  const counts = { connections: 0, exchanges: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const own = (socket: Socket): Socket => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    return socket;
  };

  const server = net.createServer((client) => {
    own(client);
    const next = chaosPlan(seed, counts.connections, rate);
    counts.connections += 1;
    let upstream: Socket | undefined;
    let phase: 'new' | 'request' | 'response' = 'new';
    let exchanges = 0;
    let lastByteAt = Date.now();
    let cut: Buffer[] | undefined; // the response being held back for a mid-response reset
    let dead = false;

    const reset = (): void => {
      dead = true;
      upstream?.destroy();
      if (!client.destroyed) client.resetAndDestroy();
    };
    const connectUpstream = (): Socket => {
      const socket = own(net.connect(target, '127.0.0.1'));
      socket.on('data', (chunk: Buffer) => {
        if (dead) return;
        lastByteAt = Date.now();
        phase = 'response';
        if (cut === undefined) {
          client.write(chunk);
          return;
        }
        cut.push(chunk);
        const held = Buffer.concat(cut);
        const headEnd = held.indexOf('\r\n\r\n');
        const bodyBytes = headEnd < 0 ? 0 : held.length - (headEnd + 4);
        if (bodyBytes < 2) return; // wait for the whole head and at least two body bytes
        // Headers and half the body bytes that arrived, then RST once they have left.
        dead = true;
        cut = undefined;
        faults.resetMidResponse += 1;
        socket.destroy();
        client.write(held.subarray(0, headEnd + 4 + Math.floor(bodyBytes / 2)), () => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            if (!client.destroyed) client.resetAndDestroy();
          }, 5);
          timers.add(timer);
        });
      });
      socket.on('end', () => {
        if (!dead) client.end();
      });
      socket.on('error', () => client.destroy());
      return socket;
    };

    client.on('data', (chunk: Buffer) => {
      if (dead) return;
      if (phase !== 'request') {
        const reused = exchanges > 0;
        const idle = Date.now() - lastByteAt;
        exchanges += 1;
        counts.exchanges += 1;
        phase = 'request';
        const decision = next();
        if (decision.fault) {
          if (reused && idle >= idleMs) {
            faults.resetAfterIdle += 1;
            reset();
            return;
          }
          if (decision.kind === 'resetBeforeRequest') {
            faults.resetBeforeRequest += 1;
            reset();
            return;
          }
          cut = [];
        }
      }
      lastByteAt = Date.now();
      upstream ??= connectUpstream();
      upstream.write(chunk);
    });
    client.on('end', () => upstream?.end());
    client.on('error', () => upstream?.destroy());
    client.on('close', () => upstream?.destroy());
  });

  // `sockets` holds both sides (own()), so closing the listener destroys upstreams too.
  const base = await listen(server, sockets);
  return {
    port: base.port,
    url: base.url,
    seed,
    rate,
    idleMs,
    get connections() {
      return counts.connections;
    },
    get exchanges() {
      return counts.exchanges;
    },
    faults,
    openSockets: () => [...sockets],
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return base.close();
    },
  };
}

export interface LedgerServer extends Closeable {
  /** POST body id -> how many times it was applied. One small number per id, no bodies kept. */
  readonly applied: ReadonlyMap<number, number>;
  /** Requests whose handler ran, per method. */
  readonly hits: Readonly<Record<'GET' | 'PUT' | 'POST' | 'other', number>>;
  /** POSTs answered from the idempotency-key record without being applied again. */
  readonly replays: number;
  /** The largest count in `applied` (0 when empty). */
  maxApplied(): number;
  openSockets(): number;
}

const MAX_BODY = 16 * 1024;

/** Reads a small JSON body; `undefined` when it is too large, not JSON, or the request broke. */
function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => {
      if (size > MAX_BODY) return resolve(undefined);
      try {
        resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
      } catch {
        resolve(undefined);
      }
    });
    req.on('error', () => resolve(undefined));
  });
}

const send = (res: ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
};

/**
 * An HTTP server with three operations:
 * - `GET /value/:key` returns `{ key, value }` (`null` when never set);
 * - `PUT /value/:key` with `{ value }` sets it (idempotent) and returns `{ key, value }`;
 * - `POST /ledger` with `{ id }` applies the id (counts it in `applied`), then answers 201
 *   `{ id, applied }`. A POST carrying an `Idempotency-Key` header already applied is
 *   answered again without applying it (counted in `replays`).
 */
export async function startLedgerServer(): Promise<LedgerServer> {
  const values = new Map<string, unknown>();
  const applied = new Map<number, number>();
  const keys = new Map<string, number>();
  const hits = { GET: 0, PUT: 0, POST: 0, other: 0 };
  const state = { replays: 0 };

  const server = http.createServer((req, res) => {
    const url = req.url ?? '/';
    const key = /^\/value\/([\w-]{1,64})$/.exec(url)?.[1];
    if (req.method === 'GET' && key !== undefined) {
      hits.GET += 1;
      req.resume();
      send(res, 200, { key, value: values.get(key) ?? null });
      return;
    }
    if (req.method === 'PUT' && key !== undefined) {
      hits.PUT += 1;
      void readJson(req).then((body) => {
        if (typeof body !== 'object' || body === null || !('value' in body)) return send(res, 400, { error: 'value' });
        values.set(key, body.value);
        send(res, 200, { key, value: body.value });
      });
      return;
    }
    if (req.method === 'POST' && url === '/ledger') {
      hits.POST += 1;
      const idempotencyKey = req.headers['idempotency-key'];
      void readJson(req).then((body) => {
        const id = typeof body === 'object' && body !== null && 'id' in body ? body.id : undefined;
        if (typeof id !== 'number' || !Number.isSafeInteger(id)) return send(res, 400, { error: 'id' });
        if (typeof idempotencyKey === 'string' && keys.has(idempotencyKey)) {
          state.replays += 1;
          return send(res, 201, { id: keys.get(idempotencyKey), applied: applied.get(id) ?? 0, replayed: true });
        }
        const count = (applied.get(id) ?? 0) + 1;
        applied.set(id, count);
        if (typeof idempotencyKey === 'string') keys.set(idempotencyKey, id);
        send(res, 201, { id, applied: count });
      });
      return;
    }
    hits.other += 1;
    req.resume();
    send(res, 404, { error: 'not found' });
  });
  server.keepAliveTimeout = 60_000;
  const sockets = track(server);
  const base = await listen(server, sockets);
  return {
    port: base.port,
    url: base.url,
    close: () => base.close(),
    applied,
    hits,
    get replays() {
      return state.replays;
    },
    maxApplied: () => {
      let max = 0;
      for (const count of applied.values()) max = Math.max(max, count);
      return max;
    },
    openSockets: () => sockets.size,
  };
}
