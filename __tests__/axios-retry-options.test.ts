/**
 * axios-retry's options as the way in: `attach(api, opts)` takes what `axiosRetry(api, opts)`
 * took, with the same meaning, and the guard's safety rules on top. Real loopback servers
 * with a ledger of what they received; the waits are asserted as planned, never timed.
 */
import axios, { isAxiosError, type AxiosError, type AxiosRequestConfig } from 'axios';
import { exponentialDelay, isNetworkOrIdempotentRequestError, linearDelay } from 'axios-retry';
import { attemptOf, failureOf, ResetGuardOptionError, type RetryInfo } from '../src';
import { idleDropFirewall, startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';

const { guarded, serve, track } = useFixtures();

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const failureKinds = (res: unknown): string[] => (attemptOf(res)?.history ?? []).map((h) => h.kind);

/** A server that answers `status` to the first `times` requests, then 200. */
function failingWith(status: number, times: number): ReturnType<typeof startHttpServer> {
  return startHttpServer({
    handler: (_req, res, n) => {
      res.statusCode = n <= times ? status : 200;
      res.end(JSON.stringify({ n }));
    },
  });
}

describe('retryDelay', () => {
  it("axios-retry's exponentialDelay is called with (retryCount, error) and its waits are the ones planned", async () => {
    const server = await serve(startHttpServer({ resetFirst: 2 }));
    const calls: [number, unknown][] = [];
    const planned: number[] = [];
    const retryDelay = (count: number, error: AxiosError): number => {
      calls.push([count, error.code]);
      return exponentialDelay(count, error, 10);
    };
    const { api } = guarded(server.url, { retryDelay, beforeRetry: (info) => void planned.push(info.delayMs) });
    const res = await api.get('/');
    expect(res.status).toBe(200);
    expect(calls).toEqual([
      [1, 'ECONNRESET'],
      [2, 'ECONNRESET'],
    ]);
    // 2^n * 10 plus up to 20 % jitter, in whole ms
    expect(planned[0]).toBeGreaterThanOrEqual(20);
    expect(planned[0]).toBeLessThanOrEqual(24);
    expect(planned[1]).toBeGreaterThanOrEqual(40);
    expect(planned[1]).toBeLessThanOrEqual(48);
    expect(server.hits).toBe(3);
  });

  it('linearDelay() works as it is; a Retry-After longer than the delay is the least wait', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          if (n === 1) res.setHeader('retry-after', '1');
          res.statusCode = n <= 2 ? 503 : 200;
          res.end();
        },
      }),
    );
    const planned: number[] = [];
    const { api } = guarded(server.url, {
      retryDelay: linearDelay(5),
      beforeRetry: (info) => void planned.push(info.delayMs),
    });
    await api.get('/');
    expect(planned).toEqual([1000, 10]);
  });

  it('a stale socket is still resent at once, whatever retryDelay says', async () => {
    // a box in the path that forgets connections idle over 100 ms and answers with an RST
    const target = await idleDropFirewall(100);
    track(target);
    const retryDelay = jest.fn(() => 5000);
    const planned: number[] = [];
    const { api } = guarded(target.url, { retryDelay, beforeRetry: (info) => void planned.push(info.delayMs) });
    await api.get('/');
    await pause(300);
    const res = await api.get('/');
    expect(res.status).toBe(200);
    expect(failureKinds(res)).toEqual(['stale-socket']);
    expect(planned).toEqual([0]);
    expect(retryDelay).not.toHaveBeenCalled();
  });

  it('a delay that is not a number of ms is a typed error naming retryDelay and the value', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url, { retryDelay: () => Number.NaN });
    const error = (await failure(api.get('/'))) as unknown;
    expect(error).toBeInstanceOf(ResetGuardOptionError);
    expect((error as ResetGuardOptionError).message).toMatch(/retryDelay.*NaN/);
    expect(server.hits).toBe(1);
  });
});

