/**
 * The retry budget (a token bucket): spent, refilled by successes, refunded on abort,
 * turned off; with nock, then a storm of 1,000 requests against a real server that
 * resets every connection.
 */
import type axios from 'axios';
import type { AxiosInstance } from 'axios';
import nock from 'nock';
import { attemptOf, failureOf, type BudgetStats, type Guard, type GuardOptions } from '../src';
import { startHttpServer, watched } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

let instance: AxiosInstance;
let guard: Guard;

/** The bucket of one origin (every origin has its own). */
const bucket = (g: Guard, origin = `${ORIGIN}:80`): BudgetStats | undefined => g.stats().origins[origin]?.budget;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

// nock first: its afterAll un-patches node:http before the real-socket tests run.
describe('with nock', () => {
  useNock(() => guard);

  describe('retry budget', () => {
    it('stops retrying when the bucket is spent, says why, and refills on success', async () => {
      setup({ expert: { retryBudget: { capacity: 10, retryCost: 5, successRefund: 5 } }, retries: 5 });
      nock(ORIGIN).get('/down').times(3).replyWithError(reset());
      const error = await failure(instance.get('/down'));
      expect(failureOf(error)!.reason).toBe('retry budget exhausted (0 tokens left, this retry costs 5)');
      expect(bucket(guard)).toEqual({ tokens: 0, capacity: 10, refused: 1 });
      expect(guard.stats().budget).toEqual({ capacity: 10, refused: 1, exhausted: [`${ORIGIN}:80`] });
      expect(guard.stats().attempts).toBe(3);

      nock(ORIGIN).get('/up').reply(200);
      await instance.get('/up');
      expect(bucket(guard)!.tokens).toBe(5);
      nock(ORIGIN).get('/flaky').replyWithError(reset()).get('/flaky').reply(200, 'ok');
      expect((await instance.get('/flaky')).data).toBe('ok');
      // the successful retry paid its cost back
      expect(bucket(guard)!.tokens).toBe(5);
    });

    it('gives the tokens back when a wait is aborted, and can be turned off', async () => {
      const controller = new AbortController();
      setup({ expert: { retryBudget: { capacity: 5 } }, beforeRetry: () => controller.abort() });
      nock(ORIGIN).get('/a').replyWithError(reset());
      await failure(instance.get('/a', { signal: controller.signal }));
      expect(guard.stats().retries).toBe(0);
      expect(bucket(guard)!.tokens).toBe(5);
      guard.detach();
      setup({ expert: { retryBudget: false } });
      expect(guard.stats().budget).toBeUndefined();
    });

    it('is per origin: an outage at one origin leaves the others their retries', async () => {
      setup({ expert: { retryBudget: { capacity: 10, retryCost: 5 } }, retries: 5 });
      const other = 'http://healthy.test';
      nock(ORIGIN).get('/down').times(3).replyWithError(reset());
      await failure(instance.get('/down'));
      expect(bucket(guard)!.tokens).toBe(0);
      nock(other).get('/flaky').replyWithError(reset()).get('/flaky').reply(200, 'ok');
      const res = await instance.get(`${other}/flaky`);
      expect(res.data).toBe('ok');
      expect(attemptOf(res)!.attempt).toBe(2);
      expect(bucket(guard, `${other}:80`)).toEqual({ tokens: 10, capacity: 10, refused: 0 });
      expect(guard.stats().budget!.exhausted).toEqual([`${ORIGIN}:80`]);
    });
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  /** Runs `count` requests, `concurrency` at a time, calling `progress` as each settles; resolves with how many failed. */
  async function batch(
    count: number,
    concurrency: number,
    send: (i: number) => Promise<unknown>,
    progress: () => void,
  ): Promise<number> {
    let next = 0;
    let failed = 0;
    const worker = async (): Promise<void> => {
      while (next < count) {
        const i = next++;
        await send(i).catch(() => (failed += 1));
        progress();
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    return failed;
  }

  describe('retry budget against a server that resets every connection', () => {
    it(
      '1,000 requests send at most 1,150 attempts once the bucket is spent, and retries return on recovery',
      () =>
        // a watchdog on the requests settling, not a limit on the run's length
        watched(async (progress) => {
          let down = true;
          let resetOnce = false;
          const resetWhen = (): boolean => {
            const reset = down || resetOnce;
            resetOnce = false;
            return reset;
          };
          const server = await serve(startHttpServer({ resetWhen, record: false }));
          const { api, guard } = guarded(server.url);
          const tokens = (): number => guard.stats().origins[server.url]!.budget!.tokens;

          // Spend the initial bucket (500 tokens, 5 per retry: 100 retries).
          await batch(60, 8, (i) => api.get(`/warmup/${i}`), progress);
          expect(tokens()).toBeLessThan(5);

          const before = guard.stats().attempts;
          const failed = await batch(1000, 32, (i) => api.get(`/storm/${i}`), progress);
          const attempts = guard.stats().attempts - before;
          expect(failed).toBe(1000);
          expect(attempts).toBeLessThanOrEqual(1150);
          expect(guard.stats().budget!.refused).toBeGreaterThanOrEqual(1000);
          const sample = await failure(api.get('/one-more'));
          expect(failureOf(sample)!.reason).toMatch(/^retry budget exhausted \(\d tokens left, this retry costs 5\)$/);

          // The server recovers: successes refill the bucket and resets are retried again.
          down = false;
          await batch(10, 1, (i) => api.get(`/ok/${i}`), progress);
          expect(tokens()).toBeGreaterThanOrEqual(10);
          resetOnce = true;
          const again = await api.get('/reset-once-after-recovery');
          expect(attemptOf(again)!.attempt).toBe(2);

          // Another origin was never affected: its own bucket is full.
          let once = true;
          const flaky = await serve(
            startHttpServer({
              resetWhen: () => {
                const reset = once;
                once = false;
                return reset;
              },
            }),
          );
          const res = await api.get<{ n: number }>(`${flaky.url}/after-recovery`);
          expect(attemptOf(res)!.attempt).toBe(2);
        }),
      WATCHED_TIMEOUT_MS,
    );
  });
});
