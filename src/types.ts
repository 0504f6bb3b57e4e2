import type { AxiosError, AxiosResponse, InternalAxiosRequestConfig } from 'axios';

import type { FailureKind, ResetKind } from './kinds';

export type { FailureKind, ResetKind } from './kinds';

/** Result of {@link classify}: frozen. */
export interface Classification {
  /** What kind of failure it was. */
  readonly kind: FailureKind;
  /**
   * The failure is transient: a new attempt may succeed (before any method or body rule).
   * For an `http-status` failure: true when the status is in the request's `retryStatuses`,
   * as the guard saw it; `classify()` of an error that did not pass a guard says false.
   */
  readonly retryable: boolean;
  /** The attempt ran on a keep-alive socket taken from the pool (Node's `req.reusedSocket`). */
  readonly reusedSocket: boolean;
  /** Response bytes had arrived (headers, or a status) before the failure. */
  readonly responseStarted: boolean;
  /** How long the reused socket sat idle in the pool before this attempt, when known. */
  readonly idleMs: number | undefined;
  /** The socket-level code (`ECONNRESET`, `EPIPE`, ...), looked up through `cause` chains. */
  readonly code: string | undefined;
  /** The HTTP status, for `http-status` failures. */
  readonly status?: number | undefined;
}

/** One failed attempt, as kept in {@link AttemptInfo.history}. */
export interface FailureRecord {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** {@inheritDoc Classification.code} */
  readonly code: string | undefined;
  /** {@inheritDoc Classification.kind} */
  readonly kind: FailureKind;
  /** {@inheritDoc Classification.reusedSocket} */
  readonly reusedSocket: boolean;
  /** {@inheritDoc Classification.idleMs} */
  readonly idleMs: number | undefined;
  /** From the start of this attempt to its failure. */
  readonly durationMs: number;
  /** The wait planned before the next attempt (0 for a stale socket). */
  readonly delayMs: number;
}

/** Frozen metadata of one attempt of a logical request, from {@link attemptOf}. */
export interface AttemptInfo {
  /** Stable across every attempt of one logical request (a UUID). */
  readonly requestId: string;
  /** 1 on the first try, 2 on the first retry, and so on. */
  readonly attempt: number;
  /** `retries + 1` (1 when retries are off for this request). */
  readonly maxAttempts: number;
  /** `Date.now()` when the logical request started. */
  readonly firstStartedAt: number;
  /** `Date.now()` when this attempt started. */
  readonly startedAt: number;
  /** Every failed earlier attempt, oldest first; never longer than the retry limit. */
  readonly history: readonly FailureRecord[];
}

/**
 * Passed to the `beforeRetry` hook before each wait, and published on `CHANNELS.retry`.
 * Enumerable fields are a redacted summary (safe to log); `error` and `config` are
 * non-enumerable, so printing or serializing the payload never shows a header secret.
 */
export interface RetryInfo {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went (baseURL + url), with any URL password redacted. */
  readonly url: string;
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** The attempt about to be sent after the wait (`attempt + 1`). */
  readonly nextAttempt: number;
  /** {@inheritDoc AttemptInfo.maxAttempts} */
  readonly maxAttempts: number;
  /** The wait planned before the next attempt. */
  readonly delayMs: number;
  /** The failed attempt's classification. */
  readonly classification: Classification;
  /**
   * Why the policy retries, naming the rule: `GET is idempotent` after a reset; for a
   * status, the rule and where the wait comes from, as in `status 503 is in retryStatuses;
   * GET is idempotent; waiting 2000 ms as Retry-After asks`.
   */
  readonly reason: string;
  /** The failed attempt's error. */
  readonly error: AxiosError;
  /** The config the next attempt will be sent with; hooks may adjust headers on it. */
  readonly config: InternalAxiosRequestConfig;
}

/**
 * Passed to the `onGiveUp` hook when a transient failure ends the request, and published
 * on `CHANNELS.giveUp`. `error` is non-enumerable, as in {@link RetryInfo}.
 */
export interface GiveUpInfo {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went (baseURL + url), with any URL password redacted. */
  readonly url: string;
  /** Attempts sent, the failed last one included. */
  readonly attempts: number;
  /** The last attempt's classification. */
  readonly classification: Classification;
  /** Why no further attempt was sent. */
  readonly reason: string;
  /** The last attempt's error, which the request rejects with (unless the hook throws). */
  readonly error: AxiosError;
}

/** Reachable on the final error as `error.resetGuard`. */
export interface ResetGuardErrorInfo {
  /** Metadata of the last attempt, its history holding the failures before it. */
  readonly attempt: AttemptInfo;
  /** The last attempt's classification. */
  readonly classification: Classification;
  /** Why the guard sent no further attempt (e.g. the body is a stream, the limit was reached). */
  readonly reason: string;
}

