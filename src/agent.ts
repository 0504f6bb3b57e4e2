/**
 * The keep-alive agents the guard creates when an instance has none: agentkeepalive,
 * taught to obey the server's Keep-Alive hints, and their socket counts for `stats()`.
 */
import http, { type Agent, type ClientRequest } from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import HttpAgent, { HttpsAgent, type HttpsOptions } from 'agentkeepalive';
import { calcSocketTimeoutOf, onSocketFree, type CalcSocketTimeout } from './foreign';
import { hintOf, noteHint } from './keep-alive';
import { watchIdleTimer } from './stamps';

/**
 * agentkeepalive computes a free socket's timeout (its freeSocketTimeout, capped by the
 * socket's remaining lifetime) on every release; the hint only ever lowers that result.
 */
function withHint(base: CalcSocketTimeout, self: unknown, socket: Duplex): number | undefined {
  const computed = base.call(self, socket);
  const hint = hintOf(socket);
  if (hint === undefined || computed === undefined || computed <= 0) return computed;
  return Math.min(computed, hint);
}

/** Either agentkeepalive class, by the one constructor shape both share. */
type AgentClass = new (options: HttpsOptions) => Agent;

/** Adds hint handling to an agentkeepalive agent class (one subclass recipe for HTTP and HTTPS). */
function withHints(Base: AgentClass, configuredMs: number): AgentClass {
  const baseCalc = calcSocketTimeoutOf(Base);
  return class extends Base {
    constructor(options: HttpsOptions) {
      super(options);
      // Ahead of Node's own 'free' handler, which hands a freed socket straight to a queued
      // request without asking keepSocketAlive: a socket the server gave `max=0` carries no more.
      onSocketFree(
        this,
        (socket) => {
          if (!noteHint(socket, configuredMs)) socket.destroy();
        },
        { first: true },
      );
    }

    // overrides the method calcSocketTimeoutOf reads
    calcSocketTimeout(socket: Duplex): number | undefined {
      return withHint(baseCalc, this, socket);
    }
  };
}

/** Watches every socket the agent creates for its idle timer firing (see `idleTimerFired`). */
function withIdleTimerWatch(Base: AgentClass): AgentClass {
  return class extends Base {
    override createConnection(
      options: unknown,
      created: (error: Error | null, socket?: Duplex) => void,
    ): Duplex | undefined {
      const create = (Base.prototype as unknown as { createConnection: Agent['createConnection'] }).createConnection;
      // agentkeepalive calls `created` once, for a socket made at once or later
      return create.call(this, options as never, (error: Error | null, socket?: Duplex) => {
        if (socket !== undefined) watchIdleTimer(socket as Socket);
        created(error, socket);
      }) as Duplex | undefined;
    }
  };
}

/** Called when the agent hands a pooled socket to a request. */
export type OnReuse = (socket: Socket, request: ClientRequest) => void;

/** Adds a hook on socket reuse (where a request meets a socket that sat idle in the pool). */
function withReuseHook(Base: AgentClass, onReuse: OnReuse): AgentClass {
  return class extends Base {
    override reuseSocket(socket: Socket, request: ClientRequest): void {
      super.reuseSocket(socket, request);
      onReuse(socket, request);
    }
  };
}

/**
 * A keep-alive agent as the guard creates it when the instance has none. With `hints`,
 * a server's `Keep-Alive: timeout=N, max=M` shortens that socket's idle time and caps
 * its reuse (agentkeepalive alone would keep `freeSocketTimeout` regardless); `onReuse`
 * sees every request that gets a pooled socket.
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
  onReuse?: OnReuse,
  inherited: Readonly<Record<string, unknown>> = {},
): HttpAgent | HttpsAgent {
  const { freeSocketTimeout, keepAliveHints: hints, maxSockets, maxFreeSockets, socketLifetime } = settings;
  // timeout 0: no active-socket timeout from the agent (agentkeepalive's default of 8 s
  // would kill slow responses); the request's own `timeout` option governs instead.
  const options = {
    ...inherited,
    keepAlive: true,
    freeSocketTimeout,
    timeout: 0,
    maxSockets,
    maxFreeSockets,
    ...(socketLifetime > 0 ? { socketActiveTTL: socketLifetime } : {}),
  };
  const Base: AgentClass = protocol === 'http' ? HttpAgent : HttpsAgent;
  const Watched = withIdleTimerWatch(Base);
  const Hinted = hints ? withHints(Watched, freeSocketTimeout) : Watched;
  const Agent = onReuse === undefined ? Hinted : withReuseHook(Hinted, onReuse);
  return new Agent(options) as HttpAgent | HttpsAgent;
}

// What an agent's options say about pooling: the guard's own settings decide these.
const POOLING = new Set([
  'keepAlive',
  'keepAliveMsecs',
  'maxSockets',
  'maxFreeSockets',
  'maxTotalSockets',
  'scheduling',
  'timeout',
  'freeSocketTimeout',
  'socketActiveTTL',
  'noDelay',
  'path',
]);

/**
 * What plain axios would have used for `protocol` when an instance has no agent of its
 * own: Node's global agent. A replaced one of another class (a proxy agent, a custom
 * subclass), or one with a method patched on it, is adopted as it is; Node's own keeps its connection settings (`ca`,
 * `rejectUnauthorized`, client certificates, `lookup`, `family`, ...), which the guard's
 * agent takes over (read once, at attach).
 */
export function globalAgentOf(
  protocol: 'http' | 'https',
): { adopt: Agent } | { inherit: Readonly<Record<string, unknown>> } {
  const [global, NodeAgent] = protocol === 'http' ? [http.globalAgent, http.Agent] : [https.globalAgent, https.Agent];
  // Another class, or Node's own with a method patched on the instance (cacheable-lookup's
  // way): its behaviour is more than its options, so it is used as it is.
  const patched = Object.values(global).some((value) => typeof value === 'function');
  if (Object.getPrototypeOf(global) !== NodeAgent.prototype || patched) return { adopt: global };
  const inherit: Record<string, unknown> = {};
  const options = (global as Agent & { options?: Record<string, unknown> }).options ?? {};
  for (const [key, value] of Object.entries(options))
    if (!POOLING.has(key) && value !== undefined) inherit[key] = value;
  return { inherit };
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

/**
 * Retires an agent the guard created, without cutting what it carries: its idle sockets
 * close now, each request in flight finishes, and its socket closes when it goes free
 * (Node's agent destroys a freed socket while `keepAlive` is off). Requests still queued
 * on it get a socket as others free up, as before.
 */
export function retireAgent(agent: Agent): void {
  (agent as Agent & { keepAlive: boolean }).keepAlive = false;
  for (const sockets of Object.values(agent.freeSockets)) for (const socket of [...(sockets ?? [])]) socket.destroy();
}
