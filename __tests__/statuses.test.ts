/**
 * Retry statuses and Retry-After (seconds, HTTP-date, malformed, over the cap, any
 * header case), with nock; then from real servers, including a streamed 503 whose
 * socket must be freed for the retry.
 */
import type axios from 'axios';
import { AxiosError, type AxiosInstance } from 'axios';
import nock from 'nock';
import { attemptOf, failureOf, type Guard, type GuardOptions, type RetryInfo } from '../src';
import { pause, startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { rig, useNock } from './support/nock-rig';

const ORIGIN = 'http://api.test';

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

  describe('status retries and Retry-After', () => {
    it('retries a 503 with Retry-After in seconds, waiting what it asks, and says so', async () => {
      const seen: RetryInfo[] = [];
      setup({ beforeRetry: (info) => void seen.push(info) });
      nock(ORIGIN).get('/busy').reply(503, 'busy', { 'retry-after': '2' }).get('/busy').reply(200, 'ok');
      const res = await instance.get('/busy');
      expect(res.data).toBe('ok');
      expect(sleeps).toEqual([2000]);
      expect(attemptOf(res)!.history).toMatchObject([{ kind: 'http-status', delayMs: 2000 }]);
      // the rule, the permission and the source of the wait; a retried status is retryable
      expect(seen[0]!.reason).toBe(
        'status 503 is in retryStatuses; GET is idempotent; waiting 2000 ms as Retry-After asks',
      );
      expect(seen[0]!.classification).toMatchObject({ kind: 'http-status', status: 503, retryable: true });
    });

    it('retries a 429 with an HTTP-date Retry-After (a date in the past means now)', async () => {
      setup();
      const past = new Date(Date.now() - 60_000).toUTCString();
      nock(ORIGIN).get('/rate').reply(429, '', { 'retry-after': past }).get('/rate').reply(200, 'ok');
      expect((await instance.get('/rate')).data).toBe('ok');
      expect(sleeps).toEqual([]); // 0 ms: no wait at all
    });

    it.each(['soon', '-5', '1.5', '', '9'.repeat(80)])(
      'ignores a malformed Retry-After %p: backoff instead',
      async (v) => {
        setup();
        nock(ORIGIN).get('/x').reply(503, '', { 'retry-after': v }).get('/x').reply(200, 'ok');
        expect((await instance.get('/x')).data).toBe('ok');
        expect(sleeps).toEqual([100]); // full jitter at 0.5 of baseDelayMs 200
      },
    );

    it('returns at once when Retry-After is over expert.maxRetryAfterMs, with the reason', async () => {
      setup({ expert: { maxRetryAfterMs: 5000 } });
      const scope = nock(ORIGIN).get('/later').reply(503, 'come back tomorrow', { 'retry-after': '86400' });
      const error = await failure(instance.get('/later'));
      expect(error.response!.status).toBe(503);
      expect(error.response!.data).toBe('come back tomorrow');
      expect(failureOf(error)!.reason).toBe('Retry-After asks for 86400 s, over expert.maxRetryAfterMs (5000 ms)');
      expect(sleeps).toEqual([]);
      expect(scope.isDone()).toBe(true);
      expect(guard.stats()).toMatchObject({ attempts: 1, gaveUp: 1 });
    });

    it('refuses a Retry-After of 30 days even at the largest maxRetryAfterMs: no timer fires early', async () => {
      setup({ expert: { maxRetryAfterMs: 2 ** 31 - 1 } });
      const scope = nock(ORIGIN)
        .get('/month')
        .reply(503, '', { 'retry-after': String(30 * 24 * 3600) });
      const error = await failure(instance.get('/month'));
      expect(failureOf(error)!.reason).toBe(
        'Retry-After asks for 2592000 s, over expert.maxRetryAfterMs (2147483647 ms)',
      );
      expect(sleeps).toEqual([]);
      expect(scope.isDone()).toBe(true);
      expect(guard.stats().attempts).toBe(1);
    });

    it('does not retry a 503 for POST without a key, nor a 500 for GET', async () => {
      setup();
      nock(ORIGIN).post('/orders').reply(503).get('/bug').reply(500);
      expect(failureOf(await failure(instance.post('/orders', { a: 1 })))!.reason).toBe(
        'POST is not idempotent and the server answered 503',
      );
      expect(failureOf(await failure(instance.get('/bug')))!.reason).toBe('a status 500 is not retried');
      expect(guard.stats()).toMatchObject({ attempts: 2, gaveUp: 1 });
    });

    it('retryStatuses is configurable per request', async () => {
      setup();
      nock(ORIGIN).get('/teapot').reply(418).get('/teapot').reply(200, 'tea');
      expect((await instance.get('/teapot', { resetGuard: { retryStatuses: [418] } })).data).toBe('tea');
    });

    it('error.response.config is the user config, not the internal attempt config', async () => {
      setup();
      nock(ORIGIN).get('/gone').reply(404, { missing: true });
      const error = await failure(instance.get('/gone', { headers: { 'x-mine': '1' } }));
      expect(error.response!.config).toBe(error.config);
      expect(error.response!.data).toEqual({ missing: true }); // transformResponse ran once
    });
  });

  it('finds Retry-After in any case, from a custom adapter that returns plain headers', async () => {
    let n = 0;
    setup(
      {},
      {
        adapter: (config) => {
          n += 1;
          const response = {
            data: '',
            status: n === 1 ? 503 : 200,
            statusText: '',
            headers: { 'Retry-After': '2' },
            config,
          };
          if (n === 1) return Promise.reject(new AxiosError('busy', 'ERR_BAD_RESPONSE', config, {}, response));
          return Promise.resolve(response);
        },
      },
    );
    await instance.get('/custom');
    expect(sleeps).toEqual([2000]);
  });
});

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  describe('status retries on a real server', () => {
    it('a 503 with Retry-After: 0 then 200: recovered, the planned wait was 0', async () => {
      const server = await serve(
        startHttpServer({
          handler: (_req, res, n) => {
            if (n === 1) res.writeHead(503, { 'retry-after': '0' }).end('busy');
            else res.end('ready');
          },
        }),
      );
      const planned: RetryInfo[] = [];
      const { api } = guarded(server.url, { beforeRetry: (i) => void planned.push(i) });
      const res = await api.get<string>('/');
      expect(res.data).toBe('ready');
      expect(planned.map((i) => i.delayMs)).toEqual([0]);
      expect(planned[0]!.reason).toBe(
        'status 503 is in retryStatuses; GET is idempotent; waiting 0 ms as Retry-After asks',
      );
      expect(planned[0]!.classification.retryable).toBe(true);
      expect(server.hits).toBe(2);
    });

    it('a Retry-After over the cap comes back at once with the body intact', async () => {
      const server = await serve(
        startHttpServer({ handler: (_req, res) => res.writeHead(429, { 'retry-after': '3600' }).end('slow down') }),
      );
      const { api } = guarded(server.url);
      const error = await failure(api.get('/'));
      expect(error.response).toMatchObject({ status: 429, data: 'slow down' });
      expect(failureOf(error)!.classification).toMatchObject({ kind: 'http-status', status: 429 });
      expect(server.hits).toBe(1);
    });
  });

  it('a retried 503 streamed response frees its socket: with maxSockets 1 the retry still gets one', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          if (n <= 2) res.writeHead(503, { 'retry-after': '0' }).end('x'.repeat(64 * 1024));
          else res.end('streamed');
        },
      }),
    );
    const { api, guard } = guarded(server.url, { maxSockets: 1 });
    const res = await api.get<NodeJS.ReadableStream>('/', { responseType: 'stream' });
    let body = '';
    for await (const chunk of res.data) body += String(chunk);
    expect(body).toBe('streamed');
    expect(attemptOf(res)!.attempt).toBe(3);
    const [origin] = Object.values(guard.stats().origins);
    expect(origin!.activeSockets).toBe(0);
  });

  describe('a streamed 503 whose retry does not happen frees its socket too (maxSockets 1: the next request gets one)', () => {
    const big503 = (): ReturnType<typeof startHttpServer> =>
      startHttpServer({
        handler: (req, res) => {
          if (req.url === '/busy') res.writeHead(503).end('x'.repeat(256 * 1024));
          else res.end('next');
        },
      });
    const nextStillServed = async (api: AxiosInstance, guard: Guard): Promise<void> => {
      const next = await api.get<string>('/next');
      expect(next.data).toBe('next');
      expect(Object.values(guard.stats().origins)[0]!.activeSockets).toBe(0);
    };

    it('the caller aborts during the wait', async () => {
      const server = await serve(big503());
      const controller = new AbortController();
      const { api, guard } = guarded(server.url, {
        maxSockets: 1,
        // a wait that lasts until it is aborted
        sleep: (_ms, signal) =>
          new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
        beforeRetry: () => void setImmediate(() => controller.abort()),
      });
      const error = await failure(api.get('/busy', { responseType: 'stream', signal: controller.signal }));
      expect(error.code).toBe('ERR_CANCELED');
      await nextStillServed(api, guard);
    });

    it.each([
      ['at once, with no retry left', 0],
      ['after a retry, asynchronously', 1],
    ])('the onGiveUp hook throws %s', async (_name, retries) => {
      const server = await serve(big503());
      const { api, guard } = guarded(server.url, {
        maxSockets: 1,
        retries,
        onGiveUp: async () => {
          await Promise.resolve();
          throw new Error('give-up hook failed');
        },
      });
      await expect(api.get('/busy', { responseType: 'stream' })).rejects.toThrow('give-up hook failed');
      await nextStillServed(api, guard);
    });

    it('the beforeRetry hook throws', async () => {
      const server = await serve(big503());
      const { api, guard } = guarded(server.url, {
        maxSockets: 1,
        beforeRetry: () => {
          throw new Error('hook says no');
        },
      });
      await expect(api.get('/busy', { responseType: 'stream' })).rejects.toThrow('hook says no');
      await nextStillServed(api, guard);
    });

    it("the deadline refuses the retry after the hook: the 503 body is the caller's, as in plain axios", async () => {
      const server = await serve(big503());
      const { api, guard } = guarded(server.url, {
        maxSockets: 1,
        random: () => 1,
        baseDelayMs: 10_000, // a 10 s backoff fits a 10.5 s deadline...
        beforeRetry: () => pause(600), // ...until the hook has used 0.6 s of it (axios's timer is 10 s away)
      });
      const error = await failure(api.get('/busy', { responseType: 'stream', resetGuard: { deadlineMs: 10_500 } }));
      expect(failureOf(error)!.reason).toMatch(
        /^deadline of 10500 ms reached after 1 attempt: a 10000 ms wait would cross it/,
      );
      let bytes = 0;
      for await (const chunk of error.response!.data as NodeJS.ReadableStream) bytes += (chunk as Buffer).length;
      expect(bytes).toBe(256 * 1024);
      await nextStillServed(api, guard);
    });
  });
});
