/**
 * The options one request runs under: the instance's, a leftover axios-retry key of the
 * request, then `config.resetGuard`; and the attempt bound they imply with axios's `timeout`.
 */
import type { InternalAxiosRequestConfig } from 'axios';
import type { GuardContext } from './context';
import { ResetGuardOptionError } from './errors';
import { mergeRequestOptions, type ResolvedOptions } from './normalize';
import { refuseSeams, seamsOf } from './seams';

/**
 * The request's options: the instance's with `config.resetGuard` over them. axios-retry's
 * `shouldResetTimeout: false` makes axios's `timeout` one budget for every attempt and wait:
 * a deadline.
 */
export function optionsOf(config: InternalAxiosRequestConfig, ctx: GuardContext): ResolvedOptions {
  const carried = (config as { 'axios-retry'?: unknown })['axios-retry'];
  const base = carried === undefined ? ctx.options : withAxiosRetryKey(ctx.options, carried);
  refuseSeams(config.resetGuard, 'resetGuard.');
  // Seams are the instance's (its waits and record): ignored here, a test would sleep for real.
  if (seamsOf(config.resetGuard) !== undefined) {
    throw new ResetGuardOptionError(
      'resetGuard',
      config.resetGuard,
      'options without the test seams: pass testingOptions() to attach() or createClient()',
    );
  }
  const options = mergeRequestOptions(base, config.resetGuard);
  const shared = config.timeout ?? 0;
  if (options.shouldResetTimeout || shared <= 0) return options;
  const deadlineMs = options.deadlineMs > 0 ? Math.min(options.deadlineMs, shared) : shared;
  return Object.freeze({ ...options, deadlineMs });
}

// What a request's `'axios-retry'` key may hold: axios-retry's per-request options, and the
// state axios-retry itself leaves there (ignored).
const AXIOS_RETRY_KEYS = new Set([
  'retries',
  'retryDelay',
  'retryCondition',
  'shouldResetTimeout',
  'onRetry',
  'onMaxRetryTimesExceeded',
  'validateResponse',
]);
const AXIOS_RETRY_STATE = new Set(['retryCount', 'lastRequestTime']);

/**
 * A request's `config['axios-retry']`, as a migrating caller left it: its options apply to
 * that request as axios-retry would apply them (under `resetGuard`, which wins).
 */
function withAxiosRetryKey(base: ResolvedOptions, carried: unknown): ResolvedOptions {
  const where = "config['axios-retry']";
  if (typeof carried !== 'object' || carried === null || Array.isArray(carried)) {
    throw new ResetGuardOptionError(where, carried, 'an object of axios-retry options');
  }
  const picked: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(carried)) {
    if (AXIOS_RETRY_STATE.has(key)) continue;
    if (!AXIOS_RETRY_KEYS.has(key)) {
      throw new ResetGuardOptionError(
        `${where}.${key}`,
        value,
        `an axios-retry option (${[...AXIOS_RETRY_KEYS].join(', ')})`,
      );
    }
    picked[key] = value;
  }
  try {
    return mergeRequestOptions(base, picked);
  } catch (error) {
    // Named where the caller wrote it.
    if (!(error instanceof ResetGuardOptionError)) throw error;
    throw new ResetGuardOptionError(error.option.replace(/^resetGuard/, where), error.value, error.expected);
  }
}

/** The shorter of `attemptTimeoutMs` and axios's `timeout`, where 0 means none. */
export function attemptTimeoutOf(attemptTimeoutMs: number, timeout: number | undefined): number {
  const axiosTimeout = timeout ?? 0;
  if (attemptTimeoutMs > 0 && axiosTimeout > 0) return Math.min(attemptTimeoutMs, axiosTimeout);
  return attemptTimeoutMs > 0 ? attemptTimeoutMs : axiosTimeout;
}
