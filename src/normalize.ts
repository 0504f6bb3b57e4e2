/**
 * The resolved options: their shape, the one frozen {@link DEFAULTS}, and the one
 * normalize-and-validate step (options merged over the defaults, each value checked once,
 * a {@link ResetGuardOptionError} naming the option and the value). All of it is read from
 * the one list of options, {@link SCHEMA} (`schema.ts`).
 */
import type { IAxiosRetryConfig } from 'axios-retry';
import type { ResolvedRetryBudget } from './budget';
import { ResetGuardOptionError } from './errors';
import type { BodyFactory, GuardOptions, IdempotencyKeyFactory, PerRequestOptions } from './options';
import { nearNames } from './near-names';
import { SCHEMA, type OptionName, type OptionSpec } from './schema';
import type { GiveUpInfo, RetryInfo } from './types';

/**
 * Options after defaults and validation: every field present, and flat: an option written
 * inside `expert` (`expert.staleIdleMs`) is resolved to the field of its own name
 * (`staleIdleMs`). Each field means what the option of the same name in {@link GuardOptions}
 * or its `expert` object means.
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
  /** {@inheritDoc PerRequestExpertOptions.retryStaleNonIdempotent} */
  readonly retryStaleNonIdempotent: boolean;
  /** {@inheritDoc PerRequestExpertOptions.staleIdleMs} */
  readonly staleIdleMs: number;
  /** {@inheritDoc PerRequestExpertOptions.staleWindowMs} */
  readonly staleWindowMs: number;
  /** {@inheritDoc RequestOptions.retryStatuses} */
  readonly retryStatuses: readonly number[];
  /** {@inheritDoc PerRequestExpertOptions.maxRetryAfterMs} */
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
  /** {@inheritDoc ExpertOptions.keepAliveHints} */
  readonly keepAliveHints: boolean;
  /** {@inheritDoc ExpertOptions.learnIdleLimits} */
  readonly learnIdleLimits: boolean;
  /** {@inheritDoc ExpertOptions.noAnswerMs} */
  readonly noAnswerMs: number;
  /** {@inheritDoc GuardOptions.maxSockets} */
  readonly maxSockets: number;
  /** {@inheritDoc ExpertOptions.maxFreeSockets} */
  readonly maxFreeSockets: number;
  /** {@inheritDoc ExpertOptions.socketLifetime} */
  readonly socketLifetime: number;
  /** {@inheritDoc ExpertOptions.retryBudget} */
  readonly retryBudget: ResolvedRetryBudget | false;
  /** {@inheritDoc GuardOptions.redactHeaders} */
  readonly redactHeaders: readonly string[];
  /** {@inheritDoc GuardOptions.redactQuery} */
  readonly redactQuery: readonly string[];
  /** {@inheritDoc GuardOptions.random} */
  readonly random: () => number;
  /** {@inheritDoc GuardOptions.sleep} */
  readonly sleep: (ms: number, signal?: AbortSignal) => Promise<void>;
}

// The schema seen through the resolved shape: a default of the wrong type, or an option
// the resolved shape lacks, is a compile error here.
const SPECS: { readonly [K in keyof ResolvedOptions]: OptionSpec<ResolvedOptions[K]> } = SCHEMA;
const NAMES = Object.keys(SPECS) as OptionName[];

/**
 * Every default, in one frozen object (the JSDoc `@default` tags say the same). Flat like
 * {@link ResolvedOptions}: `DEFAULTS.staleIdleMs` is the default of `expert.staleIdleMs`.
 */
export const DEFAULTS: Readonly<ResolvedOptions> = Object.freeze(
  Object.fromEntries(NAMES.map((name) => [name, SPECS[name].default])) as unknown as ResolvedOptions,
);

/** Where options are being read: `attach()`'s or one request's `config.resetGuard`. */
type Place = 'instance' | 'request';

// Own keys only: `__proto__` or `toString` must not find Object.prototype's members.
const specOf = (key: string): OptionSpec | undefined =>
  Object.hasOwn(SPECS, key) ? SPECS[key as OptionName] : undefined;

/** Whether `place` accepts `spec` in `group`. */
const accepts = (spec: OptionSpec | undefined, place: Place, group: 'top' | 'expert'): spec is OptionSpec =>
  spec?.group === group && (spec.scope === 'call' || spec.scope === place);

/** The error for a name `place` does not accept in `group`: where it goes, or the nearest known names. */
function refusal(
  name: string,
  key: string,
  value: unknown,
  place: Place,
  group: 'top' | 'expert',
  prefix: string,
): ResetGuardOptionError {
  const spec = specOf(key);
  // An expert name at the top level (it moved in 0.2.0), or an instance-only one in a request's
  // `expert`, says where it goes instead of "did you mean".
  if (spec?.group === 'expert') {
    const there =
      place === 'request' && spec.scope === 'instance' ? `attach()'s "expert.${key}"` : `"${prefix}expert.${key}"`;
    return new ResetGuardOptionError(
      name,
      value,
      `set as ${there}${group === 'top' ? ': it moved there in 0.2.0' : ''}`,
    );
  }
  const known: string[] = NAMES.filter((n) => accepts(SPECS[n], place, group));
  if (group === 'top') known.push('expert');
  const near = nearNames(key, known);
  const expected =
    near.length > 0
      ? `a known option (did you mean ${near.map((n) => `"${n}"`).join(' or ')}?)`
      : `a known option (${known.join(', ')})`;
  return new ResetGuardOptionError(name, value, expected);
}

/** Checks the entries of one group (`input`, written where `prefix` says) and writes them, flat, into `out`. */
function mergeGroup(
  out: Record<string, unknown>,
  input: unknown,
  place: Place,
  group: 'top' | 'expert',
  prefix: string,
): void {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new ResetGuardOptionError(prefix === '' ? 'options' : prefix.slice(0, -1), input, 'an object');
  }
  for (const [key, value] of Object.entries(input)) {
    const name = prefix + key;
    if (group === 'top' && key === 'expert') {
      // `undefined` means "not set here", as for any option.
      if (value !== undefined) mergeGroup(out, value, place, 'expert', `${prefix}expert.`);
      continue;
    }
    const spec = specOf(key);
    if (!accepts(spec, place, group)) throw refusal(name, key, value, place, group, prefix);
    // `undefined` means "not set here": keep what the base had.
    if (value !== undefined) out[key] = spec.check(name, value);
  }
}

function merge(base: ResolvedOptions, input: unknown, place: Place): ResolvedOptions {
  if (input === undefined) return base;
  const out: Record<string, unknown> = { ...base };
  mergeGroup(out, input, place, 'top', place === 'instance' ? '' : 'resetGuard.');
  return Object.freeze(out) as unknown as ResolvedOptions;
}

/**
 * Merges `options` over {@link DEFAULTS} and validates every value once; `expert` options
 * resolve flat, beside the others.
 * @throws {ResetGuardOptionError} naming the option and the value, on a wrong type,
 * a negative or non-finite number, an unknown option name, or a name that moved into `expert`.
 */
export function normalizeOptions(options?: GuardOptions): ResolvedOptions {
  return merge(DEFAULTS, options, 'instance');
}

/**
 * Merges a request's `config.resetGuard` over the instance's resolved options: its `expert`
 * values over the instance's, field by field.
 */
export function mergeRequestOptions(base: ResolvedOptions, perRequest: PerRequestOptions | undefined): ResolvedOptions {
  return merge(base, perRequest, 'request');
}
