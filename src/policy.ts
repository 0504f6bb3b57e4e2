import { backoffDelay } from './backoff';
import { aFailureOf, NO_ANSWER_CODE, NO_CODE_HINT } from './kinds';
import type { ResolvedOptions } from './normalize';
import type { Classification } from './types';

/** RFC 9110 §9.2.2: methods whose repetition has the same effect as one request. */
const IDEMPOTENT_METHODS = new Set(['get', 'head', 'options', 'put', 'delete', 'trace']);

/**
 * True for the methods RFC 9110 defines as idempotent: GET, HEAD, OPTIONS, PUT, DELETE and
 * TRACE, in any case. `undefined` counts as GET, axios's default method.
 */
export function isIdempotentMethod(method: string | undefined): boolean {
  return IDEMPOTENT_METHODS.has((method ?? 'get').toLowerCase());
}

/** Failures that prove the request was not processed. */
const UNPROCESSED: ReadonlySet<string> = new Set(['refused', 'tls-reset', 'refused-stream']);

/** What {@link decideRetry} needs to know about one failed attempt. */
export interface RetryContext {
  /** What the failed attempt met, from `classify`. */
  readonly classification: Classification;
  /** Lower or upper case; `undefined` means GET, as in axios. */
  readonly method: string | undefined;
  /** The request carries an `Idempotency-Key` header. */
  readonly hasIdempotencyKey: boolean;
  /**
   * Why a response (a redirect) may already have arrived for this request before the
   * failure, when one may have: its original request is then possibly applied.
   */
  readonly answeredBefore?: string | undefined;
  /**
   * The socket spoke TLS and the peer reset it (no close) before any byte could be read:
   * part of a TLS record, an answer begun, may have arrived that cannot be decrypted.
   */
  readonly tlsBareReset?: boolean | undefined;
  /**
   * For a `refused-stream` failure: its HTTP/2 session was going away (a GOAWAY, or closed),
   * so the next attempt opens a new session and goes at once.
   */
  readonly sessionGoingAway?: boolean | undefined;
  /** The body can be sent again ({@link isReplayableBody}): not a stream. */
  readonly bodyReplayable: boolean;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** Non-idempotent resends already made under the stale-socket rule. */
  readonly staleReplays: number;
  /** The response's `Retry-After`, parsed (see `parseRetryAfter`), for status failures. */
  readonly retryAfterMs?: number | undefined;
  /** Time left before the request's deadline; `undefined` when it has none. */
  readonly remainingMs?: number | undefined;
  /**
   * What the request's `retryCondition` answered about this failure, when it has one and
   * was asked: `false` stops a retry, `true` asks for one the rules would not send.
   */
  readonly retryCondition?: boolean | undefined;
  /** The request's `retryDelay` for this failure, when it has one: the wait of a backoff retry. */
  readonly retryDelay?: (() => number) | undefined;
  /** The retry budget's tokens, when the guard has one. */
  readonly budgetTokens?: number | undefined;
  /** What this retry would cost the budget. */
  readonly budgetCost?: number | undefined;
  /** The request's options that the policy reads. */
  readonly options: Pick<
    ResolvedOptions,
    | 'retry'
    | 'retries'
    | 'retryTimeouts'
    | 'retryNonIdempotent'
    | 'retryStaleNonIdempotent'
    | 'staleIdleMs'
    | 'retryStatuses'
    | 'maxRetryAfterMs'
    | 'deadlineMs'
    | 'baseDelayMs'
    | 'maxDelayMs'
    | 'random'
  >;
}

/** What stopped a transient failure from being retried, when a limit did. */
export type RetryLimit = 'attempts' | 'deadline' | 'budget' | 'retry-after';

/** What {@link decideRetry} decided about one failed attempt. Frozen. */
export interface RetryDecision {
  /** Send another attempt. */
  readonly retry: boolean;
  /** Resend without backoff: a stale socket is the pool's fault, not the server's. */
  readonly immediate: boolean;
  /** The wait before the next attempt (0 when not retried or immediate). */
  readonly delayMs: number;
  /** Why, in words a log line can carry. */
  readonly reason: string;
  /** The retry uses the one non-idempotent stale-socket resend. */
  readonly staleReplay: boolean;
  /** The failure was of a kind the guard retries: ending on it is "giving up". */
  readonly transient: boolean;
  /** Set when a limit, not a rule, ended the request. */
  readonly limit: RetryLimit | undefined;
}

const decision = (fields: Partial<RetryDecision> & Pick<RetryDecision, 'retry' | 'reason'>): RetryDecision =>
  Object.freeze({ immediate: false, delayMs: 0, staleReplay: false, transient: false, limit: undefined, ...fields });
const no = (reason: string, transient = true, limit?: RetryLimit): RetryDecision =>
  decision({ retry: false, reason, transient, limit });

/** A "no retry" decision for a transient failure that something outside the policy ended. */
export function refusal(reason: string, limit?: RetryLimit): RetryDecision {
  return no(reason, true, limit);
}

/** "1 attempt", "3 attempts". */
function attempts(n: number): string {
  return `${n} attempt${n === 1 ? '' : 's'}`;
}

