import { ResetGuardOptionError } from './errors';
import { sleep as defaultSleep } from './sleep';
import type { InternalAxiosRequestConfig } from 'axios';
import type { GiveUpInfo, RetryInfo } from './types';

/** Sizes of the retry budget (a token bucket per guard): see {@link GuardOptions.retryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Tokens in a full bucket; the bucket starts full.
   * @default 500
   */
  capacity?: number | undefined;
  /**
   * Tokens a retry costs (resets, refused connections, status retries).
   * @default 5
   */
  retryCost?: number | undefined;
  /**
   * Tokens a retry after a stale keep-alive socket costs: the server never saw the request.
   * @default 1
   */
  staleCost?: number | undefined;
  /**
   * Tokens a retry after a timeout costs: the server may still be busy with the first one.
   * @default 10
   */
  timeoutCost?: number | undefined;
  /**
   * Tokens a request that succeeds at its first attempt puts back. A request that succeeds
   * after retries puts back what its last retry cost (as the AWS SDKs do).
   * @default 1
   */
  successRefund?: number | undefined;
}

/** {@link RetryBudgetOptions} after defaults and validation. */
export interface ResolvedRetryBudget {
  /** {@inheritDoc RetryBudgetOptions.capacity} */
  readonly capacity: number;
  /** {@inheritDoc RetryBudgetOptions.retryCost} */
  readonly retryCost: number;
  /** {@inheritDoc RetryBudgetOptions.staleCost} */
  readonly staleCost: number;
  /** {@inheritDoc RetryBudgetOptions.timeoutCost} */
  readonly timeoutCost: number;
  /** {@inheritDoc RetryBudgetOptions.successRefund} */
  readonly successRefund: number;
}

/** Makes the `Idempotency-Key` value of one logical request. */
export type IdempotencyKeyFactory = (config: InternalAxiosRequestConfig) => string;

/** Options that can be set per instance (`attach`) and per request (`config.resetGuard`). */
export interface RequestOptions {
  /**
   * Master switch for retries. `resetGuard: { retry: false }` sends one attempt only.
   * @default true
   */
  retry?: boolean | undefined;
  /**
   * Retries after the first attempt (so at most `retries + 1` attempts).
   * @default 3
   */
  retries?: number | undefined;
  /**
   * Ceiling of the first backoff wait; it doubles per retry. Waits use full jitter:
   * a uniform draw between 0 and the ceiling. Not used for stale sockets (retried at once).
   * @default 200
   */
  baseDelayMs?: number | undefined;
  /**
   * Cap on any single backoff wait.
   * @default 10000
   */
  maxDelayMs?: number | undefined;
  /**
   * Also retry timeouts (`ECONNABORTED` from axios's `timeout`, `ETIMEDOUT`).
   * Off because a request that timed out may still be running on the server.
   * @default false
   */
  retryTimeouts?: boolean | undefined;
  /**
   * Retry non-idempotent methods (POST, PATCH, ...) like idempotent ones, for every
   * retryable failure. Only turn on when the server deduplicates writes.
   * @default false
   */
  retryNonIdempotent?: boolean | undefined;
  /**
   * Resend a non-idempotent request once when it failed on a reused keep-alive socket
   * before any response byte, and that socket had idled at least `staleIdleMs`:
   * the far side had forgotten the connection, so the request never reached the application.
   * @default true
   */
  retryStaleNonIdempotent?: boolean | undefined;
  /**
   * Idle time a reused socket must have spent in the pool for `retryStaleNonIdempotent`
   * to apply. A socket that died sooner more likely means the server crashed mid-request.
   * @default 1000
   */
  staleIdleMs?: number | undefined;
  /**
   * A failure on a reused socket counts as a stale socket only when it came within this
   * many ms of the attempt's start: a connection the far side had dropped answers the first
   * packet at once (one round trip), while one that fails later was alive and busy, so the
   * server may have acted on the request. Later failures are plain resets. Only the time
   * the process spent waiting counts: time its event loop was busy (GC, CPU work, building
   * a large body) is subtracted.
   * @default 500
   */
  staleWindowMs?: number | undefined;
  /**
   * HTTP statuses retried for idempotent methods (and requests carrying an
   * `Idempotency-Key`), honouring `Retry-After`. 408, 429 and 503 say "try again";
   * 502 and 504 are what a proxy answers when its upstream connection was reset or hung.
   * `[]` retries no status.
   * @default [408, 429, 502, 503, 504]
   */
  retryStatuses?: readonly number[] | undefined;
  /**
   * Longest `Retry-After` the guard waits for. A response asking for longer comes back
   * at once, as the request's error, instead of holding the caller.
   * @default 60000
   */
  maxRetryAfterMs?: number | undefined;
  /**
   * Timeout of each attempt, in ms (0: axios's own `timeout` applies to each attempt).
   * When both are set, the shorter one applies.
   * @default 0
   */
  attemptTimeoutMs?: number | undefined;
  /**
   * Overall deadline of a logical request, across attempts and waits, in ms (0: none).
   * Each attempt's timeout is cut to the time left, and a wait that would cross the
   * deadline is not started.
   * @default 0
   */
  deadlineMs?: number | undefined;
  /**
   * Send an `Idempotency-Key` header on non-idempotent requests (POST, PATCH, ...) that
   * have none: a random UUID with `true`, or the string your function returns. The same
   * key goes with every attempt of one logical request, which makes such requests
   * retryable like GET: the server is expected to apply a key once. A factory that throws
   * fails the request with its own error, before anything is sent.
   * @default false
   */
  idempotencyKey?: boolean | IdempotencyKeyFactory | undefined;
  /**
   * Header carrying `attempt/maxAttempts` (e.g. `2/4`) on every attempt; `true` means
   * `x-request-attempt`, `false` sends none.
   * @default false
   */
  attemptHeader?: string | boolean | undefined;
  /**
   * Header carrying the stable request id on every attempt; `true` means `x-request-id`,
   * `false` sends none.
   * @default false
   */
  requestIdHeader?: string | boolean | undefined;
  /**
   * Called before each wait, with the planned delay. A hook that throws (or rejects)
   * stops the retries and its error is what the request rejects with.
   * @default undefined
   */
  onRetry?: ((info: RetryInfo) => void | Promise<void>) | undefined;
  /**
   * Called when a transient failure ends the request (limit reached, or a rule forbade
   * another attempt). A hook that throws replaces the request's error with its own.
   * @default undefined
   */
  onGiveUp?: ((info: GiveUpInfo) => void | Promise<void>) | undefined;
}

