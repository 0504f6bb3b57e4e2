/**
 * Jest timeouts of the tests whose length depends on the machine's speed. A watchdog
 * (testbed/watchdog.ts) fails such a test when it stops making progress; jest's own
 * timeout is only a backstop, large enough never to fire first on a slow, busy machine.
 */
export const WATCHED_TIMEOUT_MS = 30 * 60_000;

/**
 * A child test runner (jest, vitest) prints nothing while ts-jest compiles for it; a minute
 * without a byte of output is a hang, however busy the machine.
 */
export const CHILD_STALL_MS = 60_000;
