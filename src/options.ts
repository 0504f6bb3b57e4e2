import { ResetGuardOptionError } from './errors';
import { sleep as defaultSleep } from './sleep';
import type { GiveUpInfo, RetryInfo } from './types';

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

const REQUEST_CHECKS = {
  retry: bool,
  retries: count,
  baseDelayMs: millis,
  maxDelayMs: millis,
  retryTimeouts: bool,
  retryNonIdempotent: bool,
  retryStaleNonIdempotent: bool,
  staleIdleMs: millis,
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
    const check = checks[key];
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