/** Options of `attach()` / `createClient()`. */
export interface GuardOptions extends RequestOptions {
  /**
   * Install agentkeepalive agents as the instance's `httpAgent`/`httpsAgent` when it has none.
   * Agents the user set are used as they are and never destroyed by the guard.
   * @default true
   */
  agents?: boolean | undefined;
  /**
   * How long an idle keep-alive socket stays in the pool (agents the guard creates).
   * One second under the 5 s idle timeout of Node's, Apache's and uvicorn's servers.
   * @default 4000
   */
  freeSocketTimeout?: number | undefined;
  /**
   * Follow the server's `Keep-Alive: timeout=N, max=M` hint on the guard's agents: a socket
   * idles at most N-1 s and is not reused after M responses.
   * @default true
   */
  keepAliveHints?: boolean | undefined;
  /**
   * Learn from stale-socket resets: when a pooled socket to some origin turns out forgotten
   * after T ms idle, the guard's agents keep that origin's free sockets under 0.75 x T
   * (never under 250 ms) from then on. For middleboxes that drop idle connections silently.
   * @default true
   */
  learnIdleLimits?: boolean | undefined;
  /**
   * Most sockets per origin on the guard's agents (Node's default: no limit).
   * @default Infinity
   */
  maxSockets?: number | undefined;
  /**
   * Most free sockets kept per origin on the guard's agents (Node's default).
   * @default 256
   */
  maxFreeSockets?: number | undefined;
  /**
   * Maximum lifetime of a socket in ms (0: none): an older socket is closed when it goes
   * free, so connections rotate across DNS-balanced endpoints.
   * @default 0
   */
  socketLifetime?: number | undefined;
  /**
   * A token bucket that keeps retries from turning an outage into a storm: retries spend
   * tokens, successes put them back. When the bucket cannot pay for a retry, requests
   * still go out once but are not retried, and the error's reason says the budget is
   * exhausted. `false` turns it off.
   * @default { capacity: 500, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 }
   */
  retryBudget?: RetryBudgetOptions | false | undefined;
  /**
   * Extra header names (case-insensitive) whose values never appear in diagnostics, debug
   * lines, hook payloads or the `toJSON()` of final errors. `Authorization`,
   * `Proxy-Authorization`, `Cookie` and `Set-Cookie` are always redacted.
   * @default []
   */
  redactHeaders?: readonly string[] | undefined;
  /**
   * Source of randomness for backoff jitter, returning [0, 1). For tests.
   * @default Math.random
   */
  random?: (() => number) | undefined;
  /**
   * Waits between attempts; must reject when `signal` aborts. For tests.
   * @default an AbortSignal-aware setTimeout
   */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}

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
  /** {@inheritDoc RequestOptions.onRetry} */
  readonly onRetry: ((info: RetryInfo) => void | Promise<void>) | undefined;
  /** {@inheritDoc RequestOptions.onGiveUp} */
  readonly onGiveUp: ((info: GiveUpInfo) => void | Promise<void>) | undefined;
  /** {@inheritDoc GuardOptions.agents} */
  readonly agents: boolean;
  /** {@inheritDoc GuardOptions.freeSocketTimeout} */
  readonly freeSocketTimeout: number;
  /** {@inheritDoc GuardOptions.keepAliveHints} */
  readonly keepAliveHints: boolean;
  /** {@inheritDoc GuardOptions.learnIdleLimits} */
  readonly learnIdleLimits: boolean;
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
  onRetry: undefined,
  onGiveUp: undefined,
  agents: true,
  freeSocketTimeout: 4000,
  keepAliveHints: true,
  learnIdleLimits: true,
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
const millis: Check = (name, value) => {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ResetGuardOptionError(name, value, 'a finite number of milliseconds >= 0');
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
  onRetry: fn,
  onGiveUp: fn,
} satisfies Record<keyof RequestOptions, Check>;

const GUARD_CHECKS = {
  ...REQUEST_CHECKS,
  agents: bool,
  freeSocketTimeout: positiveMillis,
  keepAliveHints: bool,
  learnIdleLimits: bool,
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
      throw new ResetGuardOptionError(name, value, `a known option (${Object.keys(checks).join(', ')})`);
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
export function mergeRequestOptions(base: ResolvedOptions, perRequest: RequestOptions | undefined): ResolvedOptions {
  return merge(base, perRequest, REQUEST_CHECKS, 'resetGuard');
}
