/**
 * Between a failed attempt and the retry the policy granted: the history entry, the
 * `beforeRetry` and `onRetry` hooks and the channel message, the abortable wait, and the re-checks that the
 * deadline still allows the retry and the guard is still attached. A streamed body of the
 * failed attempt is dropped, unless the request ends with that attempt's own error.
 * A wait of 0 arms no timer: with fake timers, a stale-socket resend needs no tick.
 */
import type { AxiosError, AxiosRequestConfig, InternalAxiosRequestConfig } from 'axios';
import { canceledError } from './axios-typings';
import { discardBody } from './body';
import { callerView } from './caller-view';
import { onBudgetRecovery } from './decide';
import { publishRetry } from './events';
import { deadlineRefusal, refusal, type RetryDecision } from './policy';
import { payload, requestLabel } from './redact';
import { OwnError, type Attempt } from './attempt';
import type { RequestState } from './state';
import type { Classification, RetryInfo } from './types';

/**
 * Runs between a failed attempt and the retry its decision granted: resolves when the
 * retry may go, or with the refusal that ends the request after all (the deadline or a
 * detach overtook the hook or the wait). Rejects with an {@link OwnError} holding the hook's
 * or the sleep's own error, or with axios's CanceledError when the caller canceled.
 */
export async function waitToRetry(error: AxiosError, attempt: Attempt): Promise<RetryDecision | undefined> {
  const { request: state, config } = attempt;
  const ctx = state.guard;
  // The next attempt replaces the config's headers and bound: this error keeps its own.
  if (error.config === config) error.config = snapshotOf(config);
  const classification = attempt.classification as Classification;
  const decision = attempt.decision as RetryDecision;
  const { options } = state;
  const { delayMs } = decision;
  if (decision.staleReplay) state.staleReplays += 1;
  state.history.push(
    Object.freeze({
      attempt: attempt.number,
      code: classification.code,
      kind: classification.kind,
      reusedSocket: classification.reusedSocket,
      idleMs: classification.idleMs,
      durationMs: Math.max(0, Math.round(attempt.failedAt - attempt.startedAt)),
      delayMs,
    }),
  );
  const info = payload<RetryInfo>(
    {
      requestId: state.requestId,
      ...requestLabel(config, ctx.secrets),
      attempt: attempt.number,
      nextAttempt: attempt.number + 1,
      maxAttempts: state.maxAttempts,
      delayMs,
      classification,
      reason: decision.reason,
    },
    { error, config },
  );
  publishRetry(info);
  // The hook and the wait take time: the retry must still fit the deadline, and the guard be attached.
  const lateness = (waitMs: number): RetryDecision | undefined =>
    ctx.detached
      ? refusal('the guard was detached while the request was waiting to retry')
      : deadlineRefusal(options.deadlineMs, attempt.number, state.remainingMs(), waitMs);
  let late: RetryDecision | undefined;
  try {
    try {
      await options.beforeRetry?.(info);
      // axios-retry's hook, with its arguments: the number of this retry, the error, the config
      if (options.onRetry !== undefined) await options.onRetry(attempt.number, callerView(error), config);
    } catch (hookError) {
      throw new OwnError(hookError);
    }
    late = lateness(delayMs);
    if (late === undefined) {
      await waitBeforeRetry(delayMs, config, options.sleep, ctx.stop.signal);
      late = lateness(0);
    }
  } catch (reason) {
    // No retry will be sent: its tokens go back.
    giveBack(state);
    // The hook's error or a cancel replaces the attempt's: nobody can read its streamed body.
    discardBody(error.response?.data);
    throw reason;
  }
  if (late !== undefined) {
    // The request ends with this attempt's own error: its streamed body is the caller's.
    giveBack(state);
    attempt.decision = late;
    return late;
  }
  // The retry's: this one's streamed body would keep its socket out of the pool for good.
  discardBody(error.response?.data);
  ctx.counters.retries += 1;
  return undefined;
}

/** Returns what the retry cost the retry budget: it will not be sent. */
export function giveBack(state: RequestState): void {
  const { budget } = state;
  if (budget !== undefined) onBudgetRecovery(state.originOf(), budget, budget.deposit(state.lastCost));
}

interface Subscribable {
  reason?: unknown;
  subscribe?: (listener: () => void) => void;
  unsubscribe?: (listener: () => void) => void;
}

/** Sleeps `ms`, rejecting at once with axios's CanceledError if the signal or CancelToken fires. */
async function waitBeforeRetry(
  ms: number,
  config: AxiosRequestConfig,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  stop: AbortSignal,
): Promise<void> {
  const signal = config.signal;
  const token = config.cancelToken as Subscribable | undefined;
  const canceled = (): unknown => token?.reason ?? canceledError(config);
  if (signal?.aborted === true || token?.reason !== undefined) throw canceled();
  if (ms <= 0 || stop.aborted) return;
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal?.addEventListener?.('abort', abort);
  token?.subscribe?.(abort);
  // detach() ends the wait early; the caller then sees the guard detached and sends nothing.
  stop.addEventListener('abort', abort);
  try {
    await sleep(ms, controller.signal);
  } catch (error) {
    if (stop.aborted) return;
    throw controller.signal.aborted ? canceled() : new OwnError(error);
  } finally {
    signal?.removeEventListener?.('abort', abort);
    token?.unsubscribe?.(abort);
    stop.removeEventListener('abort', abort);
  }
  // A sleep that ignored its signal (a test's stub) returns after a cancel: nothing more is sent.
  if (isCanceled(config)) throw canceled();
}

/** Re-read after an await: the caller's signal or CancelToken fired. */
function isCanceled(config: AxiosRequestConfig): boolean {
  return config.signal?.aborted === true || (config.cancelToken as Subscribable | undefined)?.reason !== undefined;
}

/** A shallow copy of the config's own enumerable keys (axios's configs have a null prototype). */
function snapshotOf(config: InternalAxiosRequestConfig): InternalAxiosRequestConfig {
  const source = config as unknown as Record<string | symbol, unknown>;
  const copy: Record<string | symbol, unknown> = {};
  for (const key of Object.keys(source)) copy[key] = source[key];
  for (const key of Object.getOwnPropertySymbols(source)) {
    if (Object.prototype.propertyIsEnumerable.call(source, key)) copy[key] = source[key];
  }
  return copy as unknown as InternalAxiosRequestConfig;
}
