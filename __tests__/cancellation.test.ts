/** Aborts (AbortSignal, CancelToken) during the backoff wait or before a stale retry: with nock, then on a real server. */
import axios, { isCancel, type AxiosInstance } from 'axios';
import nock from 'nock';
import { type Guard, type GuardOptions } from '../src';
import { startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { sleep } from '../src/sleep';
import { testingOptions } from '../src/testing';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';

let instance: AxiosInstance;
let guard: Guard;

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard } = rig(ORIGIN, options, config));
}

// nock first: its afterAll un-patches node:http before the real-socket tests run.
describe('with nock', () => {
  useNock(() => guard);

  describe('abort during the backoff wait', () => {
    it('AbortSignal: rejects at once with CanceledError and sends no further attempt', async () => {
      const controller = new AbortController();
      // real sleep, with a wait far longer than the test timeout
      setup(
        testingOptions(
          { baseDelayMs: 600_000, beforeRetry: () => void setImmediate(() => controller.abort()) },
          { sleep, random: () => 1 },
        ),
      );
      const scope = nock(ORIGIN).get('/w').replyWithError(reset()).get('/w').reply(200);
      const error = await failure(instance.get('/w', { signal: controller.signal }));
      expect(isCancel(error)).toBe(true);
      expect(error.code).toBe('ERR_CANCELED');
      expect(scope.pendingMocks()).toHaveLength(1);
    });

    it('CancelToken: rejects at once with the token reason', async () => {
      const source = axios.CancelToken.source();
      setup(
        testingOptions(
          { baseDelayMs: 600_000, beforeRetry: () => void setImmediate(() => source.cancel('user left')) },
          { sleep, random: () => 1 },
        ),
      );
      const scope = nock(ORIGIN).get('/w').replyWithError(reset()).get('/w').reply(200);
      const error = await failure(instance.get('/w', { cancelToken: source.token }));
      expect(isCancel(error)).toBe(true);
      expect(error.message).toBe('user left');
      expect(scope.pendingMocks()).toHaveLength(1);
    });

    it('a signal aborted before a stale (no-wait) retry also stops it', async () => {
      const controller = new AbortController();
      setup({ beforeRetry: () => controller.abort() });
      nock(ORIGIN).get('/w').replyWithError(reset()).get('/w').reply(200);
      const error = await failure(instance.get('/w', { signal: controller.signal }));
      expect(isCancel(error)).toBe(true);
    });
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  it('an abort during the backoff wait rejects at once with CanceledError; no further attempt', async () => {
    const server = await serve(startHttpServer({ resetFirst: 10 }));
    const controller = new AbortController();
    const { api } = guarded(
      server.url,
      testingOptions(
        { baseDelayMs: 600_000, beforeRetry: () => void setImmediate(() => controller.abort()) },
        { sleep, random: () => 1 },
      ),
    );
    const error = await failure(api.get('/slow', { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
    expect(server.hits).toBe(1);
  });
});
