/**
 * The resolved options: their shape, the one frozen {@link DEFAULTS}, and the one
 * normalize-and-validate step (options merged over the defaults, each value checked once,
 * a {@link ResetGuardOptionError} naming the option and the value).
 */
import type { IAxiosRetryConfig } from 'axios-retry';
import type { ResolvedRetryBudget } from './budget';
import { ResetGuardOptionError } from './errors';
import type { BodyFactory, GuardOptions, IdempotencyKeyFactory, PerRequestOptions, RequestOptions } from './options';
import { nearNames } from './near-names';
import { MAX_TIMER_MS, sleep as defaultSleep } from './sleep';
import type { GiveUpInfo, RetryInfo } from './types';

/**
 * Options after defaults and validation: every field present. Each field means what the
 * option of the same name in {@link GuardOptions} means.
 */
export interface ResolvedOptions {
  /** {@inheritDoc RequestOptions.retry} */
  readonly retry: boolean;
  /** {@inheritDoc RequestOptions.retries} */
  readonly retries: number;
  /** {@inheritDoc RequestOptions.baseDelayMs} */
  readonly baseDelayMs: number;
  /** {@inheritDoc RequestOptions.maxDelayMs} */
  readonly maxDelayMs: number;
  /** {@inheritDoc RequestOptions.retryTimeouts} */
  readonly retryTimeouts: boolean;
  /** {@inheritDoc RequestOptions.retryNonIdempotent} */
  readonly retryNonIdempotent: boolean;
  /** {@inheritDoc RequestOptions.retryStaleNonIdempotent} */
  readonly retryStaleNonIdempotent: boolean;
  /** {@inheritDoc RequestOptions.staleIdleMs} */
  readonly staleIdleMs: number;
  /** {@inheritDoc RequestOptions.staleWindowMs} */
  readonly staleWindowMs: number;
  /** {@inheritDoc RequestOptions.retryStatuses} */
  readonly retryStatuses: readonly number[];
  /** {@inheritDoc RequestOptions.maxRetryAfterMs} */
  readonly maxRetryAfterMs: number;
  /** {@inheritDoc RequestOptions.attemptTimeoutMs} */
  readonly attemptTimeoutMs: number;
  /** {@inheritDoc RequestOptions.deadlineMs} */
  readonly deadlineMs: number;
  /** {@inheritDoc RequestOptions.idempotencyKey} */
  readonly idempotencyKey: boolean | IdempotencyKeyFactory;
  /** The header name in lower case (`true` resolved to `x-request-attempt`), or `false` for none. */
  readonly attemptHeader: string | false;
  /** The header name in lower case (`true` resolved to `x-request-id`), or `false` for none. */
  readonly requestIdHeader: string | false;
  /** {@inheritDoc RequestOptions.beforeRetry} */
  readonly beforeRetry: ((info: RetryInfo) => void | Promise<void>) | undefined;
  /** {@inheritDoc RequestOptions.retryDelay} */
  readonly retryDelay: IAxiosRetryConfig['retryDelay'] | undefined;
  /** {@inheritDoc RequestOptions.retryCondition} */
  readonly retryCondition: IAxiosRetryConfig['retryCondition'] | undefined;
  /** {@inheritDoc RequestOptions.shouldResetTimeout} */
  readonly shouldResetTimeout: boolean;
  /** {@inheritDoc RequestOptions.onRetry} */
  readonly onRetry: IAxiosRetryConfig['onRetry'] | undefined;
  /** {@inheritDoc RequestOptions.onMaxRetryTimesExceeded} */
  readonly onMaxRetryTimesExceeded: IAxiosRetryConfig['onMaxRetryTimesExceeded'] | undefined;
  /** {@inheritDoc RequestOptions.validateResponse} */
  readonly validateResponse: IAxiosRetryConfig['validateResponse'] | undefined;
  /** {@inheritDoc RequestOptions.onGiveUp} */
  readonly onGiveUp: ((info: GiveUpInfo) => void | Promise<void>) | undefined;
  /** {@inheritDoc PerRequestOptions.body} */
  readonly body: BodyFactory | undefined;
  /** {@inheritDoc GuardOptions.agents} */
  readonly agents: boolean;
  /** {@inheritDoc GuardOptions.freeSocketTimeout} */
  readonly freeSocketTimeout: number;
  /** {@inheritDoc GuardOptions.keepAliveHints} */
  readonly keepAliveHints: boolean;
  /** {@inheritDoc GuardOptions.learnIdleLimits} */
  readonly learnIdleLimits: boolean;
  /** {@inheritDoc GuardOptions.noAnswerMs} */
  readonly noAnswerMs: number;
  /** {@inheritDoc GuardOptions.maxSockets} */
  readonly maxSockets: number;
  /** {@inheritDoc GuardOptions.maxFreeSockets} */
  readonly maxFreeSockets: number;
  /** {@inheritDoc GuardOptions.socketLifetime} */
  readonly socketLifetime: number;
  /** {@inheritDoc GuardOptions.retryBudget} */
  readonly retryBudget: ResolvedRetryBudget | false;
  /** {@inheritDoc GuardOptions.redactHeaders} */
  readonly redactHeaders: readonly string[];
  /** {@inheritDoc GuardOptions.random} */
  readonly random: () => number;
  /** {@inheritDoc GuardOptions.sleep} */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

/** Every default, in one frozen object (the JSDoc `@default` tags say the same). */
export const DEFAULTS: Readonly<ResolvedOptions> = Object.freeze({
  retry: true,
  retries: 3,
  baseDelayMs: 200,
  maxDelayMs: 10_000,
  retryTimeouts: false,
  retryNonIdempotent: false,
  retryStaleNonIdempotent: true,
  staleIdleMs: 1000,
  staleWindowMs: 500,
  retryStatuses: Object.freeze([408, 429, 502, 503, 504]),
  maxRetryAfterMs: 60_000,
  attemptTimeoutMs: 0,
  deadlineMs: 0,
  idempotencyKey: false,
  attemptHeader: false,
  requestIdHeader: false,
  beforeRetry: undefined,
  retryDelay: undefined,
  retryCondition: undefined,
  shouldResetTimeout: true,
  onRetry: undefined,
  onMaxRetryTimesExceeded: undefined,
  validateResponse: undefined,
  onGiveUp: undefined,
  body: undefined,
  agents: true,
  freeSocketTimeout: 4000,
  keepAliveHints: true,
  learnIdleLimits: true,
  noAnswerMs: 2000,
  maxSockets: Number.POSITIVE_INFINITY,
  maxFreeSockets: 256,
  socketLifetime: 0,
  retryBudget: Object.freeze({ capacity: 500, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 }),
  redactHeaders: Object.freeze([] as string[]),
  random: Math.random,
  sleep: defaultSleep,
});

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DEFAULT_HEADER = { attemptHeader: 'x-request-attempt', requestIdHeader: 'x-request-id' } as const;

type Check = (name: string, value: unknown) => unknown;

const bool: Check = (name, value) => {
  if (typeof value !== 'boolean') throw new ResetGuardOptionError(name, value, 'a boolean');
  return value;
};
const count: Check = (name, value) => {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 100) {
    throw new ResetGuardOptionError(name, value, 'an integer from 0 to 100');
  }
  return value;
};
// No millisecond option may exceed Node's longest timer: a 30-day deadline would fire at once.
const millis: Check = (name, value) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > MAX_TIMER_MS) {
    throw new ResetGuardOptionError(
      name,
      value,
      `a number of milliseconds from 0 to ${MAX_TIMER_MS} (Node's longest timer, ~24.8 days)`,
    );
  }
  return value;
};
const positiveMillis: Check = (name, value) => {
  if (millis(name, value) === 0) throw new ResetGuardOptionError(name, value, 'a number of milliseconds > 0');
  return value;
};
const positiveInt: Check = (name, value) => {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 1) {
    throw new ResetGuardOptionError(name, value, 'a positive integer');
  }
  return value;
};
const fn: Check = (name, value) => {
  if (value !== undefined && typeof value !== 'function') {
    throw new ResetGuardOptionError(name, value, 'a function');
  }
  return value;
};
const header: Check = (name, value) => {
  if (value === false) return false;
  if (value === true)
    return name.endsWith('attemptHeader') ? DEFAULT_HEADER.attemptHeader : DEFAULT_HEADER.requestIdHeader;
  if (typeof value !== 'string' || !HEADER_NAME.test(value)) {
    throw new ResetGuardOptionError(name, value, 'a boolean or a valid header name');
  }
  return value.toLowerCase();
};

