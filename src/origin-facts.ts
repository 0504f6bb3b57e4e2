/**
 * What the guard reports of one origin (`OriginMemory.factsOf`, read by `stats()`): the
 * shapes only, apart from the memory that keeps them (`origins.ts`).
 */
import type { BudgetStats } from './budget';

/** Where an origin's free-socket timeout comes from. */
export type TimeoutSource = 'default' | 'hint' | 'learned';

/** An origin's free-socket timeout now, and where it comes from. */
export interface OriginTimeout {
  /** Milliseconds a free socket may idle. */
  readonly ms: number;
  /** The option, the server's hint, or a learned limit. */
  readonly source: TimeoutSource;
}

/** What one origin's entry holds, for `stats()`. */
export interface OriginFacts {
  /** {@inheritDoc OriginTimeout} */
  readonly timeout: OriginTimeout;
  /** Attempts that failed on a stale pooled socket. */
  readonly staleResets: number;
  /** `Date.now()` of the last stale reset, if any: shown only, never used for arithmetic. */
  readonly lastResetAt: number | undefined;
  /**
   * `Date.now()` when the standing idle limit was learned, if one stands: shown only (its
   * recovery counts on the monotonic clock, which a wall-clock step does not move).
   */
  readonly lastLearnedAt: number | undefined;
  /** The origin's retry budget, once a failure has touched it. */
  readonly budget: BudgetStats | undefined;
}

/** What `stats().origins[origin].http2` reports of an origin reached over HTTP/2. */
export interface Http2Stats {
  /** Streams (attempts) the guard saw opened to this origin. */
  readonly streams: number;
  /** Distinct sessions (connections) those streams ran on. */
  readonly sessions: number;
  /** Those sessions that received a GOAWAY (however many frames each). */
  readonly goaways: number;
  /** Attempts that failed as `refused-stream`. */
  readonly refusedStreams: number;
  /** Attempts that failed as `session-lost`. */
  readonly sessionsLost: number;
}
