/**
 * Wiring of issue 5's features and of the review fixes, proven with nock: status retries
 * with Retry-After, deadlines, idempotency keys, the retry budget, redaction, events.
 * The same behaviours on real sockets live in reliability.test.ts.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { inspect } from 'node:util';
import axios, { AxiosError, type AxiosInstance } from 'axios';
import nock from 'nock';
import { attach, attemptOf, CHANNELS, failureOf, type Guard, type GuardOptions, type RetryInfo } from '../src';
import { failure } from './support/net';
import { rig, useNock } from './support/nock-rig';

const ORIGIN = 'http://api.test';
const reset = (): Error => Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

let instance: AxiosInstance;
let guard: Guard;
let sleeps: number[];

function setup(options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}): void {
  ({ instance, guard, sleeps } = rig(ORIGIN, options, config));
}

useNock(() => guard);

describe('status retries and Retry-After', () => {
  it('retries a 503 with Retry-After in seconds, waiting what it asks', async () => {
    setup();
    nock(ORIGIN).get('/busy').reply(503, 'busy', { 'retry-after': '2' }).get('/busy').reply(200, 'ok');
    const res = await instance.get('/busy');
    expect(res.data).toBe('ok');
    expect(sleeps).toEqual([2000]);
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'http-status', delayMs: 2000 }]);
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

  it('returns at once when Retry-After is over maxRetryAfterMs, with the reason', async () => {
    setup({ maxRetryAfterMs: 5000 });
    const scope = nock(ORIGIN).get('/later').reply(503, 'come back tomorrow', { 'retry-after': '86400' });
    const error = await failure(instance.get('/later'));
    expect(error.response!.status).toBe(503);
    expect(error.response!.data).toBe('come back tomorrow');
    expect(failureOf(error)!.reason).toBe('Retry-After asks for 86400 s, over maxRetryAfterMs (5000 ms)');
    expect(sleeps).toEqual([]);
    expect(scope.isDone()).toBe(true);
    expect(guard.stats()).toMatchObject({ attempts: 1, gaveUp: 1 });
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
    await instance.get('/t', { resetGuard: { onRetry: (i) => void seen.push(i.config.timeout ?? -1) } });
    expect(seen[0]).toBe(20_000); // the first attempt ran with the per-attempt timeout
  });
});

describe('idempotency keys', () => {
  it('adds one Idempotency-Key to a POST, the same on every attempt, and retries it', async () => {
    setup({ idempotencyKey: true });
    const keys: (string | undefined)[] = [];
    nock(ORIGIN)
      .post('/pay')
      .reply(function () {
        keys.push(this.req.headers['idempotency-key']);
        return [503, 'busy'];
      })
      .post('/pay')
      .reply(function () {
        keys.push(this.req.headers['idempotency-key']);
        return [201, 'paid'];
      });
    const res = await instance.post('/pay', { amount: 5 });
    expect(res.data).toBe('paid');
    expect(keys).toHaveLength(2);
    expect(keys[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(keys[1]).toBe(keys[0]);
  });

  it('uses a factory, keeps a key the caller set, and leaves GET alone', async () => {
    setup({ idempotencyKey: (config) => `order-${String((config.data as string).length)}` });
    const seen: unknown[] = [];
    nock(ORIGIN)
      .post('/a')
      .reply(function () {
        seen.push(this.req.headers['idempotency-key']);
        return [200];
      })
      .post('/b')
      .reply(function () {
        seen.push(this.req.headers['idempotency-key']);
        return [200];
      })
      .get('/c')
      .reply(function () {
        seen.push(this.req.headers['idempotency-key']);
        return [200];
      });
    await instance.post('/a', 'abc');
    await instance.post('/b', 'abc', { headers: { 'Idempotency-Key': 'mine' } });
    await instance.get('/c');
    expect(seen).toEqual(['order-3', 'mine', undefined]);
  });

  it('a factory returning garbage fails the request with a typed error naming the option', async () => {
    setup({ idempotencyKey: () => 'bad\nkey' });
    const error = (await instance.post('/x', {}).catch((e: unknown) => e)) as Error & { option: string };
    expect(error.name).toBe('ResetGuardOptionError');
    expect(error.option).toBe('idempotencyKey');
  });
});

describe('retry budget', () => {
  it('stops retrying when the bucket is spent, says why, and refills on success', async () => {
    setup({ retryBudget: { capacity: 10, retryCost: 5, successRefund: 5 }, retries: 5 });
    nock(ORIGIN).get('/down').times(3).replyWithError(reset());
    const error = await failure(instance.get('/down'));
    expect(failureOf(error)!.reason).toBe('retry budget exhausted (0 tokens left, this retry costs 5)');
    expect(guard.stats().budget).toEqual({ tokens: 0, capacity: 10, refused: 1 });
    expect(guard.stats().attempts).toBe(3);

    nock(ORIGIN).get('/up').reply(200);
    await instance.get('/up');
    expect(guard.stats().budget!.tokens).toBe(5);
    nock(ORIGIN).get('/flaky').replyWithError(reset()).get('/flaky').reply(200, 'ok');
    expect((await instance.get('/flaky')).data).toBe('ok');
    // the successful retry paid its cost back
    expect(guard.stats().budget!.tokens).toBe(5);
  });

  it('gives the tokens back when a wait is aborted, and can be turned off', async () => {
    const controller = new AbortController();
    setup({ retryBudget: { capacity: 5 }, onRetry: () => controller.abort() });
    nock(ORIGIN).get('/a').replyWithError(reset());
    await failure(instance.get('/a', { signal: controller.signal }));
    expect(guard.stats()).toMatchObject({ retries: 0, budget: { tokens: 5 } });
    guard.detach();
    setup({ retryBudget: false });
    expect(guard.stats().budget).toBeUndefined();
  });
});

describe('review fixes', () => {
  it('retries do not pick up axios global defaults the first attempt did not send', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    axios.defaults.auth = { username: 'global', password: 'secret' };
    axios.defaults.headers.get['x-global'] = 'leak';
    try {
      guard = attach(api, { sleep: () => Promise.resolve() });
      const seen: Record<string, unknown>[] = [];
      const record = function (this: { req: { headers: Record<string, unknown> } }): [number] {
        seen.push({ auth: this.req.headers.authorization, global: this.req.headers['x-global'] });
        return [200];
      };
      nock(ORIGIN).get('/h').replyWithError(reset()).get('/h').reply(record);
      await api.get('/h');
      expect(seen).toEqual([{ auth: undefined, global: undefined }]);
    } finally {
      delete axios.defaults.auth;
      delete axios.defaults.headers.get['x-global'];
    }
  });

  it('an AxiosError thrown by onRetry is passed on untouched', async () => {
    const own = new AxiosError('stop here', 'ERR_HOOK');
    const onGiveUp = jest.fn();
    setup({ onRetry: () => Promise.reject(own), onGiveUp });
    nock(ORIGIN).get('/h').replyWithError(reset());
    const error = await failure(instance.get('/h'));
    expect(error).toBe(own);
    expect(error.config).toBeUndefined();
    expect(failureOf(error)).toBeUndefined();
    expect(onGiveUp).not.toHaveBeenCalled();
    expect(guard.stats()).toMatchObject({ gaveUp: 0, retries: 0 });
  });

  it('sees resetGuard set by an interceptor added before the guard', async () => {
    const api = axios.create({ baseURL: ORIGIN });
    api.interceptors.request.use((config) => {
      config.resetGuard = { retry: false };
      return config;
    });
    guard = attach(api, { sleep: () => Promise.resolve() });
    nock(ORIGIN).get('/once').replyWithError(reset());
    const error = await failure(api.get('/once'));
    expect(attemptOf(error)).toMatchObject({ attempt: 1, maxAttempts: 1 });
  });

  it('a config re-sent through global axios, or after detach, starts a fresh logical request', async () => {
    setup({ retries: 1 });
    nock(ORIGIN).get('/r').times(2).replyWithError(reset());
    const first = await failure(instance.get('/r'));
    expect(attemptOf(first)).toMatchObject({ attempt: 2, maxAttempts: 2 });
    nock(ORIGIN).get('/r').replyWithError(reset()).get('/r').reply(200, 'ok');
    const again = await axios.request(first.config!);
    expect(attemptOf(again)).toMatchObject({ attempt: 2, maxAttempts: 2 });
    expect(attemptOf(again)!.requestId).not.toBe(attemptOf(first)!.requestId);
    guard.detach();
    nock(ORIGIN).get('/r').reply(200, 'plain');
    expect((await axios.request(first.config!)).data).toBe('plain');
  });
});

describe('secrets and events', () => {
  const secretHeaders = {
    Authorization: 'Bearer s3cr3t-token',
    'Proxy-Authorization': 'Basic s3cr3t-proxy',
    Cookie: 'session=s3cr3t-cookie',
    'X-Api-Key': 's3cr3t-key',
  };

  it('hook payloads, channel messages and the final error JSON carry no secret', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown): void => void published.push(message);
    for (const name of Object.values(CHANNELS)) subscribe(name, listener);
    const hooks: unknown[] = [];
    try {
      setup(
        {
          redactHeaders: ['x-api-key'],
          onRetry: (info) => void hooks.push(info),
          onGiveUp: (info) => void hooks.push(info),
        },
        { headers: secretHeaders, auth: { username: 'me', password: 's3cr3t-basic' } },
      );
      nock(ORIGIN).get('/s').query({ page: 1 }).times(4).replyWithError(reset());
      const error = await failure(instance.get('/s?page=1'));
      const text = [
        JSON.stringify(error),
        JSON.stringify(hooks),
        JSON.stringify(published),
        hooks.map((h) => inspect(h, { depth: 8 })).join(''),
      ].join('\n');
      expect(text).not.toMatch(/s3cr3t/);
      expect(published).toHaveLength(3 + 4 + 1); // 3 retries, 4 resets, 1 give-up
      // the raw objects are still there for code that needs them
      const retry = hooks[0] as RetryInfo;
      expect(retry.error).toBeInstanceOf(AxiosError);
      expect(retry.config.headers.Cookie).toBe('session=s3cr3t-cookie');
      expect(retry).toMatchObject({ method: 'GET', url: 'http://api.test/s?page=1', reason: 'GET is idempotent' });
      const json = JSON.parse(JSON.stringify(error)) as Record<string, Record<string, Record<string, unknown>>>;
      expect(json.config!.headers!.Cookie).toBe('[redacted]');
      expect(json.config!.auth).toEqual({ username: 'me', password: '[redacted]' });
      expect(json.resetGuard!.reason).toBe('retry limit reached after 4 attempts');
    } finally {
      for (const name of Object.values(CHANNELS)) unsubscribe(name, listener);
    }
  });
});

describe('edge cases found in review, with nock', () => {
  it('an attempt error rethrown by onRetry still gets the user config and a redacted toJSON', async () => {
    setup({ onRetry: (info) => Promise.reject(info.error) }, { headers: { Authorization: 'Bearer s3cr3t' } });
    nock(ORIGIN).get('/r').replyWithError(reset());
    const error = await failure(instance.get('/r', { headers: { 'x-mine': 'yes' } }));
    expect(error.config!.headers['x-mine']).toBe('yes');
    expect(error.config!.transformResponse).toEqual(instance.defaults.transformResponse);
    expect(JSON.stringify(error)).not.toMatch(/s3cr3t/);
    expect(guard.stats().gaveUp).toBe(0);
  });

  it('the shorter of axios timeout and attemptTimeoutMs applies to each attempt', async () => {
    setup({ attemptTimeoutMs: 20_000 });
    nock(ORIGIN).get('/t').replyWithError(reset()).get('/t').reply(200);
    const seen: (number | undefined)[] = [];
    await instance.get('/t', { timeout: 300, resetGuard: { onRetry: (i) => void seen.push(i.config.timeout) } });
    expect(seen).toEqual([300]);
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

  it('a config re-sent after detach carries no stale attempt metadata', async () => {
    setup({ retries: 1 });
    nock(ORIGIN).get('/d').times(2).replyWithError(reset());
    const first = await failure(instance.get('/d'));
    guard.detach();
    nock(ORIGIN).get('/d').replyWithError(reset());
    const again = await failure(instance.request(first.config!));
    expect(attemptOf(again)).toBeUndefined();
  });
});

describe('wiring that the real-socket tests also prove', () => {
  it("with adapter: 'fetch', a reset is found in error.cause and retried", async () => {
    setup({}, { adapter: 'fetch' });
    nock(ORIGIN).get('/f').replyWithError(reset()).get('/f').reply(200, 'fetched');
    const res = await instance.get<string>('/f');
    expect(res.data).toBe('fetched');
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'reset' }]);
  });

  it('a POST whose connection was refused is retried: no byte was sent', async () => {
    setup();
    const refused = Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    nock(ORIGIN).post('/orders').replyWithError(refused).post('/orders').reply(201, 'created');
    const res = await instance.post<string>('/orders', { id: 1 });
    expect(res.data).toBe('created');
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'refused' }]);
  });

  it('detach() ends a pending wait; nothing more is sent', async () => {
    setup({
      random: () => 1,
      // ends only when aborted: if detach() did not abort it, the test would hang
      sleep: (_ms, signal) =>
        new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted')))),
      onRetry: () => void setImmediate(() => guard.detach()),
    });
    const scope = nock(ORIGIN).get('/w').replyWithError(reset());
    const error = await failure(instance.get('/w'));
    expect(scope.isDone()).toBe(true);
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was waiting to retry');
  });
});
