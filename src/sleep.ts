/**
 * Resolves after `ms` milliseconds; rejects with `signal.reason` as soon as the
 * signal aborts (also when it was aborted before the call). The abort listener is
 * removed when the timer fires, so long-lived signals do not accumulate listeners.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
  /* eslint-enable @typescript-eslint/prefer-promise-reject-errors */
}