/**
 * The deadline rule, shared by the decision and the re-check after the hook and the wait:
 * no time left, or a wait of `waitMs` that would use up what is left, ends the request.
 * `remainingMs` is `undefined` when the request has no deadline.
 */
export function deadlineRefusal(
  deadlineMs: number,
  attempt: number,
  remainingMs: number | undefined,
  waitMs: number,
): RetryDecision | undefined {
  if (remainingMs === undefined) return undefined;
  const reached = `deadline of ${deadlineMs} ms reached after ${attempts(attempt)}`;
  if (remainingMs <= 0) return no(reached, true, 'deadline');
  if (waitMs > 0 && waitMs >= remainingMs)
    return no(`${reached}: a ${waitMs} ms wait would cross it`, true, 'deadline');
  return undefined;
}

/** Why a method/body combination may be resent, or `undefined` when it may not. */
function permission(ctx: RetryContext, method: string, mayHaveReached: boolean): string | undefined {
  if (isIdempotentMethod(method)) return `${method} is idempotent`;
  if (ctx.hasIdempotencyKey) return `${method} carries an Idempotency-Key header`;
  if (ctx.options.retryNonIdempotent) return `retryNonIdempotent allows ${method} to be retried`;
  return mayHaveReached ? undefined : `${method} never reached the server`;
}

/** The retry policy, as a pure function of the failed attempt (`options.random` draws the jitter). */
export function decideRetry(ctx: RetryContext): RetryDecision {
  // A condition that said no has the last word: the user's retryDelay is not asked for a wait.
  const decided = withCondition(ctx, decide(ctx.retryCondition === false ? { ...ctx, retryDelay: undefined } : ctx));
  const c = ctx.classification;
  // A timeout with no byte back on a socket reused after a long idle: most likely a black
  // hole (a firewall that forgot the connection); say so when the request is not resent.
  if (
    decided.retry ||
    c.kind !== 'timeout' ||
    !c.reusedSocket ||
    c.responseStarted ||
    c.idleMs === undefined ||
    c.idleMs < ctx.options.staleIdleMs
  ) {
    return decided;
  }
  return decision({
    ...decided,
    reason: `no answer on a long-idle reused connection (idle ${c.idleMs} ms): ${decided.reason}`,
  });
}

function decide(ctx: RetryContext): RetryDecision {
  const { classification: c, options: o } = ctx;
  const method = (ctx.method ?? 'get').toUpperCase();
  const status = c.kind === 'http-status' && c.status !== undefined && o.retryStatuses.includes(c.status);
  if (c.kind === 'decode') {
    return no(
      `the response body does not decode${c.code ? ` (${c.code})` : ''}: the same bytes would come again`,
      false,
    );
  }
  if (!c.retryable && !status) {
    if (c.kind === 'http-status') return no(`a status ${c.status ?? '?'} is not retried`, false);
    const code = c.kind === 'other' && c.code === undefined ? `: ${NO_CODE_HINT}` : '';
    return no(`${aFailureOf(c.kind)}${c.code ? ` (${c.code})` : ''} is not retried${code}`, false);
  }
  if (!o.retry) return no('retries are turned off for this request');
  // Before the timeout rule: an attempt cut short by the deadline is reported as the deadline.
  const noTimeLeft = deadlineRefusal(o.deadlineMs, ctx.attempt, ctx.remainingMs, 0);
  if (noTimeLeft !== undefined) return noTimeLeft;
  if (c.kind === 'timeout' && !o.retryTimeouts) {
    return no('timeouts are not retried unless retryTimeouts is true (the server may still be working on it)');
  }
  if (ctx.attempt > o.retries) return no(`retry limit reached after ${attempts(ctx.attempt)}`, true, 'attempts');
  if (!ctx.bodyReplayable) {
    return no('the request body is a stream, consumed by the first attempt, and cannot be resent');
  }

  let reason: string | undefined;
  let staleReplay = false;
  // A stale socket is the pool's fault, not the server's; a stream refused by a session going
  // away goes to a new session. A stream refused by a live session (at its limit) backs off.
  const immediate = c.kind === 'stale-socket' || (c.kind === 'refused-stream' && ctx.sessionGoingAway === true);
  if (status) {
    const allowed = permission(ctx, method, true);
    if (allowed === undefined) return no(`${method} is not idempotent and the server answered ${c.status}`);
    reason = `status ${c.status} is in retryStatuses; ${allowed}`;
  } else {
    // A refused connection or a failed TLS handshake carried no HTTP bytes, and a refused
    // HTTP/2 stream was not processed: safe for any method, unless an earlier hop of the
    // same request was answered (a redirect).
    const answered = ctx.answeredBefore;
    reason = permission(ctx, method, answered !== undefined || !UNPROCESSED.has(c.kind));
    if (c.kind === 'refused-stream' && answered === undefined && !isIdempotentMethod(method)) {
      reason = `${method} was not processed: the server refused its HTTP/2 stream`;
    }
    if (reason === undefined && answered !== undefined) return no(`${method} may have been applied: ${answered}`);
    // Silence (a socket given up for no answer) may be a slow server, not a dead socket.
    if (reason === undefined && c.code === NO_ANSWER_CODE) {
      return no(`${method} got no answer on a long-idle reused connection, and may have reached the server`);
    }
    if (reason === undefined && c.kind === 'stale-socket' && o.retryStaleNonIdempotent) {
      if (ctx.staleReplays > 0) return no(`${method} was already resent once after a stale socket`);
      if (c.idleMs === undefined) {
        return no(`${method} failed on a reused socket of unknown idle time (not an agent the guard tracks)`);
      }
      if (ctx.tlsBareReset === true) {
        return no(
          `${method} failed on a TLS connection reset before any byte could be read: part of an answer may have arrived undecrypted`,
        );
      }
      if (c.idleMs < o.staleIdleMs) {
        return no(
          `${method} failed on a socket idle only ${c.idleMs} ms (< expert.staleIdleMs ${o.staleIdleMs}): the server may have processed it`,
        );
      }
      reason = `${method} failed on a keep-alive socket idle ${c.idleMs} ms, forgotten by the far side`;
      staleReplay = true;
    }
    if (reason === undefined)
      return no(`${method} is not idempotent and ${aFailureOf(c.kind)} may have reached the server`);
  }

  return grant(ctx, reason, immediate, staleReplay, status);
}

