/**
 * Deadlines and per-attempt timeouts (deadlineMs, attemptTimeoutMs, the axios timeout):
 * waits that would cross the deadline, attempts cut to the time left, slow hooks. With
 * nock, then against real servers that never answer.
 */
import type axios from 'axios';
import type { AxiosInstance } from 'axios';
import nock from 'nock';
import { failureOf, type Guard, type GuardOptions } from '../src';
import { pause, startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { testingOptions } from '../src/testing';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

let instance: AxiosInstance;
let guard: Guard;
let sleeps: number[];

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard, sleeps } = rig(ORIGIN, options, config));
}

// nock first: its afterAll un-patches node:http before the real-socket tests run.
describe('with nock', () => {
  useNock(() => guard);

  describe('deadline', () => {
    it('does not start a wait that would cross the deadline, and says so', async () => {
      setup({ deadlineMs: 1000 });
      nock(ORIGIN).get('/slow').reply(503, '', { 'retry-after': '5' });
      const error = await failure(instance.get('/slow'));
      expect(failureOf(error)!.reason).toMatch(/^deadline of 1000 ms reached after 1 attempt: a 5000 ms wait/);
      expect(sleeps).toEqual([]);
    });

    it('cuts each attempt timeout to the time left', async () => {
      setup({ deadlineMs: 50_000, attemptTimeoutMs: 20_000 });
      const timeouts: number[] = [];
      instance.interceptors.response.use((res) => {
        timeouts.push(res.config.timeout ?? -1);
        return res;
      });
      nock(ORIGIN).get('/t').replyWithError(reset()).get('/t').reply(200, 'ok');
      const seen: number[] = [];
      await instance.get('/t', { resetGuard: { beforeRetry: (i) => void seen.push(i.config.timeout ?? -1) } });
      expect(seen[0]).toBe(20_000); // the first attempt ran with the per-attempt timeout
    });
  });

  it('the shorter of axios timeout and attemptTimeoutMs applies to each attempt', async () => {
    setup({ attemptTimeoutMs: 20_000 });
    nock(ORIGIN).get('/t').replyWithError(reset()).get('/t').reply(200);
    const seen: (number | undefined)[] = [];
    await instance.get('/t', { timeout: 300, resetGuard: { beforeRetry: (i) => void seen.push(i.config.timeout) } });
    expect(seen).toEqual([300]);
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  describe('deadline on a server that never answers', () => {
    it('each attempt is cut to the time left; the error says the deadline and the attempts', async () => {
      const server = await serve(startHttpServer({ handler: () => undefined }));
      const { api, guard } = guarded(server.url, { deadlineMs: 400, retryTimeouts: true, attemptTimeoutMs: 150 });
      const error = await failure(api.get('/hang'));
      const info = failureOf(error)!;
      expect(info.classification.kind).toBe('timeout');
      expect(info.reason).toMatch(/^deadline of 400 ms reached after \d attempts/);
      expect(info.attempt.attempt).toBeGreaterThanOrEqual(2);
      expect(info.attempt.attempt).toBeLessThanOrEqual(4);
      expect(guard.stats().gaveUp).toBe(1);
    });
  });

  it('a slow beforeRetry cannot push an attempt past the deadline', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url, { deadlineMs: 150, beforeRetry: () => pause(300) });
    const error = await failure(api.get('/'));
    expect(server.hits).toBe(1);
    expect(failureOf(error)!.reason).toBe('deadline of 150 ms reached after 1 attempt');
  });

  it('after a slow beforeRetry, a wait that would now cross the deadline is not started', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const waits: number[] = [];
    const { api } = guarded(
      server.url,
      testingOptions(
        { deadlineMs: 1000, baseDelayMs: 600, beforeRetry: () => pause(500) },
        {
          random: () => 1,
          sleep: (ms) => {
            waits.push(ms);
            return Promise.resolve();
          },
        },
      ),
    );
    const error = await failure(api.get('/'));
    expect(waits).toEqual([]);
    expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt: a 600 ms wait would cross it');
  });

  it('the shorter of axios timeout and attemptTimeoutMs ends an attempt', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined })); // never answers
    const { api } = guarded(server.url, { attemptTimeoutMs: 60_000 });
    // 1 s, not 100 ms: under load a 100 ms timer fired before the server saw the request
    const error = await failure(api.get('/slow', { timeout: 1000 }));
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(server.hits).toBe(1);
  });
});
