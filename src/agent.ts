import type { Agent, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import HttpAgent, { HttpsAgent, type HttpsOptions } from 'agentkeepalive';

/** A server's `Keep-Alive: timeout=N, max=M` response header, parsed. */
export interface KeepAliveHint {
  readonly timeoutSeconds: number | undefined;
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
 * Notes the last response's Keep-Alive hint for the socket going back to the pool.
 * Returns false when the server's `max` says the socket must not be reused.
 */
function applyHint(socket: HintableSocket, configuredMs: number): boolean {
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

type CalcSocketTimeout = (this: unknown, socket: Duplex) => number | undefined;

/**
 * agentkeepalive computes a free socket's timeout (its freeSocketTimeout, capped by the
 * socket's remaining lifetime) on every release; the hint only ever lowers that result.
 */
function withHint(base: CalcSocketTimeout, self: unknown, socket: Duplex): number | undefined {
  const computed = base.call(self, socket);
  const hint = hinted.get(socket);
  if (hint === undefined || computed === undefined || computed <= 0) return computed;
  return Math.min(computed, hint);
}

/** Either agentkeepalive class, by the one constructor shape both share. */
type AgentClass = new (options: HttpsOptions) => Agent;

/** Adds hint handling to an agentkeepalive agent class (one subclass recipe for HTTP and HTTPS). */
function withHints(Base: AgentClass, configuredMs: number): AgentClass {
  const baseCalc = (Base.prototype as unknown as { calcSocketTimeout: CalcSocketTimeout }).calcSocketTimeout;
  return class extends Base {
    override keepSocketAlive(socket: Duplex): boolean {
      const allowed = applyHint(socket, configuredMs);
      return (super.keepSocketAlive(socket) as unknown as boolean) && allowed;
    }

    calcSocketTimeout(socket: Duplex): number | undefined {
      return withHint(baseCalc, this, socket);
    }
  };
}

/**
 * A keep-alive agent as the guard creates it when the instance has none. With `hints`,
 * a server's `Keep-Alive: timeout=N, max=M` shortens that socket's idle time and caps
 * its reuse (agentkeepalive alone would keep `freeSocketTimeout` regardless).
 */
export function createAgent(
  protocol: 'http' | 'https',
  settings: {
    freeSocketTimeout: number;
    keepAliveHints: boolean;
    maxSockets: number;
    maxFreeSockets: number;
    socketLifetime: number;
  },
): HttpAgent | HttpsAgent {
  const { freeSocketTimeout, keepAliveHints: hints, maxSockets, maxFreeSockets, socketLifetime } = settings;
  // timeout 0: no active-socket timeout from the agent (agentkeepalive's default of 8 s
  // would kill slow responses); the request's own `timeout` option governs instead.
  const options = {
    keepAlive: true,
    freeSocketTimeout,
    timeout: 0,
    maxSockets,
    maxFreeSockets,
    ...(socketLifetime > 0 ? { socketActiveTTL: socketLifetime } : {}),
  };
  const Base: AgentClass = protocol === 'http' ? HttpAgent : HttpsAgent;
  const Agent = hints ? withHints(Base, freeSocketTimeout) : Base;
  return new Agent(options) as HttpAgent | HttpsAgent;
}

/** Socket counts of one agent, from `guard.stats().agents`. */
export interface AgentStatus {
  /** Sockets the agent opened (agentkeepalive agents only; 0 for others). */
  readonly createdSockets: number;
  /** Sockets closed (agentkeepalive agents only). */
  readonly closedSockets: number;
  /** Sockets closed after an error (agentkeepalive agents only). */
  readonly erroredSockets: number;
  /** Free sockets closed by the free-socket timeout (agentkeepalive agents only). */
  readonly timedOutSockets: number;
  /** Sockets carrying a request now. */
  readonly activeSockets: number;
  /** Idle sockets waiting in the pool for reuse. */
  readonly freeSockets: number;
  /** Requests queued for a socket (when `maxSockets` is reached). */
  readonly pendingRequests: number;
}

const total = (pools: NodeJS.ReadOnlyDict<readonly unknown[]>): number =>
  Object.values(pools).reduce((sum, list) => sum + (list?.length ?? 0), 0);

interface KeepAliveCounters {
  createSocketCount?: number;
  closeSocketCount?: number;
  errorSocketCount?: number;
  timeoutSocketCount?: number;
}

export function agentStatus(agent: Agent): AgentStatus {
  const counters = agent as Agent & KeepAliveCounters;
  return Object.freeze({
    createdSockets: counters.createSocketCount ?? 0,
    closedSockets: counters.closeSocketCount ?? 0,
    erroredSockets: counters.errorSocketCount ?? 0,
    timedOutSockets: counters.timeoutSocketCount ?? 0,
    activeSockets: total(agent.sockets),
    freeSockets: total(agent.freeSockets),
    pendingRequests: total(agent.requests),
  });
}

/** Learned idle limits are never set below this: a far side that forgets faster is broken. */
export const LEARNED_FLOOR_MS = 250;

/**
 * The idle limit learned from a stale-socket reset after `idleMs` of idle: the far side
 * forgot the connection somewhere before that, so stay a quarter below it.
 */
export function learnedIdleLimit(idleMs: number): number {
  return Math.max(LEARNED_FLOOR_MS, Math.floor(idleMs * 0.75));
}
