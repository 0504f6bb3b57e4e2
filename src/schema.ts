/**
 * The one list of options: for each, its default, its check, where it may be set and
 * where it is written. `DEFAULTS`, the validation tables, the names offered for a typo and
 * the split between per-request and instance options are all read from {@link SCHEMA}
 * (`normalize.ts`); the public shapes in `options.ts` are written by hand for their JSDoc,
 * and a type-level test holds them to this list.
 */
import type { ResolvedRetryBudget } from './budget';
import { ResetGuardOptionError } from './errors';
import { MAX_TIMER_MS, sleep as defaultSleep } from './sleep';

/**
 * Where an option may be set: `call` in `attach()` and in a request's `config.resetGuard`,
 * `instance` in `attach()` only, `request` in `config.resetGuard` only.
 */
export type OptionScope = 'call' | 'instance' | 'request';

/** Where an option is written: at the top level, or inside the `expert` object. */
export type OptionGroup = 'top' | 'expert';

/** Validates one value, given the name to report; returns the value as resolved. */
export type Check = (name: string, value: unknown) => unknown;

/** One option of the {@link SCHEMA}. */
export interface OptionSpec<V = unknown> {
  /** The value when unset, as resolved (in `DEFAULTS`). */
  readonly default: V;
  /** Validates a value given and resolves it. */
  readonly check: Check;
  /** Where it may be set. */
  readonly scope: OptionScope;
  /** Where it is written. */
  readonly group: OptionGroup;
}

const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const DEFAULT_HEADER = { attemptHeader: 'x-request-attempt', requestIdHeader: 'x-request-id' } as const;

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
// Lists of names, compared without case: header names are RFC 9110 tokens; query parameter
// names any non-empty string (`user[token]` is one).
const names =
  (ok: (name: string) => boolean, what: string): Check =>
  (name, value) => {
    if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && ok(v))) {
      throw new ResetGuardOptionError(name, value, `an array of ${what} names`);
    }
    return Object.freeze((value as string[]).map((v) => v.toLowerCase()));
  };
const headerNames = names((v) => HEADER_NAME.test(v), 'header');
const paramNames = names((v) => v !== '', 'query parameter');
const idempotencyKey: Check = (name, value) => {
  if (value === false || typeof value === 'function') return value;
  if (value === true) return true;
  throw new ResetGuardOptionError(name, value, 'a boolean or a function returning the key');
};
const maxSockets: Check = (name, value) => (value === Number.POSITIVE_INFINITY ? value : positiveInt(name, value));
// axios-retry's default is null: the same as none
const validateResponse: Check = (name, value) => (value === null ? undefined : fn(name, value));

const BUDGET: ResolvedRetryBudget = Object.freeze({
  capacity: 500,
  retryCost: 5,
  staleCost: 1,
  timeoutCost: 10,
  successRefund: 1,
});
const BUDGET_KEYS = Object.keys(BUDGET);
const budget: Check = (name, value) => {
  if (value === false) return false;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new ResetGuardOptionError(name, value, 'false or an object of bucket sizes');
  }
  const out: Record<string, number> = { ...BUDGET };
  for (const [key, size] of Object.entries(value)) {
    if (!BUDGET_KEYS.includes(key)) {
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

// Short builders, so that each line below reads as one option (and the browser bundle
// holds the four field names once).
const where =
  <S extends OptionScope, G extends OptionGroup>(scope: S, group: G) =>
  <const V>(value: V, check: Check) =>
    ({ default: value, check, scope, group }) as const;
const call = where('call', 'top');
const instance = where('instance', 'top');
const request = where('request', 'top');
const callExpert = where('call', 'expert');
const instanceExpert = where('instance', 'expert');

/**
 * Every option, in the order of the README's tables. The resolved options are flat whatever
 * the group: `expert.staleIdleMs` resolves to `staleIdleMs`.
 */
export const SCHEMA = {
  retry: call(true, bool),
  retries: call(3, count),
  baseDelayMs: call(200, millis),
  maxDelayMs: call(10_000, millis),
  retryTimeouts: call(false, bool),
  retryNonIdempotent: call(false, bool),
  retryStatuses: call<readonly number[]>(Object.freeze([408, 429, 502, 503, 504]), statuses),
  attemptTimeoutMs: call(0, millis),
  deadlineMs: call(0, millis),
  idempotencyKey: call(false, idempotencyKey),
  attemptHeader: call(false, header),
  requestIdHeader: call(false, header),
  beforeRetry: call(undefined, fn),
  onGiveUp: call(undefined, fn),
  retryDelay: call(undefined, fn),
  retryCondition: call(undefined, fn),
  shouldResetTimeout: call(true, bool),
  onRetry: call(undefined, fn),
  onMaxRetryTimesExceeded: call(undefined, fn),
  validateResponse: call(undefined, validateResponse),
  // A body belongs to one request: never an instance option.
  body: request(undefined, fn),
  agents: instance(true, bool),
  freeSocketTimeout: instance(4000, positiveMillis),
  maxSockets: instance(Number.POSITIVE_INFINITY, maxSockets),
  redactHeaders: instance(Object.freeze([]) as readonly string[], headerNames),
  redactQuery: instance(Object.freeze([]) as readonly string[], paramNames),
  random: instance(Math.random, fn),
  sleep: instance(defaultSleep, fn),
  retryStaleNonIdempotent: callExpert(true, bool),
  staleIdleMs: callExpert(1000, millis),
  staleWindowMs: callExpert(500, millis),
  maxRetryAfterMs: callExpert(60_000, millis),
  noAnswerMs: instanceExpert(2000, millis),
  learnIdleLimits: instanceExpert(true, bool),
  keepAliveHints: instanceExpert(true, bool),
  maxFreeSockets: instanceExpert(256, positiveInt),
  socketLifetime: instanceExpert(0, millis),
  retryBudget: instanceExpert(BUDGET as ResolvedRetryBudget | false, budget),
} as const;

/** The schema's option names. */
export type OptionName = keyof typeof SCHEMA;

/** The names of the options of the given scopes and group, as a type. */
export type OptionNames<S extends OptionScope, G extends OptionGroup> = {
  [K in OptionName]: (typeof SCHEMA)[K]['scope'] extends S
    ? (typeof SCHEMA)[K]['group'] extends G
      ? K
      : never
    : never;
}[OptionName];