describe('retryCondition', () => {
  it('false stops a retry the guard would send, and the reason says so', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url, { retryCondition: () => false });
    const error = await failure(api.get('/'));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.reason).toMatch(/^retryCondition declined the retry/);
    expect(server.hits).toBe(1);
  });

  it('true widens a GET 500 (not in retryStatuses) to a retry', async () => {
    const server = await serve(failingWith(500, 1));
    const { api } = guarded(server.url, { retryCondition: () => true });
    const res = await api.get('/');
    expect(res.status).toBe(200);
    expect(server.hits).toBe(2);
  });

  it('true never resends a POST the server may have applied; with an Idempotency-Key it does', async () => {
    // each body fails with a 500 the first time the server sees it
    const seen = new Set<string>();
    const server = await serve(
      startHttpServer({
        handler: (_req, res, _n, body) => {
          res.statusCode = seen.has(body) ? 200 : 500;
          seen.add(body);
          res.end();
        },
      }),
    );
    const { api } = guarded(server.url, { retryCondition: () => true });
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(error.response?.status).toBe(500);
    expect(failureOf(error)!.reason).toMatch(
      /retryCondition asked for a retry .* POST may have been applied: not resent/,
    );
    expect(server.bodies).toEqual(['{"id":1}']);

    const keyed = await api.post('/orders', { id: 2 }, { headers: { 'Idempotency-Key': 'k-2' } });
    expect(keyed.status).toBe(200);
    expect(server.bodies).toEqual(['{"id":1}', '{"id":2}', '{"id":2}']);
  });

  it("axios-retry's own isNetworkOrIdempotentRequestError keeps its meaning where it is safe", async () => {
    const server = await serve(failingWith(500, 1));
    const { api } = guarded(server.url, { retryCondition: isNetworkOrIdempotentRequestError });
    expect((await api.get('/')).status).toBe(200); // a GET 5xx: axios-retry retries it, so does the guard
    expect(server.hits).toBe(2);
  });

  it('as in axios-retry: a promise of anything but false is yes, a rejected one is no, a throw ends the request', async () => {
    const server = await serve(failingWith(500, 10));
    const yes = guarded(server.url, {
      retries: 1,
      retryCondition: () => Promise.resolve(undefined as unknown as boolean),
    });
    await failure(yes.api.get('/'));
    expect(server.hits).toBe(2);

    const no = guarded(server.url, { retryCondition: () => Promise.reject(new Error('nope')) });
    expect(failureOf(await failure(no.api.get('/')))!.reason).toMatch(/status 500 is not retried/);
    expect(server.hits).toBe(3);

    const boom = new Error('condition failed');
    const throws = guarded(server.url, {
      retryCondition: () => {
        throw boom;
      },
    });
    expect(await failure(throws.api.get('/'))).toBe(boom);
    expect(server.hits).toBe(4);
  });

  it('is asked only while attempts remain, and never about a cancel', async () => {
    const server = await serve(startHttpServer({ resetFirst: 10 }));
    const asked: string[] = [];
    const { api } = guarded(server.url, {
      retries: 2,
      retryCondition: (error) => {
        asked.push(String(error.code));
        return true;
      },
    });
    await failure(api.get('/'));
    expect(asked).toEqual(['ECONNRESET', 'ECONNRESET']);
    expect(server.hits).toBe(3);

    const controller = new AbortController();
    const canceled = api.get('/', {
      signal: controller.signal,
      resetGuard: { beforeRetry: () => void setImmediate(() => controller.abort()), baseDelayMs: 10_000 },
    });
    expect(axios.isCancel(await failure(canceled))).toBe(true);
    expect(asked).toHaveLength(3);
  });
});

describe('shouldResetTimeout', () => {
  it("false makes axios's timeout one budget for all attempts and waits; the caller's timeout comes back", async () => {
    const server = await serve(startHttpServer({ handler: () => undefined }));
    const { api } = guarded(server.url, { shouldResetTimeout: false, retryTimeouts: true });
    const config: AxiosRequestConfig = { timeout: 300 };
    const error = await failure(api.get('/hang', config));
    expect(failureOf(error)!.reason).toMatch(/^deadline of 300 ms reached after \d attempts?/);
    expect(error.config?.timeout).toBe(300);
  });

  it('true (the default) gives each attempt the whole timeout', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined }));
    const seen: (number | undefined)[] = [];
    const { api } = guarded(server.url, {
      retries: 2,
      retryTimeouts: true,
      beforeRetry: (info) => void seen.push(info.config.timeout),
    });
    const error = await failure(api.get('/hang', { timeout: 100 }));
    expect(seen).toEqual([100, 100]);
    expect(failureOf(error)!.reason).toMatch(/^retry limit reached after 3 attempts/);
  });
});

