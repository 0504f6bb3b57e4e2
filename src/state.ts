import { randomUUID } from 'node:crypto';
import type { AxiosRequestConfig } from 'axios';
import type { ResolvedOptions } from './normalize';
import type { Agent } from 'node:http';
import type { RetryBudget } from './budget';
import type { PoolStamp } from './stamps';
import type { Upload } from './uploads';
import type { H2Watch } from './h2';
import type { RetryDecision } from './policy';
import type { AttemptInfo, Classification, FailureRecord } from './types';

/**
 * The one config key holding a logical request's state. A class instance, not a plain
 * object: axios's mergeConfig copies plain objects on every re-dispatch but passes
 * instances through, so all attempts share this state. Still, always read it back
 * from the config at hand (`stateOf`).
 */
export const STATE_KEY = 'axios-reset-guard';

/** The state of one logical request, shared by all its attempts. */
export class RequestState {
  /** The current attempt, 1-based (0 before the first starts). */
  attempt = 0;
  /** `Date.now()` when the current attempt started. */
  startedAt = 0;
  /** `Date.now()` when the last attempt failed. */
  failedAt = 0;
  /** Non-idempotent resends made under the stale-socket rule (at most one). */
  staleReplays = 0;
  /** Failed attempts so far, oldest first. */
  readonly history: FailureRecord[] = [];
  /** The last failed attempt's classification and the decision taken on it. */
  classification: Classification | undefined;
  /** The decision taken on the last failed attempt. */
  decision: RetryDecision | undefined;
  /** The adapter the user's config chose, which the attempts go to. */
  adapter: AxiosRequestConfig['adapter'];
  /** Timeout of each attempt before any deadline cut (0: none). */
  attemptTimeout = 0;
  /** What the latest retry cost the retry budget (refunded if it is not sent, or on success). */
  lastCost = 0;
  /** The retry budget of the request's origin, once a failure looked it up. */
  budget: RetryBudget | undefined;
  /** A no-answer failure of this request, learned from if the resend answers in time. */
  blackHole: { readonly agent: Agent; readonly stamp: PoolStamp; readonly idleMs: number } | undefined;
  /** The request's origin label (`https://host:443`), once needed. */
  origin: string | undefined;
  /** The uploads of a request with a body factory (`resetGuard.body`). */
  upload: Upload | undefined;
  /** An error thrown by a hook: it ends the request as it is. */
  hookError: unknown;
  /** `performance.nodeTiming.idleTime` when the current attempt started (to tell CPU time from network time). */
  idleAtStart: number | undefined;
  /** The guard's deadline timer ended an attempt: no time is left, whatever the clock reads. */
  deadlineReached = false;
  /** The current HTTP/2 attempt's watch over its stream (Node 22 and later). */
  h2: H2Watch | undefined;

  #requestId: string | undefined;

  constructor(
    /** The instance's options with the request's own merged over them. */
    readonly options: ResolvedOptions,
    /** `Date.now()` when the logical request started. */
    readonly firstStartedAt: number,
  ) {}

  /** Stable across the attempts: a UUID, made when first read (most requests never need one). */
  get requestId(): string {
    return (this.#requestId ??= randomUUID());
  }

  /** Time left before the deadline at `now`; `undefined` when the request has none. */
  remainingMs(now: number = Date.now()): number | undefined {
    const { deadlineMs } = this.options;
    if (deadlineMs <= 0) return undefined;
    const left = this.firstStartedAt + deadlineMs - now;
    // A timer may fire a little early by Date.now(): once it cut an attempt, none is left.
    return this.deadlineReached ? Math.min(0, left) : left;
  }

  /** `retries + 1`, or 1 when retries are off. */
  get maxAttempts(): number {
    return this.options.retry ? this.options.retries + 1 : 1;
  }

  /** Serialized configs (axios's error `toJSON()`, loggers) show the metadata, not the options. */
  toJSON(): AttemptInfo {
    return this.snapshot();
  }

  /** Frozen metadata of the current attempt. */
  snapshot(): AttemptInfo {
    return Object.freeze({
      requestId: this.requestId,
      attempt: this.attempt,
      maxAttempts: this.maxAttempts,
      firstStartedAt: this.firstStartedAt,
      startedAt: this.startedAt,
      history: Object.freeze([...this.history]),
    });
  }
}

function configOf(value: unknown): Record<string, unknown> | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (record[STATE_KEY] !== undefined) return record;
  const config = record.config;
  return typeof config === 'object' && config !== null ? (config as Record<string, unknown>) : undefined;
}

/** The state on a config, or on the `config` of a response or error. */
export function stateOf(value: unknown): RequestState | undefined {
  const state = configOf(value)?.[STATE_KEY];
  return state instanceof RequestState ? state : undefined;
}

/**
 * Attempt metadata of a request sent through a guarded instance, from its config,
 * its response (success) or its error (final failure); `undefined` otherwise.
 * `attempt` is 1-based: a response with `attempt === 1` needed no retry.
 * @example
 * const res = await client.get('/items');
 * console.log(attemptOf(res)?.attempt, attemptOf(res)?.history);
 */
export function attemptOf(value: unknown): AttemptInfo | undefined {
  return stateOf(value)?.snapshot();
}
