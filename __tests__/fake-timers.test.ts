/**
 * Fake timers: a user's test with jest's modern fake timers (which fake setTimeout,
 * setImmediate, process.nextTick, Date and performance) must not hang on a request that
 * needs retries. The guard arms no timer between attempts when the wait is 0, and every
 * wait goes through the one injectable sleep.
 */
import axios, { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { attach, attemptOf, type Guard } from '../src';
import { sleep } from '../src/sleep';
import { testingOptions } from '../src/testing';

/** An adapter that fails with a reset `failures` times, then answers 200; counts its calls. */
function flaky(failures: number): AxiosAdapter & { calls: number } {
  const adapter = ((config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
    adapter.calls += 1;
    if (adapter.calls <= failures) {
      const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
      return Promise.reject(AxiosError.from(cause, 'ECONNRESET', config, {}));
    }
    return Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config, request: {} });
  }) as AxiosAdapter & { calls: number };
  adapter.calls = 0;
  return adapter;
}

describe('with jest modern fake timers', () => {
  let guard: Guard | undefined;
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => {
    guard?.detach();
    jest.useRealTimers();
  });

  it('a request needing 3 retries completes under testingOptions(), no timer advanced', async () => {
    const adapter = flaky(3);
    const api = axios.create({ adapter });
    const delays: number[] = [];
    const options = testingOptions({ retries: 3, beforeRetry: (info) => void delays.push(info.delayMs) });
    guard = attach(api, options);
    const res = await api.get('http://example.test/items');
    expect(res.data).toBe('ok');
    expect(adapter.calls).toBe(4);
    expect(attemptOf(res)?.attempt).toBe(4);
    // full jitter (random 0.5) over baseDelayMs 200 doubled: the planned waits, not wall time
    expect(delays).toEqual([100, 200, 400]);
    expect(options.plannedDelays).toEqual([100, 200, 400]);
    expect(jest.getTimerCount()).toBe(0);
  });

  it('with the default sleep, advancing the fake clock runs each backoff wait', async () => {
    const adapter = flaky(3);
    const api = axios.create({ adapter });
    guard = attach(api, testingOptions({ retries: 3 }, { random: () => 1, sleep }));
    const pending = api.get('http://example.test/items');
    let settled = false;
    void pending.then(
      () => (settled = true),
      () => (settled = true),
    );
    // Bounded: each round advances by the longest planned wait; three waits are needed.
    for (let round = 0; round < 10 && !settled; round += 1) await jest.advanceTimersByTimeAsync(1_000);
    const res = await pending;
    expect(res.status).toBe(200);
    expect(adapter.calls).toBe(4);
  });

  it('a deadline still ends a request whose adapter never answers, once the fake clock passes it', async () => {
    const api = axios.create({ adapter: () => new Promise<AxiosResponse>(() => undefined) });
    guard = attach(api, { deadlineMs: 500 });
    const pending = api.get('http://example.test/hang').catch((error: unknown) => error);
    await jest.advanceTimersByTimeAsync(600);
    const error = (await pending) as AxiosError;
    expect(error.code).toBe('ECONNABORTED');
  });
});
