import type { ResolvedOptions } from './options';
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

/** What {@link decideRetry} needs to know about one failed attempt. */
export interface RetryContext {
  /** What the failed attempt met, from {@link classify}. */
  readonly classification: Classification;
  /** Lower or upper case; `undefined` means GET, as in axios. */
  readonly method: string | undefined;
  /** The request carries an `Idempotency-Key` header. */
  readonly hasIdempotencyKey: boolean;
  /** The body can be sent again ({@link isReplayableBody}): not a stream. */
  readonly bodyReplayable: boolean;
  /** The attempt that failed, 1-based. */
  readonly attempt: number;
  /** Non-idempotent resends already made under the stale-socket rule. */
  readonly staleReplays: number;
  /** The request's options that the policy reads. */
  readonly options: Pick<
    ResolvedOptions,
    'retry' | 'retries' | 'retryTimeouts' | 'retryNonIdempotent' | 'retryStaleNonIdempotent' | 'staleIdleMs'
  >;
}

/** What {@link decideRetry} decided about one failed attempt. Frozen. */
export interface RetryDecision {
  /** Send another attempt. */
  readonly retry: boolean;
  /** Resend without backoff: a stale socket is the pool's fault, not the server's. */
  readonly immediate: boolean;
  /** Why, in words a log line can carry. */
  readonly reason: string;
  /** The retry uses the one non-idempotent stale-socket resend. */
  readonly staleReplay: boolean;
}

const no = (reason: string): RetryDecision =>
  Object.freeze({ retry: false, immediate: false, reason, staleReplay: false });
const yes = (reason: string, immediate: boolean, staleReplay = false): RetryDecision =>
  Object.freeze({ retry: true, immediate, reason, staleReplay });

/** The retry policy, as a pure function of the failed attempt. */
export function decideRetry(ctx: RetryContext): RetryDecision {
  const { classification: c, options: o } = ctx;
  const method = (ctx.method ?? 'get').toUpperCase();
  if (!o.retry) return no('retries are turned off for this request');
  if (!c.retryable) return no(`a ${c.kind} failure${c.code ? ` (${c.code})` : ''} is not retried`);
  if (c.kind === 'timeout' && !o.retryTimeouts) {
    return no('timeouts are not retried unless retryTimeouts is true (the server may still be working on it)');
  }
  if (ctx.attempt > o.retries) return no(`retry limit reached after ${ctx.attempt} attempts`);
  if (!ctx.bodyReplayable) {
    return no('the request body is a stream, consumed by the first attempt, and cannot be resent');
  }
  const immediate = c.kind === 'stale-socket';
  if (isIdempotentMethod(method)) return yes(`${method} is idempotent`, immediate);
  if (ctx.hasIdempotencyKey) return yes(`${method} carries an Idempotency-Key header`, immediate);
  if (o.retryNonIdempotent) return yes(`retryNonIdempotent allows ${method} to be retried`, immediate);
  if (c.kind === 'stale-socket' && o.retryStaleNonIdempotent) {
    if (ctx.staleReplays > 0) return no(`${method} was already resent once after a stale socket`);
    if (c.idleMs === undefined) {
      return no(`${method} failed on a reused socket of unknown idle time (not an agent the guard tracks)`);
    }
    if (c.idleMs < o.staleIdleMs) {
      return no(
        `${method} failed on a socket idle only ${c.idleMs} ms (< staleIdleMs ${o.staleIdleMs}): the server may have processed it`,
      );
    }
    return yes(`${method} failed on a keep-alive socket idle ${c.idleMs} ms, forgotten by the far side`, true, true);
  }
  return no(`${method} is not idempotent and a ${c.kind} failure may have reached the server`);
}
