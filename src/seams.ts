/**
 * The test seams (the jitter source, the wait, a recorder of planned waits) reach `attach()`
 * through one symbol-keyed field of its options, which `axios-reset-guard/testing`'s
 * `testingOptions()` sets. Not a public option: the main entry neither exports the symbol nor
 * types the field. `Symbol.for`, so the testing entry of one installed copy still reaches the
 * `attach()` of another (a hoisted and a nested copy of the package).
 */
import { ResetGuardOptionError } from './errors';
import type { ResolvedOptions } from './normalize';
import { SCHEMA } from './schema';

export const TEST_SEAMS: unique symbol = Symbol.for('axios-reset-guard.test-seams') as never;

/** What `testingOptions()` passes under {@link TEST_SEAMS}. */
export interface TestSeams {
  /** Source of randomness for backoff jitter, returning [0, 1). */
  readonly random?: (() => number) | undefined;
  /** Waits between attempts; must reject when `signal` aborts. */
  readonly sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /** Told the wait the guard planned before each retry it granted (0 included). */
  readonly record?: ((delayMs: number) => void) | undefined;
}

/** The seams in `options`, if any. */
export function seamsOf(options: unknown): TestSeams | undefined {
  if (typeof options !== 'object' || options === null) return undefined;
  return (options as { [TEST_SEAMS]?: TestSeams })[TEST_SEAMS];
}

/**
 * `options` with the jitter source and the wait of `seams` (checked as options are): the
 * Node guard's `attach()` applies them; the browser entry's inert guard has no waits.
 */
export function withSeams(options: ResolvedOptions, seams: TestSeams | undefined): ResolvedOptions {
  if (seams === undefined) return options;
  const out: Record<string, unknown> = { ...options };
  for (const key of ['random', 'sleep'] as const) {
    const value = seams[key];
    if (value !== undefined) out[key] = SCHEMA[key].check(`testingOptions seams.${key}`, value);
  }
  return Object.freeze(out) as unknown as ResolvedOptions;
}

/**
 * Refuses `random` and `sleep` given as options (they were, before 0.2.0), saying where they
 * went. Here rather than in `normalize.ts`, which the browser bundle holds: its inert guard
 * has no waits, and refuses them as unknown names.
 */
export function refuseSeams(options: unknown, prefix: string): void {
  if (typeof options !== 'object' || options === null) return;
  for (const key of ['random', 'sleep']) {
    if (Object.hasOwn(options, key)) {
      throw new ResetGuardOptionError(
        prefix + key,
        (options as Record<string, unknown>)[key],
        'set as a seam of testingOptions() (axios-reset-guard/testing): it moved there in 0.2.0',
      );
    }
  }
}
