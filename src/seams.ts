/**
 * The test seams (the jitter source, the wait, a recorder of planned waits) reach `attach()`
 * through one symbol-keyed field of its options, which `axios-reset-guard/testing`'s
 * `testingOptions()` sets. Not a public option: the main entry neither exports the symbol nor
 * types the field. `Symbol.for`, so the testing entry of one installed copy still reaches the
 * `attach()` of another (a hoisted and a nested copy of the package).
 */
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
