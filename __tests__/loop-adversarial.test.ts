/**
 * Attacks on the request loop (src/request.ts): real loopback servers that keep a ledger of
 * what they received and applied, and nock only where wiring matters. Each case says what
 * must hold; the ones a review found broken were fixed with these tests failing first.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Readable } from 'node:stream';
import axios, {
  AxiosError,
  AxiosHeaders,
  CanceledError,
  isCancel,
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { attach, attemptOf, failureOf, type Guard, type GuardOptions, type RetryInfo } from '../src';
import { sleep } from '../src/sleep';
import { testingOptions } from '../src/testing';

// ---------------------------------------------------------------------------------------
// rig

interface Hit {
  n: number;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

type Reply = (hit: Hit, req: http.IncomingMessage, res: http.ServerResponse) => void;

interface Ledger {
  url: string;
  hits: Hit[];
  /** what the server applied (a reply handler calls `apply`) */
  applied: string[];
  /** resolves when the n-th hit arrived (n 1-based) */
  hit(n: number): Promise<Hit>;
  close(): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];
const guards: Guard[] = [];

afterEach(async () => {
  for (const g of guards.splice(0)) g.detach();
  await Promise.all(closers.splice(0).map((c) => c()));
});

/** A server on 127.0.0.1:0 that reads each body in full before `reply` runs. */
async function serve(reply: Reply, { early }: { early?: (req: http.IncomingMessage, n: number) => boolean } = {}) {
  const hits: Hit[] = [];
  const applied: string[] = [];
  const waiters = new Map<number, ((h: Hit) => void)[]>();
  const sockets = new Set<Socket>();
  let count = 0;
  const server = http.createServer((req, res) => {
    count += 1;
    const n = count;
    // before the body: a reset the server sends on receiving the headers only
    if (early?.(req, n) === true) {
      const hit: Hit = { n, method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: '<unread>' };
      hits.push(hit);
      for (const w of waiters.get(n) ?? []) w(hit);
      req.socket.destroy();
      return;
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('error', () => undefined);
    req.on('end', () => {
      const hit: Hit = {
        n,
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      hits.push(hit);
      for (const w of waiters.get(n) ?? []) w(hit);
      reply(hit, req, res);
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async (): Promise<void> => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  closers.push(close);
  const ledger: Ledger & { apply(body: string): void } = {
    url: `http://127.0.0.1:${port}`,
    hits,
    applied,
    apply: (body) => void applied.push(body),
    hit: (n) =>
      hits[n - 1] !== undefined
        ? Promise.resolve(hits[n - 1] as Hit)
        : new Promise<Hit>((resolve) => waiters.set(n, [...(waiters.get(n) ?? []), resolve])),
    close,
  };
  return ledger;
}

const ok = (res: http.ServerResponse, body = 'ok', status = 200, headers: http.OutgoingHttpHeaders = {}): void => {
  res.writeHead(status, { 'content-type': 'text/plain', ...headers });
  res.end(body);
};
/** The server applied the request, then the connection died before any answer. */
const resetAfterApply = (req: http.IncomingMessage): void => void req.socket.destroy();

function guarded(baseURL: string, options: GuardOptions = {}, config: Parameters<typeof axios.create>[0] = {}) {
  const api = axios.create({ baseURL, ...config });
  const guard = attach(api, { ...testingOptions({}, { random: () => 0 }), ...options });
  guards.push(guard);
  return { api, guard };
}

async function failure(p: Promise<unknown>): Promise<AxiosError> {
  try {
    await p;
  } catch (e) {
    return e as AxiosError;
  }
  throw new Error('expected a rejection');
}

const header = (h: unknown, name: string): unknown => AxiosHeaders.from(h as AxiosHeaders).get(name);

// ---------------------------------------------------------------------------------------

describe('never applied twice', () => {
  it('a POST without a key, reset after the server read it on a fresh connection, is sent once', async () => {
    const s = await serve((hit, req) => {
      (s as unknown as { apply(b: string): void }).apply(hit.body);
      resetAfterApply(req);
    });
    const { api } = guarded(s.url, { retries: 3 });
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(error.code).toBe('ECONNRESET');
    expect(s.hits).toHaveLength(1);
  });

  it('a keyed POST across two resets: same key, full identical body, attempt headers as the server saw them', async () => {
    const s = await serve((hit, req, res) => (hit.n < 3 ? resetAfterApply(req) : ok(res, 'created', 201)));
    const seenInHook: { attempt: unknown; id: unknown; timeout: unknown }[] = [];
    const { api } = guarded(s.url, {
      retries: 3,
      idempotencyKey: true,
      attemptHeader: 'x-attempt',
      requestIdHeader: 'x-rid',
      beforeRetry: (info: RetryInfo) =>
        void seenInHook.push({
          attempt: header(info.config.headers, 'x-attempt'),
          id: header(info.config.headers, 'x-rid'),
          timeout: info.config.timeout,
        }),
    });
    const body = { id: 7, note: 'é'.repeat(3000) };
    const res = await api.post('/orders', body, { timeout: 4321 });
    expect(res.status).toBe(201);
    expect(s.hits.map((h) => h.body)).toEqual(Array(3).fill(JSON.stringify(body)));
    const keys = new Set(s.hits.map((h) => h.headers['idempotency-key']));
    expect(keys.size).toBe(1);
    expect(s.hits.map((h) => h.headers['x-attempt'])).toEqual(['1/4', '2/4', '3/4']);
    const rid = attemptOf(res)!.requestId;
    expect(s.hits.map((h) => h.headers['x-rid'])).toEqual([rid, rid, rid]);
    expect(s.hits.map((h) => h.headers['content-type'])).toEqual(Array(3).fill('application/json'));
    // the response describes the attempt that answered
    expect(header(res.config.headers, 'x-attempt')).toBe('3/4');
    expect(header(res.config.headers, 'x-rid')).toBe(rid);
    expect(res.config.timeout).toBe(4321);
    expect(attemptOf(res)!.attempt).toBe(3);
    expect(seenInHook).toEqual([
      { attempt: '1/4', id: rid, timeout: 4321 },
      { attempt: '2/4', id: rid, timeout: 4321 },
    ]);
  });

  it('a body factory (stream) across two resets: the server reads the full identical body every time', async () => {
    const payload = 'x'.repeat(200_000);
    const s = await serve((hit, req, res) => (hit.n < 3 ? resetAfterApply(req) : ok(res)));
    const { api } = guarded(s.url, { retries: 3 });
    let made = 0;
    const res = await api.put('/upload', undefined, {
      resetGuard: {
        body: () => {
          made += 1;
          return Readable.from([payload.slice(0, 100_000), payload.slice(100_000)]);
        },
      },
    });
    expect(res.status).toBe(200);
    expect(made).toBe(3);
    expect(s.hits.map((h) => h.body.length)).toEqual([200_000, 200_000, 200_000]);
    expect(s.hits.every((h) => h.body === payload)).toBe(true);
  });

  it('a body factory with a declared Content-Length and a POST key: full body, same length header', async () => {
    const s = await serve((hit, req, res) => (hit.n < 2 ? resetAfterApply(req) : ok(res)));
    const { api } = guarded(s.url, { retries: 2, idempotencyKey: true });
    const res = await api.post('/upload', undefined, {
      headers: { 'Content-Length': '5', 'Content-Type': 'text/plain' },
      resetGuard: { body: () => Readable.from(['ab', 'cde']) },
    });
    expect(res.status).toBe(200);
    expect(s.hits.map((h) => [h.body, h.headers['content-length'], h.headers['content-type']])).toEqual([
      ['abcde', '5', 'text/plain'],
      ['abcde', '5', 'text/plain'],
    ]);
  });

  it('a stream body without a factory is never resent (PUT, reset after read)', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const { api } = guarded(s.url, { retries: 3 });
    const error = await failure(api.put('/upload', Readable.from(['abc'])));
    expect(error.code).toBe('ECONNRESET');
    expect(s.hits).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------

describe('hook and factory errors reach the caller untouched', () => {
  it('beforeRetry throwing: the very object, no config, no toJSON of the guard', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const mine = new Error('hook');
    const { api } = guarded(s.url, {
      beforeRetry: () => {
        throw mine;
      },
    });
    const error = await failure(api.get('/x'));
    expect(error).toBe(mine);
    expect(Object.keys(error)).toEqual([]);
    expect(s.hits).toHaveLength(1);
  });

  // expected: a CanceledError the beforeRetry hook throws of its own passes untouched (old code: untouched)
  it('beforeRetry throwing a CanceledError of its own: passed untouched', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const mine = new CanceledError('hook says stop');
    const { api } = guarded(s.url, {
      beforeRetry: () => {
        throw mine;
      },
    });
    const error = await failure(api.get('/x'));
    expect(error).toBe(mine);
    expect(error.config).toBeUndefined();
    expect(Object.prototype.hasOwnProperty.call(error, 'toJSON')).toBe(false);
  });

  it('async onGiveUp throwing: the very object', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const mine = new Error('give-up hook');
    const { api } = guarded(s.url, {
      retries: 1,
      onGiveUp: async () => {
        await Promise.resolve();
        throw mine;
      },
    });
    const error = await failure(api.get('/x'));
    expect(error).toBe(mine);
    expect(s.hits).toHaveLength(2);
  });

  it('a body factory throwing on a retry: the very object, nothing more sent, config.timeout restored', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const mine = new Error('factory');
    let calls = 0;
    const { api, guard } = guarded(s.url, { retries: 3 });
    let seenConfig: InternalAxiosRequestConfig | undefined;
    api.interceptors.request.use((c) => {
      seenConfig = c;
      return c;
    });
    const error = await failure(
      api.put('/x', undefined, {
        timeout: 777,
        resetGuard: {
          body: () => {
            calls += 1;
            if (calls > 1) throw mine;
            return Buffer.from('abc');
          },
        },
      }),
    );
    expect(error).toBe(mine);
    expect(s.hits).toHaveLength(1);
    expect(seenConfig?.timeout).toBe(777);
    expect(guard.stats().gaveUp).toBe(0);
  });

  it('a body factory throwing an AxiosError (of its own) on a retry: not retried, the very object', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const mine = new AxiosError('factory says no', 'EFACTORY');
    let calls = 0;
    const { api } = guarded(s.url, { retries: 3 });
    const error = await failure(
      api.put('/x', undefined, {
        resetGuard: {
          body: () => {
            calls += 1;
            if (calls > 1) throw mine;
            return 'abc';
          },
        },
      }),
    );
    expect(error).toBe(mine);
    expect(error.config).toBeUndefined();
    expect(s.hits).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------

describe('cancel', () => {
  it('AbortController during the backoff wait: CanceledError, nothing more sent', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const controller = new AbortController();
    const { api } = guarded(
      s.url,
      testingOptions(
        { baseDelayMs: 60_000, maxDelayMs: 60_000, beforeRetry: () => void setImmediate(() => controller.abort()) },
        { sleep, random: () => 1 },
      ),
    );
    const error = await failure(api.get('/x', { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
    expect(s.hits).toHaveLength(1);
  });

  it('CancelToken during the backoff wait (with a deadline, so attempts use the guard token)', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const source = axios.CancelToken.source();
    const { api } = guarded(
      s.url,
      testingOptions(
        {
          baseDelayMs: 10_000,
          maxDelayMs: 10_000,
          deadlineMs: 30_000,
          beforeRetry: () => void setImmediate(() => source.cancel('stop')),
        },
        { sleep, random: () => 1 },
      ),
    );
    const error = await failure(api.get('/x', { cancelToken: source.token }));
    expect(isCancel(error)).toBe(true);
    expect(error.message).toBe('stop');
    expect(s.hits).toHaveLength(1);
  });

  it.each(['signal', 'token'] as const)('%s mid-attempt: CanceledError, no retry', async (how) => {
    const s = await serve(() => undefined); // never answers
    const controller = new AbortController();
    const source = axios.CancelToken.source();
    const { api } = guarded(s.url, { deadlineMs: 20_000 });
    void s.hit(1).then(() => (how === 'signal' ? controller.abort() : source.cancel('stop')));
    const error = await failure(
      api.get('/x', how === 'signal' ? { signal: controller.signal } : { cancelToken: source.token }),
    );
    expect(isCancel(error)).toBe(true);
    expect(s.hits).toHaveLength(1);
    // the caller's token is back on the config
    if (how === 'token') expect(error.config?.cancelToken).toBe(source.token);
  });

  // expected: a cancel during the wait ends the request before the next attempt reaches the server,
  // whatever the injected sleep does with its signal (old code: dispatchRequest threw first, 1 hit)
  it('a signal aborted during a sleep that ignores its signal: no further attempt reaches the server', async () => {
    const s = await serve((hit, req, res) => {
      if (hit.url === '/sentinel') return ok(res);
      if (hit.n === 1) return resetAfterApply(req);
      (s as unknown as { apply(b: string): void }).apply(hit.body);
      ok(res, 'applied', 201);
    });
    const controller = new AbortController();
    const { api, guard } = guarded(
      s.url,
      testingOptions(
        { idempotencyKey: true, maxSockets: 1, baseDelayMs: 10 },
        {
          random: () => 1,
          // a test's sleep stub: resolves at once, after the caller gave up
          sleep: () => {
            controller.abort();
            return Promise.resolve();
          },
        },
      ),
    );
    const error = await failure(api.post('/orders', { id: 1 }, { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
    // progress, not time: a request queued behind any second attempt on the one socket
    await axios.get(`${s.url}/sentinel`, { httpAgent: guard.agents.http });
    // the caller was told "canceled": the server must not have applied a second attempt
    expect(s.hits.filter((h) => h.url === '/orders')).toHaveLength(1);
    expect(s.applied).toHaveLength(0);
  });

  it('detach() during the wait: the attempt error, detached reason, nothing more sent', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const made = guarded(
      s.url,
      testingOptions(
        { baseDelayMs: 60_000, maxDelayMs: 60_000, beforeRetry: () => void setImmediate(() => made.guard.detach()) },
        { sleep, random: () => 1 },
      ),
    );
    const error = await failure(made.api.get('/x'));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)?.reason).toMatch(/detached/);
    expect(s.hits).toHaveLength(1);
  });
});

// ---------------------------------------------------------------------------------------

describe('a config re-sent by hand (token refresh: on 401, api.request(error.config))', () => {
  function refreshing(api: AxiosInstance): { resent: number } {
    const counter = { resent: 0 };
    api.interceptors.response.use(undefined, async (error: AxiosError) => {
      if (error.response?.status === 401 && error.config && counter.resent === 0) {
        counter.resent += 1;
        error.config.headers.Authorization = 'Bearer fresh';
        return api.request(error.config);
      }
      throw error;
    });
    return counter;
  }

  it('a JSON POST: re-sent once with the new token, its own attempt metadata, the same body', async () => {
    const s = await serve((hit, _req, res) =>
      hit.headers.authorization === 'Bearer fresh' ? ok(res, 'yes') : ok(res, 'no', 401),
    );
    const { api } = guarded(s.url, { attemptHeader: 'x-attempt', requestIdHeader: 'x-rid' });
    refreshing(api);
    const res = await api.post('/orders', { id: 1 }, { headers: { Authorization: 'Bearer old' }, timeout: 1234 });
    expect(res.data).toBe('yes');
    expect(s.hits.map((h) => [h.body, h.headers['x-attempt'], h.headers.authorization])).toEqual([
      ['{"id":1}', '1/4', 'Bearer old'],
      ['{"id":1}', '1/4', 'Bearer fresh'],
    ]);
    expect(s.hits[0]!.headers['x-rid']).not.toBe(s.hits[1]!.headers['x-rid']);
    expect(attemptOf(res)?.requestId).toBe(s.hits[1]!.headers['x-rid']);
    expect(attemptOf(res)?.attempt).toBe(1);
    expect(res.config.timeout).toBe(1234);
  });

  it('after a reset then a 401: the re-sent request starts its own attempts at 1, with the full budget', async () => {
    const s = await serve((hit, req, res) => {
      if (hit.n === 1) return resetAfterApply(req);
      return hit.headers.authorization === 'Bearer fresh' ? ok(res, 'yes') : ok(res, 'no', 401);
    });
    const { api } = guarded(s.url, { attemptHeader: 'x-attempt', retries: 1 });
    refreshing(api);
    const res = await api.get('/me');
    expect(res.data).toBe('yes');
    expect(s.hits.map((h) => h.headers['x-attempt'])).toEqual(['1/2', '2/2', '1/2']);
    expect(attemptOf(res)?.history).toEqual([]);
  });

  // expected: a body factory request re-sent by hand sends a full fresh body (the spent stream was closed)
  it('a body-factory upload re-sent by hand after a 401: the server reads the full body again', async () => {
    const s = await serve((hit, _req, res) =>
      hit.headers.authorization === 'Bearer fresh' ? ok(res, 'yes') : ok(res, 'no', 401),
    );
    const { api } = guarded(s.url);
    refreshing(api);
    const res = await api.put('/upload', undefined, {
      resetGuard: { body: () => Readable.from(['hello ', 'world']) },
    });
    expect(res.data).toBe('yes');
    expect(s.hits.map((h) => h.body)).toEqual(['hello world', 'hello world']);
  });
});

// ---------------------------------------------------------------------------------------

describe('nested guards: an adapter that calls another guarded instance', () => {
  it('a reset below is retried by the inner guard only; the outer sees one attempt', async () => {
    const s = await serve((hit, req, res) => (hit.n === 1 ? resetAfterApply(req) : ok(res, 'inner-ok')));
    const inner = guarded(s.url, { attemptHeader: 'x-inner', requestIdHeader: 'x-inner-id' });
    const outerAdapter: AxiosAdapter = async (config) => {
      const r = await inner.api.get(config.url ?? '/');
      return { ...r, config, headers: r.headers };
    };
    const outer = guarded(s.url, { attemptHeader: 'x-outer' }, { adapter: outerAdapter });
    const res = await outer.api.get('/n');
    expect(res.data).toBe('inner-ok');
    expect(s.hits).toHaveLength(2);
    expect(attemptOf(res)?.attempt).toBe(1);
    expect(header(res.config.headers, 'x-outer')).toBe('1/4');
    expect(outer.guard.stats().attempts).toBe(1);
    expect(inner.guard.stats().attempts).toBe(2);
  });

  // expected: the outer request's config keeps the outer's headers when the inner response's config is passed up as is
  it('an adapter that returns the inner response as is: res.config headers stay the outer request’s', async () => {
    const s = await serve((_hit, _req, res) => ok(res, 'inner-ok'));
    const inner = guarded(s.url, { requestIdHeader: 'x-inner-id' });
    const outer = guarded(
      s.url,
      { requestIdHeader: 'x-outer-id' },
      { adapter: (config) => inner.api.get(config.url ?? '/', { headers: { 'x-secret': 'inner-only' } }) },
    );
    const res = await outer.api.get('/n', { headers: { 'x-mine': 'outer' } });
    expect(attemptOf(res)?.requestId).toBe(header(res.config.headers, 'x-outer-id'));
    expect(header(res.config.headers, 'x-mine')).toBe('outer');
    expect(header(res.config.headers, 'x-secret')).toBeUndefined();
  });

  // expected: the inner guard's verdict (reason, history of its 3 attempts) reaches the caller; the outer judged nothing
  it('an inner give-up keeps the inner guard’s failure info (not rewritten by the outer)', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const inner = guarded(s.url, { retries: 2 });
    const outer = guarded(s.url, {}, { adapter: (config) => inner.api.get(config.url ?? '/') });
    const error = await failure(outer.api.get('/n'));
    expect(error.code).toBe('ECONNRESET');
    expect(s.hits).toHaveLength(3);
    expect(failureOf(error)?.attempt.history).toHaveLength(2);
  });

  // expected: the outer guard, which never judged the inner error (not its own), does not report a give-up
  it('an inner give-up does not fire the outer guard’s onGiveUp', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const inner = guarded(s.url, { retries: 1 });
    let outerGaveUp = 0;
    const outer = guarded(
      s.url,
      { onGiveUp: () => void (outerGaveUp += 1) },
      { adapter: (config) => inner.api.get(config.url ?? '/') },
    );
    await failure(outer.api.get('/n'));
    expect(s.hits).toHaveLength(2);
    expect(outerGaveUp).toBe(0);
    expect(outer.guard.stats().gaveUp).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------

describe('custom adapters', () => {
  it('an adapter answering with a plain-object headers response after two resets', async () => {
    let calls = 0;
    const adapter: AxiosAdapter = (config) => {
      calls += 1;
      if (calls <= 2) {
        const cause = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
        return Promise.reject(AxiosError.from(cause, 'ECONNRESET', config, {}));
      }
      return Promise.resolve({
        data: '{"a":1}',
        status: 200,
        statusText: 'OK',
        headers: { 'Content-Type': 'application/json' },
        config,
        request: {},
      } as unknown as AxiosResponse);
    };
    const { api } = guarded('http://example.test', { attemptHeader: 'x-attempt' }, { adapter });
    const res = await api.get('/p', { timeout: 99 });
    expect(res.data).toEqual({ a: 1 });
    expect(calls).toBe(3);
    expect(attemptOf(res)?.attempt).toBe(3);
    expect(header(res.config.headers, 'x-attempt')).toBe('3/4');
    expect(res.config.timeout).toBe(99);
  });

  it('a 503 with a plain-object Retry-After header from a custom adapter is retried after it', async () => {
    let calls = 0;
    const delays: number[] = [];
    const adapter: AxiosAdapter = (config) => {
      calls += 1;
      const response = {
        data: 'x',
        status: calls === 1 ? 503 : 200,
        statusText: '',
        headers: { 'Retry-After': '1' },
        config,
        request: {},
      } as unknown as AxiosResponse;
      if (calls === 1) return Promise.reject(new AxiosError('503', AxiosError.ERR_BAD_RESPONSE, config, {}, response));
      return Promise.resolve(response);
    };
    const { api } = guarded('http://example.test', { beforeRetry: (i) => void delays.push(i.delayMs) }, { adapter });
    const res = await api.get('/p');
    expect(res.status).toBe(200);
    expect(delays).toEqual([1000]);
  });

  it('an adapter that throws synchronously (non-axios Error): the very object, config.timeout restored', async () => {
    const mine = new TypeError('sync boom');
    let seen: InternalAxiosRequestConfig | undefined;
    const adapter: AxiosAdapter = (config) => {
      seen = config;
      throw mine;
    };
    const { api } = guarded('http://example.test', { deadlineMs: 5000 }, { adapter });
    const error = await failure(api.get('/p', { timeout: 42 }));
    expect(error).toBe(mine);
    expect(seen?.timeout).toBe(42);
  });

  it('an adapter that throws synchronously, unbounded path', async () => {
    const mine = new TypeError('sync boom');
    const adapter: AxiosAdapter = () => {
      throw mine;
    };
    const { api } = guarded('http://example.test', {}, { adapter });
    expect(await failure(api.get('/p'))).toBe(mine);
  });

  it('an adapter rejecting with a non-axios Error with a reset code: not retried, the very object', async () => {
    let calls = 0;
    const mine = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });
    const adapter: AxiosAdapter = () => {
      calls += 1;
      return Promise.reject(mine);
    };
    const { api, guard } = guarded('http://example.test', {}, { adapter });
    const error = await failure(api.get('/p'));
    expect(error).toBe(mine);
    expect(calls).toBe(1);
    expect(guard.stats().gaveUp).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------

describe('interceptors, headers and timeout as the caller sees them', () => {
  it('user request/response interceptors run once per logical request across 3 retries', async () => {
    const s = await serve((hit, req, res) =>
      hit.n <= 3 ? resetAfterApply(req) : ok(res, '{"v":1}', 200, { 'content-type': 'application/json' }),
    );
    const { api } = guarded(s.url);
    let reqRuns = 0;
    let resRuns = 0;
    let transforms = 0;
    api.interceptors.request.use((c) => {
      reqRuns += 1;
      c.headers.set('x-stamp', `stamp-${reqRuns}`);
      return c;
    });
    api.interceptors.response.use((r) => {
      resRuns += 1;
      return r;
    });
    const res = await api.get('/x', {
      transformResponse: [
        (d: unknown) => {
          transforms += 1;
          return typeof d === 'string' ? (JSON.parse(d) as unknown) : d;
        },
      ],
    });
    expect(res.data).toEqual({ v: 1 });
    expect([reqRuns, resRuns, transforms]).toEqual([1, 1, 1]);
    expect(s.hits.map((h) => h.headers['x-stamp'])).toEqual(Array(4).fill('stamp-1'));
  });

  it('an beforeRetry hook that adjusts headers on info.config: the next attempt sends them', async () => {
    const s = await serve((hit, req, res) => (hit.n === 1 ? resetAfterApply(req) : ok(res)));
    const { api } = guarded(s.url, {
      beforeRetry: (info) => void info.config.headers.set('x-retry-note', `after-${info.attempt}`),
    });
    await api.get('/x');
    expect(s.hits.map((h) => h.headers['x-retry-note'])).toEqual([undefined, 'after-1']);
  });

  // expected: the error of an earlier attempt (as beforeRetry got it) keeps describing what that attempt sent
  it('info.error.config of an earlier attempt still describes that attempt once the request is over', async () => {
    const s = await serve((hit, req, res) => (hit.n < 3 ? resetAfterApply(req) : ok(res)));
    const errors: AxiosError[] = [];
    const { api } = guarded(s.url, {
      attemptHeader: 'x-attempt',
      attemptTimeoutMs: 3000,
      beforeRetry: (info) => void errors.push(info.error),
    });
    await api.get('/x', { timeout: 8000 });
    expect(errors.map((e) => header(e.config?.headers, 'x-attempt'))).toEqual(['1/4', '2/4']);
  });

  it('config.timeout after the request is the user’s own (success, failure, deadline cut)', async () => {
    const s = await serve((hit, req, res) => (hit.url === '/ok' && hit.n > 1 ? ok(res) : resetAfterApply(req)));
    const { api } = guarded(s.url, { deadlineMs: 10_000, attemptTimeoutMs: 2_000 });
    const configs: InternalAxiosRequestConfig[] = [];
    api.interceptors.request.use((c) => {
      configs.push(c);
      return c;
    });
    const bad = await failure(api.get('/bad', { timeout: 5555, resetGuard: { retries: 1 } }));
    expect(bad.config?.timeout).toBe(5555);
    const good = await api.get('/ok', { timeout: 6666 });
    expect(good.config.timeout).toBe(6666);
    expect(configs.map((c) => c.timeout)).toEqual([5555, 6666]);
    const none = await failure(api.get('/bad', { resetGuard: { retries: 0 } }));
    expect(none.config?.timeout).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------

describe("responseType 'stream': failed attempts' bodies do not hold the one socket", () => {
  it('two 503s with bodies, then 200, on maxSockets 1; a second request then gets the socket', async () => {
    const s = await serve((hit, _req, res) =>
      hit.url === '/s' && hit.n <= 2 ? ok(res, 'busy'.repeat(50_000), 503) : ok(res, `fine-${hit.n}`),
    );
    const { api } = guarded(s.url, { maxSockets: 1, deadlineMs: 8_000 });
    const res = await api.get<Readable>('/s', { responseType: 'stream' });
    expect(res.status).toBe(200);
    let text = '';
    for await (const chunk of res.data) text += String(chunk);
    expect(text).toBe('fine-3');
    // bounded by the guard's own deadline: a held socket would end it with a timeout
    const next = await api.get('/next', { resetGuard: { deadlineMs: 3_000 } });
    expect(next.data).toBe('fine-4');
  });

  it('retries exhausted on 503 stream bodies: the caller holds the last one; once destroyed the socket is free', async () => {
    const s = await serve((hit, _req, res) =>
      hit.url === '/s' ? ok(res, 'busy'.repeat(50_000), 503) : ok(res, 'next'),
    );
    const { api } = guarded(s.url, { maxSockets: 1, retries: 2 });
    const error = await failure(api.get('/s', { responseType: 'stream' }));
    expect(error.response?.status).toBe(503);
    (error.response?.data as Readable).destroy();
    const next = await api.get('/next', { resetGuard: { deadlineMs: 3_000 } });
    expect(next.data).toBe('next');
    expect(s.hits.filter((h) => h.url === '/s')).toHaveLength(3);
  });

  it('onGiveUp throwing after a 503 stream: the body is dropped, the socket free', async () => {
    const s = await serve((hit, _req, res) =>
      hit.url === '/s' ? ok(res, 'busy'.repeat(50_000), 503) : ok(res, 'next'),
    );
    const mine = new Error('give up hook');
    const { api } = guarded(s.url, {
      maxSockets: 1,
      retries: 1,
      onGiveUp: () => {
        throw mine;
      },
    });
    expect(await failure(api.get('/s', { responseType: 'stream' }))).toBe(mine);
    const next = await api.get('/next', { resetGuard: { deadlineMs: 3_000 } });
    expect(next.data).toBe('next');
  });
});

// ---------------------------------------------------------------------------------------

describe('deadlines', () => {
  it('resets, then a server that never answers: the request ends by its deadline with a timeout', async () => {
    const s = await serve((hit, req) => (hit.n <= 2 ? resetAfterApply(req) : undefined));
    const { api } = guarded(s.url, { deadlineMs: 400 });
    const started = performance.now();
    const error = await failure(api.get('/x', { timeout: 60_000 }));
    const took = performance.now() - started;
    expect(error.code).toBe('ECONNABORTED');
    expect(error.config?.timeout).toBe(60_000);
    expect(s.hits).toHaveLength(3);
    expect(took).toBeLessThan(400 + 300);
  });

  it('a body-factory upload the server never reads: ends by the deadline', async () => {
    const sockets = new Set<Socket>();
    const server = http.createServer(() => undefined); // reads nothing, answers nothing
    server.on('connection', (c) => {
      sockets.add(c);
      c.pause();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    closers.push(async () => {
      for (const c of sockets) c.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    });
    const { api } = guarded(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, { deadlineMs: 300 });
    const big = Buffer.alloc(8 * 1024 * 1024, 1);
    const error = await failure(api.put('/u', undefined, { resetGuard: { body: () => Readable.from([big]) } }));
    expect(error.code).toBe('ECONNABORTED');
    expect(failureOf(error)?.attempt.attempt).toBe(1);
  });
});

// ---------------------------------------------------------------------------------------

describe('jest modern fake timers, real sockets', () => {
  afterEach(() => jest.useRealTimers());

  it('three resets then 200 with sleep: () => Promise.resolve() and a deadline: no timer advanced', async () => {
    const s = await serve((hit, req, res) => (hit.n <= 3 ? resetAfterApply(req) : ok(res)));
    jest.useFakeTimers({ doNotFake: ['nextTick', 'setImmediate', 'queueMicrotask'] });
    const { api } = guarded(s.url, testingOptions({ retries: 3, deadlineMs: 5_000, attemptTimeoutMs: 1_000 }));
    const res = await api.get('/x');
    expect(res.status).toBe(200);
    expect(attemptOf(res)?.attempt).toBe(4);
    expect(jest.getTimerCount()).toBe(0);
  });
});

describe('more', () => {
  it('full jest fake timers (nothing spared), real sockets, 3 resets then 200 with the sleep stub', async () => {
    const s = await serve((hit, req, res) => (hit.n <= 3 ? resetAfterApply(req) : ok(res)));
    jest.useFakeTimers();
    try {
      const { api } = guarded(s.url, testingOptions({ retries: 3 }));
      const res = await api.get('/x');
      expect(attemptOf(res)?.attempt).toBe(4);
    } finally {
      jest.useRealTimers();
    }
  });

  it('exhausted: error.config headers are the last attempt’s as the server saw them', async () => {
    const s = await serve((_hit, req) => resetAfterApply(req));
    const { api } = guarded(s.url, { retries: 2, attemptHeader: 'x-attempt', requestIdHeader: 'x-rid' });
    const error = await failure(api.get('/x'));
    expect(s.hits.map((h) => h.headers['x-attempt'])).toEqual(['1/3', '2/3', '3/3']);
    expect(header(error.config?.headers, 'x-attempt')).toBe('3/3');
    expect(header(error.config?.headers, 'x-rid')).toBe(failureOf(error)?.attempt.requestId);
    expect(failureOf(error)?.attempt.history.map((h) => h.attempt)).toEqual([1, 2]);
  });

  it('a POST without a key on a stale pooled socket, applied then reset every time: applied at most twice', async () => {
    const s = await serve((hit, req, res) => {
      if (hit.url === '/warm') return ok(res);
      (s as unknown as { apply(b: string): void }).apply(hit.body);
      resetAfterApply(req);
    });
    const { api } = guarded(s.url, { retries: 3, maxSockets: 1, expert: { staleIdleMs: 1 } });
    await api.get('/warm');
    // progress: the warm socket is back in the pool (idle) before the POST takes it
    await new Promise((r) => setTimeout(r, 5));
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(error.code).toBe('ECONNRESET');
    // the documented stale-socket rule: one resend, then a reset on a fresh connection ends it
    expect(failureOf(error)?.attempt.history.map((h) => h.kind)).toEqual(['stale-socket']);
    expect(s.applied).toHaveLength(2);
  });
});
