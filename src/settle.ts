/**
 * When a request ends in failure: the final error gets the user's config back, the
 * attempt metadata and the reason no further attempt was sent (`error.resetGuard`), and
 * a `toJSON()` that redacts secrets; a transient failure counts as "gave up" and fires
 * `onGiveUp`. A hook's own error passes untouched.
 */
import {
  AxiosError as AxiosErrorClass,
  isAxiosError,
  isCancel,
  type AxiosError,
  type InternalAxiosRequestConfig,
} from 'axios';
import { discardBody } from './body';
import { callerView } from './caller-view';
import { classifyError } from './classify';
import { announceLateHook, publishGiveUp } from './events';
import { aFailureOf } from './kinds';
import { payload, redactErrorJSON, requestLabel, type Secrets } from './redact';
import { stateOf, type RequestState } from './state';
import type { GiveUpInfo, LateHookEvent, ResetGuardErrorInfo } from './types';

type GuardedError = AxiosError & { resetGuard?: ResetGuardErrorInfo };

/**
 * The error a failed request rejects with (the same object, presented). `ownError` is
 * set when a hook, the sleep or the body factory threw it rather than an attempt failing.
 */
export async function settleFailure(error: unknown, state: RequestState, ownError = false): Promise<unknown> {
  const { config, guard: ctx } = state;
  if (ownError) {
    // A hook's own error passes untouched; the attempt's error rethrown by a hook still
    // gets the user's config back and a redacted toJSON.
    if (isAxiosError(error) && stateOf(error.config) === state) present(error, config, ctx.secrets);
    return error;
  }
  if (!isAxiosError(error)) return error;
  // Another guard's verdict (a guarded request made inside this one's adapter) stands.
  const other = stateOf(error.config);
  if (other !== undefined && other !== state) return error;
  present(error, config, ctx.secrets);
  if (isCancel(error)) return error;
  const last = state.last;
  const classification = last?.classification ?? classifyError(error, { startedAt: last?.startedAt });
  const reason = last?.decision?.reason ?? `${aFailureOf(classification.kind)} is not retried`;
  const info: ResetGuardErrorInfo = Object.freeze({ attempt: state.snapshot(), classification, reason });
  (error as GuardedError).resetGuard = info;
  if (last?.decision?.transient ?? classification.retryable) {
    ctx.counters.gaveUp += 1;
    const giveUp = payload<GiveUpInfo>(
      {
        requestId: state.requestId,
        ...requestLabel(config, ctx.secrets),
        attempts: state.attempt,
        classification,
        reason,
      },
      { error },
    );
    publishGiveUp(giveUp);
    const onGiveUp = state.options.onGiveUp;
    if (onGiveUp !== undefined) await runEndHook('onGiveUp', () => onGiveUp(giveUp), error, state);
  }
  // axios-retry's hook: the request failed with every retry used (with retries: 0, at once).
  const exceeded = state.options.onMaxRetryTimesExceeded;
  if (exceeded !== undefined && state.attempt - 1 >= state.options.retries) {
    const run = (): unknown => exceeded(callerView(error), state.attempt - 1);
    await runEndHook('onMaxRetryTimesExceeded', run, error, state);
  }
  return error;
}

const LATE = Symbol('late');

/**
 * Runs a hook of the ending request: an error it throws replaces the request's. It has
 * until the deadline: one still pending then lets the request's own error through on
 * time (issue 22), and its outcome is announced when it comes, never left unhandled.
 */
async function runEndHook(
  name: LateHookEvent['hook'],
  hook: () => unknown,
  error: AxiosError,
  state: RequestState,
): Promise<void> {
  try {
    const outcome = Promise.resolve(hook());
    const left = state.remainingMs();
    if ((await (left === undefined ? outcome : beforeDeadline(outcome, left))) !== LATE) return;
    const report = (how: LateHookEvent['outcome'], raw: Record<string, unknown>): void => {
      const summary = {
        requestId: state.requestId,
        ...requestLabel(state.config, state.guard.secrets),
        hook: name,
        outcome: how,
      };
      announceLateHook(payload<LateHookEvent>(summary, raw));
    };
    outcome.then(
      () => report('resolved', {}),
      (hookError: unknown) => report('rejected', { error: hookError }),
    );
  } catch (hookError) {
    // Nobody can read the replaced error's streamed body any more.
    discardBody(error.response?.data);
    throw hookError;
  }
}

/** `outcome`, or {@link LATE} when `ms` pass first (a hook settling at once always wins). */
async function beforeDeadline(outcome: Promise<unknown>, ms: number): Promise<unknown> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      outcome,
      new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, ms), LATE))),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The user's config, made to describe the attempt that produced `answered` (a retry's
 * response or error carries the retry's own config): its headers, the attempt number
 * among them, are the ones that attempt sent.
 */
export function describeAttempt(config: InternalAxiosRequestConfig, answered: unknown): InternalAxiosRequestConfig {
  const sent = answered as InternalAxiosRequestConfig | undefined;
  // Only an attempt of this request: an inner request's config (a nested guard's, a custom
  // adapter's) describes another request.
  if (sent === undefined || sent === config || sent.headers === undefined) return config;
  const mine = stateOf(config);
  if (mine !== undefined && stateOf(sent) === mine) config.headers = sent.headers;
  return config;
}

/** Gives the final error the user's config and a `toJSON()` that redacts secrets. */
function present(error: AxiosError, config: InternalAxiosRequestConfig, secrets: Secrets): void {
  error.config = describeAttempt(config, error.config);
  if (error.response !== undefined) error.response.config = config;
  Object.defineProperty(error, 'toJSON', {
    configurable: true,
    writable: true,
    value(this: AxiosError): unknown {
      const json = redactErrorJSON(AxiosErrorClass.prototype.toJSON.call(this), secrets) as Record<string, unknown>;
      const info = (this as GuardedError).resetGuard;
      return info === undefined ? json : { ...json, resetGuard: info };
    },
  });
}

/**
 * What the guard concluded about a request's final error: its attempt metadata, the
 * classification of the last failure and why no further attempt was sent.
 * Also readable as `error.resetGuard`.
 * @example
 * catch (err) { log.warn(failureOf(err)?.reason); }
 */
export function failureOf(error: unknown): ResetGuardErrorInfo | undefined {
  return isAxiosError(error) ? (error as GuardedError).resetGuard : undefined;
}