describe('onRetry and onMaxRetryTimesExceeded', () => {
  it("onRetry gets axios-retry's arguments: the retry's number, the error and the config", async () => {
    const server = await serve(startHttpServer({ resetFirst: 2 }));
    const calls: [number, string | undefined, unknown][] = [];
    const { api } = guarded(server.url, {
      onRetry: (count, error, config) => void calls.push([count, error.code, config.url]),
    });
    await api.get('/items');
    expect(calls).toEqual([
      [1, 'ECONNRESET', '/items'],
      [2, 'ECONNRESET', '/items'],
    ]);
  });

  it('an onRetry that throws ends the request with its error', async () => {
    const server = await serve(startHttpServer({ resetFirst: 2 }));
    const boom = new Error('hook');
    const { api } = guarded(server.url, { onRetry: () => Promise.reject(boom) });
    expect(await failure(api.get('/'))).toBe(boom);
    expect(server.hits).toBe(1);
  });

  it('onMaxRetryTimesExceeded(error, retryCount) fires once every retry was used, not on a recovery', async () => {
    const server = await serve(startHttpServer({ resetFirst: 10 }));
    const exceeded: [string | undefined, number][] = [];
    const { api } = guarded(server.url, {
      retries: 2,
      onMaxRetryTimesExceeded: (error, count) => void exceeded.push([error.code, count]),
    });
    await failure(api.get('/'));
    expect(exceeded).toEqual([['ECONNRESET', 2]]);

    const recovers = await serve(startHttpServer({ resetFirst: 1 }));
    const fine = guarded(recovers.url, { onMaxRetryTimesExceeded: () => void exceeded.push(['no', 0]) });
    await fine.api.get('/');
    expect(exceeded).toHaveLength(1);
  });

  it('with retries: 0 it fires on the first failure, as in axios-retry', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const seen: number[] = [];
    const { api } = guarded(server.url, { retries: 0, onMaxRetryTimesExceeded: (_e, count) => void seen.push(count) });
    await failure(api.get('/'));
    expect(seen).toEqual([0]);
  });
});

describe('validateResponse', () => {
  it('decides which answers succeed, on the data as the caller reads it; a 503 it rejects is retried', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.setHeader('content-type', 'application/json');
          res.statusCode = n === 1 ? 503 : 200;
          res.end(JSON.stringify({ n, busy: n === 2 }));
        },
      }),
    );
    const seen: unknown[] = [];
    const { api } = guarded(server.url, {
      retries: 3,
      retryCondition: () => true,
      validateResponse: (res) => {
        seen.push(res.data);
        return res.status === 200 && (res.data as { busy: boolean }).busy === false;
      },
    });
    const res = await api.get<{ n: number }>('/');
    expect(res.data.n).toBe(3);
    expect(seen).toEqual([
      { n: 1, busy: false },
      { n: 2, busy: true },
      { n: 3, busy: false },
    ]);
    // the caller's validateStatus was not used, and is back on the config
    expect(res.config.validateStatus).toBe(axios.defaults.validateStatus);
  });

  it('a 404 it accepts is a success', async () => {
    const server = await serve(failingWith(404, 10));
    const { api } = guarded(server.url, { validateResponse: (res) => res.status === 404 });
    const res = await api.get('/');
    expect(res.status).toBe(404);
    expect(server.hits).toBe(1);
  });
});

describe('the migration is one line', () => {
  it("axios-retry's whole options object is accepted as it is", async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const log: string[] = [];
    const { api } = guarded(server.url, {
      retries: 3,
      retryDelay: exponentialDelay,
      retryCondition: isNetworkOrIdempotentRequestError,
      shouldResetTimeout: true,
      onRetry: (count) => void log.push(`retry ${count}`),
      onMaxRetryTimesExceeded: () => void log.push('exceeded'),
      validateResponse: null,
    });
    const res = await api.get('/');
    expect(res.status).toBe(200);
    expect(log).toEqual(['retry 1']);
  });

  it('beforeRetry (the guard’s own hook) still gets the whole RetryInfo', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const infos: RetryInfo[] = [];
    const { api } = guarded(server.url, { beforeRetry: (info) => void infos.push(info) });
    await api.get('/');
    expect(infos[0]).toMatchObject({ attempt: 1, nextAttempt: 2, classification: { kind: 'reset' } });
    expect(isAxiosError(infos[0]!.error)).toBe(true);
  });
});