/** Published on `CHANNELS.reset` for every attempt that failed with a reset. */
export interface ResetEvent {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went, with any URL password redacted. */
  readonly url: string;
  /** {@inheritDoc Classification.kind} */
  readonly kind: ResetKind;
  /** {@inheritDoc Classification.code} */
  readonly code: string | undefined;
  /** {@inheritDoc Classification.reusedSocket} */
  readonly reusedSocket: boolean;
  /** {@inheritDoc Classification.idleMs} */
  readonly idleMs: number | undefined;
  /** The origin (`https://host:443`) of the pool the socket came from, when the guard tracks it. */
  readonly origin: string | undefined;
}

/** Published on `CHANNELS.recovered` when a request succeeded after at least one retry. */
export interface RecoveredEvent {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went, with any URL password redacted. */
  readonly url: string;
  /** Attempts sent, the successful last one included (at least 2). */
  readonly attempts: number;
  /** The failed attempts before it, oldest first (as in {@link AttemptInfo.history}). */
  readonly failures: readonly FailureRecord[];
  /** From the start of the logical request to the answer, waits included, in ms. */
  readonly durationMs: number;
}

/**
 * Published on `CHANNELS.lateHook` when a hook of a request that had already ended
 * (`onGiveUp`, `onMaxRetryTimesExceeded`) settled after the request's deadline: the
 * request rejected on time with its own error, and this is the hook's outcome. A hook's
 * `error` is a non-enumerable property.
 */
export interface LateHookEvent {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went, with any URL password redacted. */
  readonly url: string;
  /** The hook that settled late. */
  readonly hook: 'onGiveUp' | 'onMaxRetryTimesExceeded';
  /** How it settled: `rejected` when it threw (its error is `error`). */
  readonly outcome: 'resolved' | 'rejected';
}

/**
 * Published on `CHANNELS.learned` when the guard learns an origin's idle limit, or lowers
 * one it had learned (a confirmation of the standing limit publishes nothing).
 */
export interface IdleLimitEvent {
  /** The origin (`https://host:443`). */
  readonly origin: string;
  /** The limit now applied to free sockets to this origin on the guard's own agents, in ms. */
  readonly limitMs: number;
  /** The learned limit it replaces, if one stood. */
  readonly previousMs: number | undefined;
  /** How long the socket that taught it had idled, in ms (the limit is 0.75 of it, at least 250 ms). */
  readonly idleMs: number;
  /**
   * What taught it: `stale-socket`, a pooled socket found dead after at least 500 ms idle;
   * `corroborated`, two found dead after less, within a minute (the shorter idle counts);
   * `no-answer`, a pooled socket that heard nothing while its resend on a fresh one was answered.
   */
  readonly evidence: 'stale-socket' | 'corroborated' | 'no-answer';
}

/** Published on `CHANNELS.purge` when a dead pooled socket takes its idle peers with it. */
export interface PurgeEvent {
  /** The origin (`https://host:443`) of the pool. */
  readonly origin: string;
  /** Free sockets destroyed: those that had idled at least as long as the dead one. */
  readonly purged: number;
  /** How long the dead socket had idled, in ms, when known. */
  readonly idleMs: number | undefined;
}

/**
 * Published on `CHANNELS.budgetExhausted` when an origin's retry budget refuses a retry,
 * the first refusal since it last had enough tokens.
 */
export interface BudgetExhaustedEvent {
  /** The origin (`https://host:443`) whose bucket ran out. */
  readonly origin: string;
  /** Tokens left. */
  readonly tokens: number;
  /** Tokens in a full bucket. */
  readonly capacity: number;
  /** What the refused retry would have cost. */
  readonly cost: number;
}

/**
 * Published on `CHANNELS.budgetRestored` when an exhausted origin's bucket has refilled to
 * half its capacity (at least one retry's cost): successes put tokens back.
 */
export interface BudgetRestoredEvent {
  /** The origin (`https://host:443`). */
  readonly origin: string;
  /** Tokens in the bucket now. */
  readonly tokens: number;
  /** Tokens in a full bucket. */
  readonly capacity: number;
  /** Retries refused at this origin since it ran out. */
  readonly refused: number;
  /** How long it was exhausted, in ms. */
  readonly exhaustedMs: number;
}

/**
 * The context of one attempt on the `CHANNELS.attempt` tracing channel. Not frozen, unlike
 * the other payloads: a tracing subscriber may keep its own state on it (its span), and the
 * outcome is added as the attempt settles. The summary fields are read-only; `config`,
 * `result` and `error` are non-enumerable, so logging the context leaks no header.
 */
export interface AttemptContext {
  /** {@inheritDoc AttemptInfo.requestId} */
  readonly requestId: string;
  /** Upper-case HTTP method. */
  readonly method: string;
  /** Where the request went, with any URL password redacted. */
  readonly url: string;
  /** This attempt, 1-based: 2 and up are retries. */
  readonly attempt: number;
  /** {@inheritDoc AttemptInfo.maxAttempts} */
  readonly maxAttempts: number;
  /** The config this attempt is sent with (non-enumerable). */
  readonly config: InternalAxiosRequestConfig;
  /** The response, once the attempt succeeded (non-enumerable). */
  readonly result?: AxiosResponse;
  /** The attempt's error, once it failed (non-enumerable). */
  readonly error?: unknown;
}
