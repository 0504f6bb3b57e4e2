import { randomUUID } from 'node:crypto';
import type { AxiosRequestConfig, InternalAxiosRequestConfig } from 'axios';
import type { Agent } from 'node:http';
import type { RetryBudget } from './budget';
import { monotonicNow } from './clock';
import type { GuardContext } from './context';
import { originOfUrl } from './native';
import type { ResolvedOptions } from './normalize';
import { fullPath } from './redact';
import type { PoolStamp } from './stamps';
import type { RetryDecision } from './policy';
import type { AttemptInfo, Classification, FailureRecord } from './types';
import type { Upload } from './uploads';

/**
 * The one config key holding a logical request's state. A class instance, not a plain
 * object: axios's mergeConfig copies plain objects when a config is sent again (a hand-made
 * resend of `error.config`), but passes instances through. Read it back from the config at
 * hand (`stateOf`).
 */
export const STATE_KEY = 'axios-reset-guard';

/** What the request keeps of its latest attempt (`attempt.ts` makes them). */
export interface AttemptRecord {
  /** 1-based. */
  readonly number: number;
  /** On the monotonic clock (`clock.ts`): when it started. */
  readonly startedAt: number;
  /** `Date.now()` when it started: shown, never subtracted. */
  readonly startedAtWall: number;
  /** On the monotonic clock: when it failed (0 while it has not). */
  readonly failedAt: number;
  /** What the failure was, once it failed. */
  readonly classification: Classification | undefined;
  /** Whether another attempt follows, and why. */
  readonly decision: RetryDecision | undefined;
}

/**
 * What spans the attempts of one logical request: its id, options, deadline, history and
 * budget. What belongs to one attempt (its start, its failure, the decision on it) is on
 * that attempt's own object (`attempt.ts`); `last` is the latest.
 */
export class RequestState {
  /** The latest attempt (undefined before the first starts). */
  last: AttemptRecord | undefined;
  /** Failed attempts so far, oldest first. */
  readonly history: FailureRecord[] = [];
  /** Non-idempotent resends made under the stale-socket rule (at most one). */
  staleReplays = 0;
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
  /** The guard's deadline timer ended an attempt: no time is left, whatever the clock reads. */
  deadlineReached = false;
  /** On the monotonic clock (`clock.ts`): when the logical request started. */
  readonly firstStartedAt = monotonicNow();
  /** `Date.now()` when the logical request started: shown, never subtracted. */
  readonly firstStartedAtWall = Date.now();

  #requestId: string | undefined;

  constructor(
    /** The instance's options with the request's own merged over them. */
    readonly options: ResolvedOptions,
    /** The guard the request goes through: its counters, origins and detach state. */
    readonly guard: GuardContext,
    /** The user's config: every attempt is sent on it, with that attempt's headers and time bound. */
    readonly config: InternalAxiosRequestConfig,
    /** The adapter the user's config chose, which every attempt goes to. */
    readonly adapter: AxiosRequestConfig['adapter'],
  ) {}

  /** The origin label of the request's target (`https://host:443`), computed once. */
  originOf(): string {
    // Scheme, host and port only: no userinfo reaches the label, so nothing to redact first.
    return (this.origin ??= originOfUrl(fullPath(this.config)) ?? 'unknown');
  }

  /** Stable across the attempts: a UUID, made when first read (most requests never need one). */
  get requestId(): string {
    return (this.#requestId ??= randomUUID());
  }

  /** The number of the latest attempt, 1-based (0 before the first starts). */
  get attempt(): number {
    return this.last?.number ?? 0;
  }

  /** Time left before the deadline at `now` (monotonic); `undefined` when the request has none. */
  remainingMs(now: number = monotonicNow()): number | undefined {
    const { deadlineMs } = this.options;
    if (deadlineMs <= 0) return undefined;
    // Whole milliseconds, as axios's `timeout` and its messages have them.
    const left = Math.floor(this.firstStartedAt + deadlineMs - now);
    // A timer may fire a little early by the clock: once it cut an attempt, none is left.
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

  /** Frozen metadata of the latest attempt. */
  snapshot(): AttemptInfo {
    return Object.freeze({
      requestId: this.requestId,
      attempt: this.attempt,
      maxAttempts: this.maxAttempts,
      firstStartedAt: this.firstStartedAtWall,
      startedAt: this.last?.startedAtWall ?? 0,
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
