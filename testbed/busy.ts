/**
 * A busy event loop, as an app that computes between I/O has: the loop spins `share` of
 * each slice on the CPU and yields the rest to I/O. Bounded: it stops by itself after
 * `maxMs`, or when the returned function is called.
 */
import { performance } from 'node:perf_hooks';

export function keepLoopBusy(share = 0.8, sliceMs = 10, maxMs = 60_000): () => void {
  const until = performance.now() + maxMs;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const tick = (): void => {
    if (stopped || performance.now() > until) return;
    const end = performance.now() + share * sliceMs;
    while (performance.now() < end) {
      // computing
    }
    timer = setTimeout(tick, (1 - share) * sliceMs);
  };
  timer = setTimeout(tick, 0);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
