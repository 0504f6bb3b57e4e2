/**
 * Between a failed attempt and the retry the policy granted: the history entry, the
 * `onRetry` hook and channel message, the abortable wait, and the re-checks that the
 * deadline still allows the retry and the guard is still attached. A streamed body of the
 * failed attempt is dropped, unless the request ends with that attempt's own error.
 */
import {
  CanceledError,
  isCancel,
  type AxiosError,
  type AxiosRequestConfig,
  type InternalAxiosRequestConfig,
} from 'axios';
import { discardBody } from './body';
import type { GuardContext } from './context';
import { onBudgetRecovery } from './decide';
import { publishRetry } from './events';
import { deadlineRefusal, refusal, type RetryDecision } from './policy';
import { payload, requestLabel } from './redact';
import { stateOf, type RequestState } from './state';
import type { RetryInfo } from './types';

/**
 * Runs before every retry (called directly before the first, as axios-retry's `onRetry`
 * before the others). Throws, ending the request,
 * when the hook throws, the request is canceled, or the deadline or a detach intervenes.
 */
export async function beforeRetry(error: AxiosError, config: AxiosRequestConfig, ctx: GuardContext): Promise<void> {
  const state = stateOf(config) as RequestState;
  const classification = state.classification;
  const decision = state.decision;
  if (classification === undefined || decision === undefined) return;
  const { options } = state;
  const { delayMs } = decision;
  if (decision.staleReplay) state.staleReplays += 1;
  state.history.push(
    Object.freeze({
      attempt: state.attempt,
      code: classification.code,
      kind: classification.kind,
      reusedSocket: classification.reusedSocket,
      idleMs: classification.idleMs,
      durationMs: Math.max(0, state.failedAt - state.startedAt),
      delayMs,
    }),
  );
  const info = payload<RetryInfo>(
    {
      requestId: state.requestId,
      ...requestLabel(config),
      attempt: state.attempt,
      nextAttempt: state.attempt + 1,
      maxAttempts: state.maxAttempts,
      delayMs,
      classification,
      reason: decision.reason,
    },
    { error, config },
  );
  publishRetry(info);
  const giveBack = (): void => {
    if (state.budget !== undefined) onBudgetRecovery(config, state, state.budget, state.budget.deposit(state.lastCost));
  };
  // The hook and the wait take time: the retry must still fit the deadline, and the guard be attached.
  const lateness = (waitMs: number): RetryDecision | undefined =>
    ctx.detached
      ? refusal('the guard was detached while the request was waiting to retry')
      : deadlineRefusal(options.deadlineMs, state.attempt, state.remainingMs(), waitMs);
  let yours = false;
  const refuse = (late: RetryDecision): never => {
    giveBack();
    state.decision = late;
    yours = true;
    throw error;
  };
  try {
    try {
      await options.onRetry?.(info);
    } catch (reason) {
      // No retry will be sent: its tokens go back, and a hook's error ends the request as it is.
      giveBack();
      state.hookError = reason;
      throw reason;
    }
    const beforeWait = lateness(delayMs);
    if (beforeWait !== undefined) refuse(beforeWait);
    try {
      await waitBeforeRetry(delayMs, config, options.sleep, ctx.stop.signal);
    } catch (reason) {
      giveBack();
      if (!isCancel(reason)) state.hookError = reason;
      throw reason;
    }
    const afterWait = lateness(0);
    if (afterWait !== undefined) refuse(afterWait);
    ctx.counters.retries += 1;
  } finally {
    // A streamed body of the failed attempt is dropped unless the request ends with that
    // attempt's error (a late refusal: then it is the caller's, as in plain axios). Anyone
    // else's would keep its socket out of the pool for good (with maxSockets, starving the
    // next request): the retry's, or a hook's error or a cancel that replaces it.
    if (!yours) discardBody(error.response?.data);
  }
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
  const canceled = (): unknown => token?.reason ?? new CanceledError(undefined, config as InternalAxiosRequestConfig);
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
    throw controller.signal.aborted ? canceled() : error;
  } finally {
    signal?.removeEventListener?.('abort', abort);
    token?.unsubscribe?.(abort);
    stop.removeEventListener('abort', abort);
  }
}
