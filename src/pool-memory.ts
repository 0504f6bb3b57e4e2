/**
 * What the guard knows about each connection pool (one agent pool name per origin and
 * TLS setting): when each socket went idle, what the server's Keep-Alive header asked,
 * which idle limits stale-socket resets taught, and how many stale resets each pool saw.
 * Socket-level facts live in WeakMaps keyed by the socket (they go with it); per-pool
 * facts live in one {@link PoolMemory} per guard.
 */
import type { Agent, IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/** When a socket last went back to its agent's pool, and under which pool name. */
export interface PoolStamp {
  /** `Date.now()` when it went free. */
  readonly since: number;
  /** The agent's pool name (`host:port:...`). */
  readonly pool: string;
  /** `socket.bytesRead` when it went free: if it has grown since, response bytes came in. */
  readonly bytesRead: number;
}

// Keyed by socket so entries go away with the sockets.
const stamps = new WeakMap<Socket, PoolStamp>();

/** The socket's idle stamp, if an agent the guard tracks put it in its free pool. */
export function stampOf(socket: Socket | null | undefined): PoolStamp | undefined {
  return socket ? stamps.get(socket) : undefined;
}

// --- Keep-Alive hints ---------------------------------------------------------------

/** A server's `Keep-Alive: timeout=N, max=M` response header, parsed. */
export interface KeepAliveHint {
  /** `timeout=N`: seconds the server keeps an idle connection. */
  readonly timeoutSeconds: number | undefined;
  /** `max=M`: requests the connection may still carry. */
  readonly max: number | undefined;
}

/** Parses a `Keep-Alive` header value; unknown or malformed parameters are ignored. */
export function parseKeepAlive(value: unknown): KeepAliveHint {
  let timeoutSeconds: number | undefined;
  let max: number | undefined;
  if (typeof value === 'string') {
    for (const part of value.split(',')) {
      const [key, raw] = part.split('=').map((x) => x.trim().toLowerCase());
      const n = raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
      if (key === 'timeout' && n !== undefined) timeoutSeconds = n;
      if (key === 'max' && n !== undefined) max = n;
    }
  }
  return { timeoutSeconds, max };
}

/**
 * How long a free socket may idle given the server's hint: one second under the
 * announced timeout (the margin undici and Node's own agent keep, for clock skew and a
 * request already in flight), never above the configured value. Node's agent already
 * refuses to reuse a socket whose hint is 1 s or less.
 */
export function hintedFreeSocketTimeout(configuredMs: number, timeoutSeconds: number | undefined): number {
  if (timeoutSeconds === undefined) return configuredMs;
  return Math.max(0, Math.min(configuredMs, timeoutSeconds * 1000 - 1000));
}

interface HintableSocket extends Duplex {
  _httpMessage?: { res?: IncomingMessage | null } | null;
}

const served = new WeakMap<Duplex, number>();
const hinted = new WeakMap<Duplex, number>();

/**
 * Notes the last response's Keep-Alive hint for a socket going back to the pool.
 * Returns false when the server's `max` says the socket must not be reused.
 */
export function noteHint(socket: HintableSocket, configuredMs: number): boolean {
  const count = (served.get(socket) ?? 0) + 1;
  served.set(socket, count);
  const hint = parseKeepAlive(socket._httpMessage?.res?.headers['keep-alive']);
  if (hint.timeoutSeconds === undefined) hinted.delete(socket);
  else hinted.set(socket, hintedFreeSocketTimeout(configuredMs, hint.timeoutSeconds));
  return hint.max === undefined || count < hint.max;
}

/** The free-socket timeout the last Keep-Alive hint asked of this socket, if any. */
export function hintOf(socket: Duplex): number | undefined {
  return hinted.get(socket);
}

// --- Learned idle limits ------------------------------------------------------------

/** Learned idle limits are never set below this: a far side that forgets faster is broken. */
export const LEARNED_FLOOR_MS = 250;

/**
 * The idle limit learned from a stale-socket reset after `idleMs` of idle: the far side
 * forgot the connection somewhere before that, so stay a quarter below it.
 */
export function learnedIdleLimit(idleMs: number): number {
  return Math.max(LEARNED_FLOOR_MS, Math.floor(idleMs * 0.75));
}

/** Where a pool's free-socket timeout comes from. */
export type TimeoutSource = 'default' | 'hint' | 'learned';

/** A pool's free-socket timeout now, and where it comes from. */
export interface PoolTimeout {
  /** Milliseconds a free socket may idle. */
  readonly ms: number;
  /** The option, the server's hint, or a learned limit. */
  readonly source: TimeoutSource;
}

/** One guard's per-pool knowledge. */
export class PoolMemory {
  /** Stale free sockets destroyed because a peer in their pool was found dead. */
  purgedSockets = 0;
  /** Last Keep-Alive hint seen per pool (the guard's own agents only). */
  private readonly hints = new Map<string, number>();
  /** Learned idle limit per pool; written on stale resets, applied when a socket goes free. */
  private readonly learned = new Map<string, number>();
  private readonly stale = new Map<string, number>();

  constructor(
    private readonly configuredMs: number,
    private readonly learn: boolean,
    private readonly now: () => number = Date.now,
  ) {}

  /**
   * Stamps every socket `agent` puts back in its free pool. On an agent the guard owns,
   * also notes the hint and applies the learned limit: this listener runs after
   * agentkeepalive's, so its socket timeout is the one that stands. Returns the undo.
   */
  track(agent: Agent, owned: boolean): () => void {
    const onFree = (socket: Socket, options: Parameters<Agent['getName']>[0]): void => {
      const pool = agent.getName(options);
      stamps.set(socket, { since: this.now(), pool, bytesRead: socket.bytesRead });
      if (owned) this.onOwnedFree(socket, pool);
    };
    agent.on('free', onFree);
    return () => {
      agent.off('free', onFree);
    };
  }

  private onOwnedFree(socket: Socket, pool: string): void {
    const hint = hintOf(socket);
    if (hint === undefined) this.hints.delete(pool);
    else this.hints.set(pool, hint);
    if (!this.learn) return;
    const limit = this.learned.get(pool);
    if (limit !== undefined && (socket.timeout === undefined || socket.timeout === 0 || socket.timeout > limit)) {
      socket.setTimeout(limit);
    }
  }

  /**
   * A socket of `agent`'s pool was found stale after `idleMs` idle: its peers that went
   * idle no later are destroyed (the far side has most likely forgotten them too), and,
   * with learning on, the pool's idle limit drops below what was seen.
   */
  onStaleSocket(agent: Agent, dead: PoolStamp, idleMs: number | undefined): void {
    this.stale.set(dead.pool, (this.stale.get(dead.pool) ?? 0) + 1);
    this.purgedSockets += purgeIdlePeers(agent, dead);
    if (idleMs === undefined || !this.learn) return;
    const limit = learnedIdleLimit(idleMs);
    this.learned.set(dead.pool, Math.min(limit, this.learned.get(dead.pool) ?? limit));
  }

  /** Pools the guard holds knowledge of. */
  pools(): Iterable<string> {
    return new Set([...this.learned.keys(), ...this.stale.keys()]);
  }

  /** The idle time a free socket of `pool` gets now, and where that value comes from. */
  freeSocketTimeoutOf(pool: string): PoolTimeout {
    let ms = this.configuredMs;
    let source: TimeoutSource = 'default';
    const hint = this.hints.get(pool);
    if (hint !== undefined && hint < ms) [ms, source] = [hint, 'hint'];
    const learned = this.learned.get(pool);
    if (learned !== undefined && learned < ms) [ms, source] = [learned, 'learned'];
    return { ms, source };
  }

  /** Attempts to `pool` that failed on a stale pooled socket. */
  staleResetsOf(pool: string): number {
    return this.stale.get(pool) ?? 0;
  }

  /** Learned limits by pool, frozen. */
  learnedLimits(): Readonly<Record<string, number>> {
    return Object.freeze(Object.fromEntries(this.learned));
  }
}

/** Destroys the free sockets of the dead socket's pool that went idle no later than it. */
function purgeIdlePeers(agent: Agent, dead: PoolStamp): number {
  const free = agent.freeSockets[dead.pool];
  if (!free) return 0;
  let purged = 0;
  for (const socket of [...free]) {
    const stamp = stamps.get(socket);
    if (stamp !== undefined && stamp.since <= dead.since) {
      socket.destroy();
      purged += 1;
    }
  }
  return purged;
}
