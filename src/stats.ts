/** `guard.stats()`: a frozen snapshot of the counters, the budget, the agents and the pools. */
import type { Agent } from 'node:http';
import { agentStatus, type AgentStatus } from './agent';
import type { BudgetStats } from './budget';
import type { GuardContext } from './context';
import { RESET_KINDS, type FailureKind, type ResetKind } from './kinds';
import type { TimeoutSource } from './pool-memory';

/** Counters of one guard, from `guard.stats()`. */
export interface GuardStats {
  /** Logical requests sent through the guard. */
  readonly requests: number;
  /** Attempts sent (first tries and retries). */
  readonly attempts: number;
  /** Retries sent after a failed attempt (counted once the wait is over and the retry goes out). */
  readonly retries: number;
  /** Requests that succeeded after at least one retry. */
  readonly recovered: number;
  /** Requests that ended with a transient failure the guard could not (or must not) retry further. */
  readonly gaveUp: number;
  /** Failed attempts by reset kind. */
  readonly resets: Readonly<Record<ResetKind, number>>;
  /** Failed attempts by every kind (resets included). */
  readonly failures: Readonly<Record<FailureKind, number>>;
  /** Stale free sockets destroyed because a socket of the same pool, idle no longer, was found dead. */
  readonly purgedSockets: number;
  /** Idle limits learned from stale-socket resets, in ms, by agent pool (origin). */
  readonly learnedIdleLimits: Readonly<Record<string, number>>;
  /** Per origin, keyed by the agent's pool name (`host:port:...`). */
  readonly origins: Readonly<Record<string, OriginStats>>;
  /** Socket counts of the agents in use (`guard.agents`); `undefined` where there is none. */
  readonly agents: {
    /** The agent for `http:` requests. */
    readonly http: AgentStatus | undefined;
    /** The agent for `https:` requests. */
    readonly https: AgentStatus | undefined;
  };
  /** The retry budget (`undefined` when `retryBudget` is false). */
  readonly budget: BudgetStats | undefined;
}

/** One origin's entry in `guard.stats().origins`. */
export interface OriginStats {
  /** Idle sockets to this origin waiting in the pool for reuse. */
  readonly freeSockets: number;
  /** Sockets to this origin carrying a request now. */
  readonly activeSockets: number;
  /** The idle time a free socket to this origin gets now, on the guard's agents. */
  readonly freeSocketTimeout: number;
  /** Where that value comes from: the option, the server's Keep-Alive hint, or a learned limit. */
  readonly freeSocketTimeoutSource: TimeoutSource;
  /** Attempts to this origin that failed on a stale pooled socket. */
  readonly staleResets: number;
}

/** The agents a guard uses, by protocol. */
export interface GuardAgents {
  /** The agent for `http:` requests, if any. */
  readonly http: Agent | undefined;
  /** The agent for `https:` requests, if any. */
  readonly https: Agent | undefined;
}

function originStats(ctx: GuardContext, agents: GuardAgents): Record<string, OriginStats> {
  const count = (pools: NodeJS.ReadOnlyDict<readonly unknown[]>, name: string): number => pools[name]?.length ?? 0;
  const live = [agents.http, agents.https].filter((a): a is Agent => a !== undefined);
  const names = new Set<string>([
    ...live.flatMap((a) => [...Object.keys(a.freeSockets), ...Object.keys(a.sockets)]),
    ...ctx.pools.pools(),
  ]);
  const out: Record<string, OriginStats> = {};
  for (const name of names) {
    const timeout = ctx.pools.freeSocketTimeoutOf(name);
    out[name] = Object.freeze({
      freeSockets: live.reduce((n, a) => n + count(a.freeSockets, name), 0),
      activeSockets: live.reduce((n, a) => n + count(a.sockets, name), 0),
      freeSocketTimeout: timeout.ms,
      freeSocketTimeoutSource: timeout.source,
      staleResets: ctx.pools.staleResetsOf(name),
    });
  }
  return out;
}

export function snapshot(ctx: GuardContext, agents: GuardAgents): GuardStats {
  const { counters } = ctx;
  const failures = Object.freeze({ ...counters.failures });
  const resets = {} as Record<ResetKind, number>;
  for (const kind of RESET_KINDS) resets[kind] = failures[kind];
  return Object.freeze({
    requests: counters.requests,
    attempts: counters.attempts,
    retries: counters.retries,
    recovered: counters.recovered,
    gaveUp: counters.gaveUp,
    resets: Object.freeze(resets),
    failures,
    purgedSockets: ctx.pools.purgedSockets,
    learnedIdleLimits: ctx.pools.learnedLimits(),
    origins: Object.freeze(originStats(ctx, agents)),
    agents: Object.freeze({
      http: agents.http === undefined ? undefined : agentStatus(agents.http),
      https: agents.https === undefined ? undefined : agentStatus(agents.https),
    }),
    budget: ctx.budget?.stats(),
  });
}