const statuses: Check = (name, value) => {
  const ok = (v: unknown): boolean => typeof v === 'number' && Number.isInteger(v) && v >= 100 && v <= 599;
  if (!Array.isArray(value) || !value.every(ok)) {
    throw new ResetGuardOptionError(name, value, 'an array of HTTP status codes (integers from 100 to 599)');
  }
  return Object.freeze([...new Set(value as number[])]);
};
const headerNames: Check = (name, value) => {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && HEADER_NAME.test(v))) {
    throw new ResetGuardOptionError(name, value, 'an array of header names');
  }
  return Object.freeze((value as string[]).map((v) => v.toLowerCase()));
};
const idempotencyKey: Check = (name, value) => {
  if (value === false || typeof value === 'function') return value;
  if (value === true) return true;
  throw new ResetGuardOptionError(name, value, 'a boolean or a function returning the key');
};
const BUDGET_KEYS = ['capacity', 'retryCost', 'staleCost', 'timeoutCost', 'successRefund'] as const;
const budget: Check = (name, value) => {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResetGuardOptionError(name, value, 'false or an object of bucket sizes');
  }
  const out: Record<string, number> = { ...(DEFAULTS.retryBudget as ResolvedRetryBudget) };
  for (const [key, size] of Object.entries(value)) {
    if (!(BUDGET_KEYS as readonly string[]).includes(key)) {
      throw new ResetGuardOptionError(`${name}.${key}`, size, `a known budget size (${BUDGET_KEYS.join(', ')})`);
    }
    if (size === undefined) continue;
    if (typeof size !== 'number' || !Number.isFinite(size) || size < 0) {
      throw new ResetGuardOptionError(`${name}.${key}`, size, 'a finite number >= 0');
    }
    out[key] = size;
  }
  return Object.freeze(out);
};

