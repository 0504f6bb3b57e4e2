/** Brand shared by every copy of this package, so type guards work across duplicate installs. */
const BRAND = Symbol.for('axios-reset-guard.error');

/** Stable error codes thrown by axios-reset-guard itself. */
export type ResetGuardErrorCode = 'ERR_RESET_GUARD_OPTION' | 'ERR_RESET_GUARD_ATTACHED' | 'ERR_RESET_GUARD_CONFLICT';

/**
 * Thrown when an option has a wrong type or an out-of-range value.
 * Names the option (`option`) and the value it got (`value`).
 */
export class ResetGuardOptionError extends TypeError {
  /** Stable code of this error. */
  readonly code = 'ERR_RESET_GUARD_OPTION' as const;
  /** The option's name; per-request options are prefixed, as in `resetGuard.retries`. */
  readonly option: string;
  /** The value the option was given. */
  readonly value: unknown;
  /** What the option must be, in words. */
  readonly expected: string;

  constructor(option: string, value: unknown, expected: string) {
    super(`axios-reset-guard: option "${option}" must be ${expected}, got ${describe(value)}`);
    this.name = 'ResetGuardOptionError';
    this.option = option;
    this.value = value;
    this.expected = expected;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Thrown by `attach()` on an instance that already has a guard (interceptors would stack). */
export class ResetGuardAttachError extends Error {
  /** Stable code of this error. */
  readonly code = 'ERR_RESET_GUARD_ATTACHED' as const;

  constructor() {
    super('axios-reset-guard: this Axios instance already has a guard; call guard.detach() before attaching another');
    this.name = 'ResetGuardAttachError';
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** Another retry layer the guard found on an instance. */
export type RetryLibrary = 'axios-retry' | 'retry-axios';

// How each library's options map onto the guard's, for the message (docs/on-call.md has the table).
const MIGRATION: Readonly<Record<RetryLibrary, string>> = {
  'axios-retry':
    'pass the same options to attach() instead: retries, retryDelay, retryCondition, shouldResetTimeout, ' +
    'onRetry, onMaxRetryTimesExceeded and validateResponse keep their meaning (network errors are classified ' +
    'for you, and a request that may have been applied is never resent); per request: ' +
    "config['axios-retry'] -> config.resetGuard",
  'retry-axios':
    'retry -> retries; retryDelay and backoffType -> baseDelayMs and maxDelayMs; statusCodesToRetry -> ' +
    'retryStatuses; httpMethodsToRetry -> retryNonIdempotent or idempotencyKey; onRetryAttempt -> beforeRetry; ' +
    'per request: config.raxConfig -> config.resetGuard',
};

/**
 * Thrown by `attach()` when the instance already retries by other means (axios-retry's
 * interceptors, or its options or retry-axios's in `instance.defaults`), and by a request
 * through a guarded instance when such interceptors were added after `attach()`: the two
 * layers would multiply each other's attempts (4 x 4 = 16 for one failing call).
 * The message says how to move that library's options to the guard's.
 *
 * Not a {@link ResetGuardAttachError}: code that ignores "already guarded" on purpose
 * must not swallow this one.
 */
export class ResetGuardConflictError extends Error {
  /** Stable code of this error. */
  readonly code = 'ERR_RESET_GUARD_CONFLICT' as const;
  /** The retry library found on the instance. */
  readonly library: RetryLibrary;

  constructor(library: RetryLibrary, when: 'attach' | 'request') {
    const found =
      when === 'attach'
        ? `this Axios instance already retries with ${library}`
        : `${library} was added to this Axios instance after the guard`;
    super(
      `axios-reset-guard: ${found}; both would resend every failed request (4 x 4 = 16 attempts for one ` +
        `failing call). Remove ${library} from this instance and keep the guard, which retries resets ` +
        `safely; its options map as: ${MIGRATION[library]}. See docs/on-call.md.`,
    );
    this.name = 'ResetGuardConflictError';
    this.library = library;
    Object.defineProperty(this, BRAND, { value: true });
  }
}

/** True for any error thrown by axios-reset-guard itself (any installed copy). */
export function isResetGuardError(
  value: unknown,
): value is ResetGuardOptionError | ResetGuardAttachError | ResetGuardConflictError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `${typeof value} ${Object.prototype.toString.call(value)}`;
}
