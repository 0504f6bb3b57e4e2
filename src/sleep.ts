/**
 * Node's longest timer, 2^31 - 1 ms (~24.8 days): a longer one fires after 1 ms.
 */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as the
 * signal aborts (also when it was aborted before the call). The abort listener is
 * removed when the timer fires, so long-lived signals do not accumulate listeners.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  // Node fires a longer timer after 1 ms: a wait too long for a timer waits as long as one can.
  const wait = Math.min(Math.max(0, ms), MAX_TIMER_MS);
  // Rejects with whatever the signal was aborted with, as node:timers/promises does.
  /* eslint-disable @typescript-eslint/prefer-promise-reject-errors */
  return new Promise<void>((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, wait);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
}
