/** Brand shared by every copy of this package, so type guards work across duplicate installs. */
const BRAND = Symbol.for('axios-reset-guard.error');

/** Stable error codes thrown by axios-reset-guard itself. */
export type ResetGuardErrorCode = 'ERR_RESET_GUARD_OPTION' | 'ERR_RESET_GUARD_ATTACHED';

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

  constructor(option: string, value: unknown, expected: string) {
    super(`axios-reset-guard: option "${option}" must be ${expected}, got ${describe(value)}`);
    this.name = 'ResetGuardOptionError';
    this.option = option;
    this.value = value;
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

/** True for any error thrown by axios-reset-guard itself (any installed copy). */
export function isResetGuardError(value: unknown): value is ResetGuardOptionError | ResetGuardAttachError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean' || value == null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Array.isArray(value)) return 'an array';
  return `${typeof value} ${Object.prototype.toString.call(value)}`;
}
