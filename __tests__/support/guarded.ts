/** Per-file test fixtures: guarded instances and servers, all closed after each test. */
import axios, { type AxiosInstance } from 'axios';
import { attach, type Guard, type GuardOptions } from '../../src';
import { testingOptions } from '../../src/testing';
import type { Closeable } from '../../testbed';

/** No wall-clock waits between attempts, no jitter (`testingOptions(options, seams)` as options bring their own seams). */
export const noWait: GuardOptions = testingOptions({}, { random: () => 0 });

export interface Fixtures {
  /** `axios.create({ baseURL, ...config })` with a guard (`noWait` unless overridden). */
  guarded(
    baseURL: string,
    options?: GuardOptions,
    config?: Parameters<typeof axios.create>[0],
  ): { api: AxiosInstance; guard: Guard };
  /** Awaits a server and closes it after the test. */
  serve<T extends Closeable>(server: Promise<T>): Promise<T>;
  /** Anything else to close after the test. */
  track(closeable: Pick<Closeable, 'close'>): void;
  /** Guards to detach after the test. */
  readonly guards: Guard[];
}

/** Registers an `afterEach` that detaches every guard and closes every server made through it. */
export function useFixtures(): Fixtures {
  const open: Pick<Closeable, 'close'>[] = [];
  const guards: Guard[] = [];
  afterEach(async () => {
    for (const guard of guards.splice(0)) guard.detach();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });
  return {
    guards,
    guarded(baseURL, options = {}, config = {}) {
      const api = axios.create({ baseURL, ...config });
      const guard = attach(api, { ...noWait, ...options });
      guards.push(guard);
      return { api, guard };
    },
    async serve(server) {
      const s = await server;
      open.push(s);
      return s;
    },
    track(closeable) {
      open.push(closeable);
    },
  };
}