const REQUEST_CHECKS = {
  retry: bool,
  retries: count,
  baseDelayMs: millis,
  maxDelayMs: millis,
  retryTimeouts: bool,
  retryNonIdempotent: bool,
  retryStaleNonIdempotent: bool,
  staleIdleMs: millis,
  staleWindowMs: millis,
  retryStatuses: statuses,
  maxRetryAfterMs: millis,
  attemptTimeoutMs: millis,
  deadlineMs: millis,
  idempotencyKey,
  attemptHeader: header,
  requestIdHeader: header,
  beforeRetry: fn,
  retryDelay: fn,
  retryCondition: fn,
  shouldResetTimeout: bool,
  onRetry: fn,
  onMaxRetryTimesExceeded: fn,
  // axios-retry's default is null: the same as none
  validateResponse: (name, value) => (value === null ? undefined : fn(name, value)),
  onGiveUp: fn,
} satisfies Record<keyof RequestOptions, Check>;

// A body belongs to one request: `body` is not an instance option.
const PER_REQUEST_CHECKS = { ...REQUEST_CHECKS, body: fn } satisfies Record<keyof PerRequestOptions, Check>;

const GUARD_CHECKS = {
  ...REQUEST_CHECKS,
  agents: bool,
  freeSocketTimeout: positiveMillis,
  keepAliveHints: bool,
  learnIdleLimits: bool,
  noAnswerMs: millis,
  maxSockets: (name, value) => (value === Number.POSITIVE_INFINITY ? value : positiveInt(name, value)),
  maxFreeSockets: positiveInt,
  socketLifetime: millis,
  retryBudget: budget,
  redactHeaders: headerNames,
  random: fn,
  sleep: fn,
} satisfies Record<keyof GuardOptions, Check>;

function merge(base: ResolvedOptions, input: unknown, checks: Record<string, Check>, where: string): ResolvedOptions {
  if (input === undefined) return base;
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ResetGuardOptionError(where, input, 'an object');
  }
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(input)) {
    // Own keys only: `__proto__` or `toString` must not find Object.prototype's members.
    const check = Object.hasOwn(checks, key) ? checks[key] : undefined;
    const name = where === 'options' ? key : `${where}.${key}`;
    if (check === undefined) {
      const near = nearNames(key, Object.keys(checks));
      const expected =
        near.length > 0
          ? `a known option (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)`
          : `a known option (${Object.keys(checks).join(', ')})`;
      throw new ResetGuardOptionError(name, value, expected);
    }
    // `undefined` means "not set here": keep what the base had.
    if (value === undefined) continue;
    out[key] = check(name, value);
  }
  return Object.freeze(out) as unknown as ResolvedOptions;
}

/**
 * Merges `options` over {@link DEFAULTS} and validates every value once.
 * @throws {ResetGuardOptionError} naming the option and the value, on a wrong type,
 * a negative or non-finite number, or an unknown option name.
 */
export function normalizeOptions(options?: GuardOptions): ResolvedOptions {
  return merge(DEFAULTS, options, GUARD_CHECKS, 'options');
}

/** Merges a request's `config.resetGuard` over the instance's resolved options. */
export function mergeRequestOptions(base: ResolvedOptions, perRequest: PerRequestOptions | undefined): ResolvedOptions {
  return merge(base, perRequest, PER_REQUEST_CHECKS, 'resetGuard');
}
