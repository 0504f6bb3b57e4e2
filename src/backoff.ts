/** Inputs of {@link backoffDelay}. */
export interface BackoffOptions {
  /** Ceiling of the first wait, in ms; it doubles per retry. */
  readonly baseDelayMs: number;
  /** Cap on any single wait, in ms. */
  readonly maxDelayMs: number;
}

/**
 * Planned wait before retry number `retryNumber` (1 = first retry): exponential
 * growth with full jitter, `random() * min(maxDelayMs, baseDelayMs * 2^(retryNumber-1))`.
 *
 * Full jitter (rather than axios-retry's +0..20 %) spreads clients that failed
 * together, so a recovering server is not hit by a synchronized wave.
 * Pure: pass `random` to make it deterministic.
 */
export function backoffDelay(retryNumber: number, options: BackoffOptions, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.floor(retryNumber) - 1);
  // 2 ** 1024 is Infinity; Math.min clamps it to the cap.
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** exponent);
  const r = random();
  const unit = Number.isFinite(r) ? Math.min(1, Math.max(0, r)) : 1;
  return Math.round(unit * ceiling);
}
