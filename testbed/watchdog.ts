/**
 * Progress watchdogs: a long run fails when it stops making progress, never because it is
 * slow. A machine busy with other work stretches every run; only a run in which nothing
 * happens for `stallMs` is a hang.
 */
import { performance } from 'node:perf_hooks';

/** How long a run may go without progress before it counts as a hang (one request, one step). */
export const STALL_MS = 15_000;

export class StalledError extends Error {
  override readonly name = 'StalledError';
}

export interface Watchdog {
  /** Marks one unit of progress: the stall clock starts again. */
  readonly progress: () => void;
  /** Rejects with a `StalledError` once `progress()` has not been called for `stallMs`. */
  readonly stalled: Promise<never>;
  /** Stops watching; `stalled` then never settles. */
  readonly stop: () => void;
}

/**
 * Starts a watchdog; `detail()` says where the run stood, for the error message. The
 * verdict waits for one more turn of the event loop, so progress whose I/O is already
 * waiting (after the process was starved of CPU) is counted first.
 */
export function watchdog(stallMs: number = STALL_MS, detail: () => string = () => ''): Watchdog {
  let fail: (error: Error) => void = () => undefined;
  const stalled = new Promise<never>((_resolve, reject) => (fail = reject));
  stalled.catch(() => undefined); // a run that finishes first never looks at it
  let last = performance.now();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const check = (): void => {
    if (stopped) return;
    const idle = performance.now() - last;
    if (idle < stallMs) {
      timer = setTimeout(check, stallMs - idle);
      return;
    }
    setImmediate(() => {
      if (stopped) return;
      const idleNow = performance.now() - last;
      if (idleNow < stallMs) return check();
      stopped = true;
      const more = detail();
      fail(
        new StalledError(`no progress for ${Math.round(idleNow)} ms (limit ${stallMs} ms)${more ? `: ${more}` : ''}`),
      );
    });
  };
  timer = setTimeout(check, stallMs);
  return {
    progress: () => void (last = performance.now()),
    stalled,
    stop: () => {
      stopped = true;
      clearTimeout(timer);
    },
  };
}

/**
 * Runs `work`, which calls `progress()` at each step; rejects with a `StalledError` when
 * no step is made for `stallMs`, however long the whole run takes.
 */
export async function watched<T>(
  work: (progress: () => void) => Promise<T>,
  options: { readonly stallMs?: number; readonly detail?: () => string } = {},
): Promise<T> {
  const dog = watchdog(options.stallMs, options.detail);
  try {
    return await Promise.race([work(dog.progress), dog.stalled]);
  } finally {
    dog.stop();
  }
}
