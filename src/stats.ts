/** `guard.stats()`: a frozen snapshot of the counters, the agents and the origin memory. */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { agentStatus, type AgentStatus } from './agent';
import type { BudgetStats } from './budget';
import type { GuardContext } from './context';
import { RESET_KINDS, type FailureKind, type ResetKind } from './kinds';
import type { Http2Stats, TimeoutSource } from './origin-facts';

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
  /**
   * Failed attempts by reset kind: the {@link RESET_KINDS} entries of `failures`, the very
   * same counts (`resets['stale-socket'] === failures['stale-socket']`), apart for a
   * dashboard that charts resets only. Not a second count, and not requests: a request
   * resent after two resets adds 2 here and 1 to `recovered` (or `gaveUp`).
   */
  readonly resets: Readonly<Record<ResetKind, number>>;
  /**
   * Failed attempts by every kind, resets included: each failed attempt counts once under
   * its kind, whether or not it was retried (a 404 counts under `http-status`). Requests
   * that ended on a transient failure are counted apart, in `gaveUp`.
   */
  readonly failures: Readonly<Record<FailureKind, number>>;
  /** Stale free sockets destroyed because a socket of the same pool, idle no longer, was found dead. */
  readonly purgedSockets: number;
  /** Idle limits learned from stale-socket resets and standing now, in ms, by origin. */
  readonly learnedIdleLimits: Readonly<Record<string, number>>;
  /**
   * Per origin (`https://host:443`: never a pool name, which may hold TLS keys), for the
   * origins with sockets in the guard's agents and those the guard remembers facts of.
   */
  readonly origins: Readonly<Record<string, OriginStats>>;
  /** Socket counts of the agents in use (`guard.agents`); `undefined` where there is none. */
  readonly agents: {
    /** The agent for `http:` requests. */
    readonly http: AgentStatus | undefined;
    /** The agent for `https:` requests. */
    readonly https: AgentStatus | undefined;
  };
  /** The retry budgets, all origins together (`undefined` when `retryBudget` is false). */
  readonly budget: BudgetSummary | undefined;
}

/** `guard.stats().budget`: every origin has a bucket of its own; this sums them up. */
export interface BudgetSummary {
  /** Tokens in each origin's full bucket. */
  readonly capacity: number;
  /** Retries refused for want of tokens, all origins together. */
  readonly refused: number;
  /** Origins whose bucket cannot pay for a retry now (see `origins[...].budget`). */
  readonly exhausted: readonly string[];
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
  /**
   * Attempts to this origin that failed on a stale pooled socket of an agent the guard
   * tracks (the socket's origin known); `resets['stale-socket']` counts them for every origin.
   */
  readonly staleResets: number;
  /** `Date.now()` of the last stale reset at this origin, if any (a timestamp to show; no duration reads it). */
  readonly lastResetAt: number | undefined;
  /**
   * `Date.now()` when the idle limit standing now was learned (or confirmed), if one stands: a
   * timestamp to show, while the limit's recovery is timed on the monotonic clock.
   */
  readonly lastLearnedAt: number | undefined;
  /** This origin's retry budget, once a failed attempt has used it (until then it is full). */
  readonly budget: BudgetStats | undefined;
  /**
   * What the guard saw of this origin over HTTP/2 (axios's `httpVersion: 2`), if it was
   * reached that way: axios's own sessions, not the guard's agents, carry those requests.
   */
  readonly http2?: Http2Stats | undefined;
}

/** The agents a guard uses, by protocol. */
export interface GuardAgents {
  /** The agent for `http:` requests, if any. */
  readonly http: Agent | undefined;
  /** The agent for `https:` requests, if any. */
  readonly https: Agent | undefined;
}

/** `{ http2 }` for an origin reached over HTTP/2, nothing for the others. */
function http2Of(ctx: GuardContext, origin: string): { http2?: Http2Stats } {
  const http2 = ctx.http2.statsOf(origin);
  return http2 === undefined ? {} : { http2 };
}

function originStats(ctx: GuardContext, agents: GuardAgents): Record<string, OriginStats> {
  const live = [agents.http, agents.https].filter((a): a is Agent => a !== undefined);
  const sockets = new Map<string, { free: number; active: number }>();
  const add = (pools: NodeJS.ReadOnlyDict<readonly Socket[]>, free: boolean): void => {
    for (const list of Object.values(pools)) {
      const origin = ctx.origins.originOfPool(list);
      const counts = sockets.get(origin) ?? { free: 0, active: 0 };
      if (free) counts.free += list?.length ?? 0;
      else counts.active += list?.length ?? 0;
      sockets.set(origin, counts);
    }
  };
  for (const agent of live) {
    add(agent.freeSockets, true);
    add(agent.sockets, false);
  }
  const out: Record<string, OriginStats> = {};
  for (const origin of new Set([...sockets.keys(), ...ctx.origins.origins(), ...ctx.http2.origins()])) {
    const facts = ctx.origins.factsOf(origin);
    out[origin] = Object.freeze({
      freeSockets: sockets.get(origin)?.free ?? 0,
      activeSockets: sockets.get(origin)?.active ?? 0,
      freeSocketTimeout: facts.timeout.ms,
      freeSocketTimeoutSource: facts.timeout.source,
      staleResets: facts.staleResets,
      lastResetAt: facts.lastResetAt,
      lastLearnedAt: facts.lastLearnedAt,
      budget: facts.budget,
      ...http2Of(ctx, origin),
    });
  }
  return out;
}

function budgetSummary(ctx: GuardContext, origins: Readonly<Record<string, OriginStats>>): BudgetSummary | undefined {
  const sizes = ctx.options.retryBudget;
  if (sizes === false) return undefined;
  const exhausted = Object.entries(origins)
    .filter(([, o]) => o.budget !== undefined && o.budget.tokens < sizes.retryCost)
    .map(([origin]) => origin);
  return Object.freeze({
    capacity: sizes.capacity,
    refused: ctx.counters.budgetRefused,
    exhausted: Object.freeze(exhausted),
  });
}

export function snapshot(ctx: GuardContext, agents: GuardAgents): GuardStats {
  const { counters } = ctx;
  const failures = Object.freeze({ ...counters.failures });
  const resets = {} as Record<ResetKind, number>;
  for (const kind of RESET_KINDS) resets[kind] = failures[kind];
  const origins = Object.freeze(originStats(ctx, agents));
  return Object.freeze({
    requests: counters.requests,
    attempts: counters.attempts,
    retries: counters.retries,
    recovered: counters.recovered,
    gaveUp: counters.gaveUp,
    resets: Object.freeze(resets),
    failures,
    purgedSockets: ctx.origins.purgedSockets,
    learnedIdleLimits: ctx.origins.learnedLimits(),
    origins,
    agents: Object.freeze({
      http: agents.http === undefined ? undefined : agentStatus(agents.http),
      https: agents.https === undefined ? undefined : agentStatus(agents.https),
    }),
    budget: budgetSummary(ctx, origins),
  });
}