/** A retry the rules allow, within its wait, the deadline and the budget. */
function grant(
  ctx: RetryContext,
  allowed: string,
  immediate: boolean,
  staleReplay: boolean,
  status: boolean,
): RetryDecision {
  const { options: o } = ctx;
  let reason = allowed;
  let delayMs = immediate ? 0 : (ctx.retryDelay?.() ?? backoffDelay(ctx.attempt, o, o.random));
  if (status && ctx.retryAfterMs !== undefined) {
    if (ctx.retryAfterMs > o.maxRetryAfterMs) {
      const asked = Number.isFinite(ctx.retryAfterMs) ? `${Math.ceil(ctx.retryAfterMs / 1000)} s` : 'forever';
      return no(
        `Retry-After asks for ${asked}, over expert.maxRetryAfterMs (${o.maxRetryAfterMs} ms)`,
        true,
        'retry-after',
      );
    }
    // The server's word is the least wait (a retryDelay may ask for more).
    delayMs =
      ctx.retryDelay === undefined ? Math.round(ctx.retryAfterMs) : Math.max(delayMs, Math.round(ctx.retryAfterMs));
  }
  // A status retry says where its wait comes from: the server's Retry-After, or the backoff.
  if (status) {
    const backoff = ctx.retryDelay === undefined ? 'backoff' : 'retryDelay';
    reason +=
      ctx.retryAfterMs === undefined
        ? `; waiting ${delayMs} ms of ${backoff} (no Retry-After)`
        : `; waiting ${delayMs} ms as Retry-After asks`;
  }
  const waitTooLong = deadlineRefusal(o.deadlineMs, ctx.attempt, ctx.remainingMs, delayMs);
  if (waitTooLong !== undefined) return waitTooLong;
  if (ctx.budgetTokens !== undefined && ctx.budgetCost !== undefined && ctx.budgetCost > ctx.budgetTokens) {
    return no(
      `retry budget exhausted (${ctx.budgetTokens} tokens left, this retry costs ${ctx.budgetCost})`,
      true,
      'budget',
    );
  }
  return decision({ retry: true, reason, immediate, delayMs, staleReplay, transient: true });
}

/**
 * The user's `retryCondition` over the rules' decision: `false` narrows any retry; `true`
 * widens a refusal by kind (a status not listed, a timeout, an unknown code) to a backoff
 * retry, only for a request that may be sent twice (idempotent, keyed, or under
 * `retryNonIdempotent`) with a body that can be sent again, within the limits. A request the
 * rules judged possibly applied is never resent, whatever it answered.
 */
function withCondition(ctx: RetryContext, decided: RetryDecision): RetryDecision {
  const asked = ctx.retryCondition;
  if (asked === undefined) return decided;
  if (!asked) return decided.retry ? no(`retryCondition declined the retry (${decided.reason})`) : decided;
  if (decided.retry || decided.limit !== undefined) return decided;
  const { classification: c, options: o } = ctx;
  const method = (ctx.method ?? 'get').toUpperCase();
  const refusedBy = `retryCondition asked for a retry the rules refuse (${decided.reason})`;
  if (c.kind === 'canceled' || !o.retry) return decided;
  if (ctx.attempt > o.retries) return no(`retry limit reached after ${attempts(ctx.attempt)}`, true, 'attempts');
  const noTimeLeft = deadlineRefusal(o.deadlineMs, ctx.attempt, ctx.remainingMs, 0);
  if (noTimeLeft !== undefined) return noTimeLeft;
  if (!ctx.bodyReplayable) return no(`${refusedBy}, but the request body is a stream that cannot be resent`);
  const allowed = permission(ctx, method, true);
  if (allowed === undefined)
    return no(`${refusedBy}, but ${method} may have been applied: not resent`, decided.transient);
  return grant(ctx, `${refusedBy}; ${allowed}`, false, false, c.kind === 'http-status');
}
