/**
 * The guard's clock for durations: idle times, staleness, deadlines, attempt bounds,
 * learning, recovery, budget refill. It is monotonic: a wall-clock step (NTP, a VM resume,
 * a test that mocks `Date`) must neither make a socket that idled 20 ms look stale nor move
 * a deadline. `Date.now()` stays only where a timestamp is shown to people (stats, events).
 */

/** A source of milliseconds; only differences between two readings mean anything. */
export type Clock = () => number;

/**
 * Milliseconds on the process's monotonic clock (`performance.now()`), read on each call
 * so that fake timers that replace `performance` are followed. A runtime without
 * `performance` (a bare worker sandbox) falls back to `Date.now()`.
 */
export const monotonicNow: Clock = () => (typeof performance === 'undefined' ? Date.now() : performance.now());
