/**
 * One attempt of a logical request: made by the loop (`request.ts`) when it sends, filled
 * in when it fails, and passed to whatever needs its facts. Nothing here outlives the
 * attempt except through the request's history.
 */
import { performance } from 'node:perf_hooks';
import type { InternalAxiosRequestConfig } from 'axios';
import { monotonicNow } from './clock';
import type { RetryDecision } from './policy';
import type { AttemptRecord, RequestState } from './state';
import type { Classification } from './types';

export class Attempt implements AttemptRecord {
  /** On the monotonic clock (`clock.ts`): when this attempt started. */
  readonly startedAt = monotonicNow();
  /** `Date.now()` when this attempt started: shown in the metadata, never subtracted. */
  readonly startedAtWall = Date.now();
  /**
   * `performance.nodeTiming.idleTime` at the start: how long the event loop then sat
   * idle, to tell time this process spent computing from time the network took.
   * (A number, not eventLoopUtilization()'s object: nothing allocated.)
   */
  readonly idleAtStart = performance.nodeTiming.idleTime;
  /** On the monotonic clock: when it failed (0 while it has not). */
  failedAt = 0;
  /** What the failure was, once it failed. */
  classification: Classification | undefined;
  /** Whether another attempt follows, and why; replaced by a late refusal. */
  decision: RetryDecision | undefined;
  /**
   * An HTTP/2 attempt's watch over its stream (an `H2Watch`, `h2.ts`): Node hands it the
   * stream it opens while this attempt is the one being sent (`sending.ts`).
   */
  streamWatch: object | undefined;

  constructor(
    /** The logical request it belongs to. */
    readonly request: RequestState,
    /** The config the adapter receives (the user's own, this attempt's headers on it). */
    readonly config: InternalAxiosRequestConfig,
    /** 1-based. */
    readonly number: number,
  ) {}
}

/**
 * An error the user's code threw while an attempt was handled (a hook, the sleep, the body
 * factory, `retryCondition`, `retryDelay`, `validateResponse`), on its way out of the loop:
 * the request ends with the error inside, passed untouched (an attempt's own error is
 * presented: the user's config, the metadata, a redacted `toJSON`).
 */
export class OwnError extends Error {
  constructor(readonly error: unknown) {
    super("an error of the caller's own code");
  }
}
