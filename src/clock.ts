/**
 * The guard's clock for durations: idle times, staleness, deadlines, attempt bounds,
 * learning, recovery, budget refill. It is monotonic: a wall-clock step (NTP, a VM resume,
 * a test that mocks `Date`) must neither make a socket that idled 20 ms look stale nor move
 * a deadline. `Date.now()` stays only where a timestamp is shown to people (stats, events).
 */

/** A source of milliseconds; only differences between two readings mean anything. */
export type Clock = () => number;

/** Milliseconds on the process's monotonic clock (`performance.now()`). */
export const monotonicNow: Clock = () => performance.now();
