/**
 * Wiring, proven with nock: resets are mocked with replyWithError({ code: 'ECONNRESET' }).
 * Real-socket behaviour lives in real-sockets.test.ts.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import axios, {
  AxiosError,
  isCancel,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import nock from 'nock';
import {
  attach,
  attemptOf,
  createClient,
  failureOf,
  ResetGuardAttachError,
  ResetGuardOptionError,
  type GiveUpInfo,
  type Guard,
  type GuardOptions,
  type RetryInfo,
} from '../src';
import { failure } from './support/net';
import { rig, useNock } from './support/nock-rig';

const ORIGIN = 'http://api.test';
// nock 14 hangs on a plain-object replyWithError({ code }): it must be an Error carrying the code.
const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' });

let instance: AxiosInstance;
let guard: Guard;
let sleeps: number[];

/** No wall-clock waits: delays are recorded, not slept. */
function setup(options: GuardOptions = {}): void {
  ({ instance, guard, sleeps } = rig(ORIGIN, options));
}

useNock(() => guard);

describe('retries of resets (GET)', () => {
  it('recovers after two resets, with attempt metadata and planned backoff delays', async () => {
    setup();
    const scope = nock(ORIGIN).get('/items').times(2).replyWithError(reset).get('/items').reply(200, { ok: true });
    const res = await instance.get('/items');
    expect(res.data).toEqual({ ok: true });
    expect(scope.isDone()).toBe(true);
    const info = attemptOf(res)!;
    expect(Object.isFrozen(info)).toBe(true);
    expect(info).toMatchObject({ attempt: 3, maxAttempts: 4 });
    expect(info.requestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(info.history.map((h) => [h.attempt, h.kind, h.code, h.delayMs])).toEqual([
      [1, 'reset', 'ECONNRESET', 100],
      [2, 'reset', 'ECONNRESET', 200],
    ]);
    // full jitter with random 0.5: half of 200, then half of 400
    expect(sleeps).toEqual([100, 200]);
    expect(guard.stats()).toMatchObject({ requests: 1, attempts: 3, retries: 2, recovered: 1, gaveUp: 0 });
    expect(guard.stats().resets.reset).toBe(2);
  });

  it('gives up after retries + 1 attempts with the original AxiosError, metadata and reason', async () => {
    const gaveUp: GiveUpInfo[] = [];
    setup({ onGiveUp: (i) => void gaveUp.push(i) });
    nock(ORIGIN).get('/down').times(4).replyWithError(reset);
    const error = await failure(instance.get('/down'));
    expect(axios.isAxiosError(error)).toBe(true);
    expect(error.code).toBe('ECONNRESET');
    expect(error.config?.baseURL).toBe(ORIGIN);
    expect(attemptOf(error)).toMatchObject({ attempt: 4, maxAttempts: 4 });
    expect(attemptOf(error)!.history).toHaveLength(3);
    expect(failureOf(error)).toMatchObject({
      reason: 'retry limit reached after 4 attempts',
      classification: { kind: 'reset' },
    });
    expect(gaveUp).toHaveLength(1);
    expect(gaveUp[0]).toMatchObject({ attempts: 4, reason: 'retry limit reached after 4 attempts' });
    expect(guard.stats()).toMatchObject({ attempts: 4, retries: 3, gaveUp: 1, recovered: 0 });
  });

  it('per-request options override the instance: retries 0, retry false, retries 1', async () => {
    setup({ retries: 5 });
    nock(ORIGIN).get('/a').replyWithError(reset).get('/a').reply(200, 'late');
    const e1 = await failure(instance.get('/a', { resetGuard: { retries: 0 } }));
    expect(attemptOf(e1)).toMatchObject({ attempt: 1, maxAttempts: 1 });
    nock.cleanAll();

    nock(ORIGIN).get('/b').replyWithError(reset).get('/b').reply(200, 'late');
    const e2 = await failure(instance.get('/b', { resetGuard: { retry: false } }));
    expect(failureOf(e2)!.reason).toBe('retries are turned off for this request');
    nock.cleanAll();

    nock(ORIGIN).get('/c').times(2).replyWithError(reset);
    const e3 = await failure(instance.get('/c', { resetGuard: { retries: 1 } }));
    expect(attemptOf(e3)).toMatchObject({ attempt: 2, maxAttempts: 2 });
  });

  it('rejects a bad per-request option with a typed error before sending', async () => {
    setup();
    const scope = nock(ORIGIN).get('/x').reply(200);
    const error = await failure(instance.get('/x', { resetGuard: { retries: -1 } }));
    expect(error).toBeInstanceOf(ResetGuardOptionError);
    expect(error.message).toContain('"resetGuard.retries"');
    expect(scope.isDone()).toBe(false);
  });

  it('does not retry timeouts unless retryTimeouts is set', async () => {
    setup();
    nock(ORIGIN).get('/slow').delay(300).reply(200, 'slow').get('/slow').reply(200, 'fast');
    const error = await failure(instance.get('/slow', { timeout: 30 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(failureOf(error)!.reason).toMatch(/retryTimeouts/);
    nock.cleanAll();

    nock(ORIGIN).get('/slow').delay(300).reply(200, 'slow').get('/slow').reply(200, 'fast');
    const res = await instance.get('/slow', { timeout: 30, resetGuard: { retryTimeouts: true } });
    expect(res.data).toBe('fast');
    expect(attemptOf(res)!.history[0]!.kind).toBe('timeout');
  });
});

describe('method and body rules', () => {
  it('does not resend a POST after a reset on a fresh connection', async () => {
    setup();
    const second = nock(ORIGIN).post('/orders').replyWithError(reset).post('/orders').reply(201);
    const error = await failure(instance.post('/orders', { id: 1 }));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.reason).toBe('POST is not idempotent and a reset failure may have reached the server');
    expect(second.pendingMocks()).toHaveLength(1);
    expect(guard.stats().gaveUp).toBe(1);
  });

  it('resends a POST carrying an Idempotency-Key, with the very same body and headers', async () => {
    setup();
    const seen: { body: unknown; type: string | undefined; key: string | undefined }[] = [];
    const record = function (this: nock.ReplyFnContext, _uri: string, body: nock.Body): void {
      seen.push({ body, type: this.req.headers['content-type'], key: this.req.headers['idempotency-key'] });
    };
    nock(ORIGIN)
      .post('/orders')
      .replyWithError(reset)
      .post('/orders')
      .reply(function (uri, body) {
        record.call(this, uri, body);
        return [201, { created: true }];
      });
    const res = await instance.post('/orders', { id: 7, note: 'é' }, { headers: { 'Idempotency-Key': 'k-1' } });
    expect(res.status).toBe(201);
    expect(res.data).toEqual({ created: true });
    expect(seen).toEqual([{ body: { id: 7, note: 'é' }, type: 'application/json', key: 'k-1' }]);
  });

  it.each([
    ['a JSON object', { a: [1, 2], s: 'é' }, '{"a":[1,2],"s":"é"}', 'application/json', {}],
    ['a string that is not JSON', 'plain "text"', 'plain "text"', 'text/plain', { 'Content-Type': 'text/plain' }],
    [
      'URLSearchParams',
      new URLSearchParams({ q: 'a b' }),
      'q=a+b',
      'application/x-www-form-urlencoded;charset=utf-8',
      {},
    ],
    [
      'a Buffer',
      Buffer.from('bytes'),
      'bytes',
      'application/octet-stream',
      { 'Content-Type': 'application/octet-stream' },
    ],
  ])('resends %s exactly as first sent (PUT)', async (_name, data, raw, type, headers) => {
    setup();
    const sent: { body: string; type: unknown }[] = [];
    const scope = nock(ORIGIN).put('/doc').replyWithError(reset).put('/doc').reply(200, 'ok');
    // nock reports every matched request, the failed one included, with the body it got
    scope.on('request', (req: { headers: Record<string, unknown> }, _interceptor: unknown, body: string) => {
      sent.push({ body, type: req.headers['content-type'] });
    });
    const res = await instance.put('/doc', data, { headers });
    expect(res.status).toBe(200);
    expect(attemptOf(res)!.attempt).toBe(2);
    expect(sent).toEqual([
      { body: raw, type },
      { body: raw, type },
    ]);
  });

  it('never resends a stream body: the original error plus the reason', async () => {
    setup();
    const scope = nock(ORIGIN).put('/upload').replyWithError(reset).put('/upload').reply(200);
    const error = await failure(instance.put('/upload', Readable.from(['chunk-1', 'chunk-2'])));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.reason).toMatch(/body is a stream/);
    expect(attemptOf(error)!.attempt).toBe(1);
    expect(scope.pendingMocks()).toHaveLength(1);
  });
});

describe('hooks', () => {
  it('onRetry runs before each wait with the planned delay', async () => {
    const calls: RetryInfo[] = [];
    setup({ onRetry: (i) => void calls.push(i), baseDelayMs: 1000 });
    nock(ORIGIN).get('/h').replyWithError(reset).get('/h').reply(200, 'ok');
    await instance.get('/h');
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ attempt: 1, nextAttempt: 2, maxAttempts: 4, delayMs: 500 });
    expect(calls[0]!.classification.kind).toBe('reset');
    expect(axios.isAxiosError(calls[0]!.error)).toBe(true);
  });

  it('an onRetry that throws stops the retries and its error propagates', async () => {
    const boom = new Error('hook says stop');
    setup({ onRetry: () => Promise.reject(boom) });
    const scope = nock(ORIGIN).get('/h').replyWithError(reset).get('/h').reply(200);
    await expect(instance.get('/h')).rejects.toBe(boom);
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  it('an onGiveUp that throws replaces the error', async () => {
    setup({
      retries: 0,
      onGiveUp: () => {
        throw new Error('alerted');
      },
    });
    nock(ORIGIN).get('/g').replyWithError(reset);
    await expect(instance.get('/g')).rejects.toThrow('alerted');
  });
});

describe('abort during the backoff wait', () => {
  it('AbortSignal: rejects at once with CanceledError and sends no further attempt', async () => {
    const controller = new AbortController();
    // real sleep, with a wait far longer than the test timeout
    setup({
      sleep: undefined,
      random: () => 1,
      baseDelayMs: 600_000,
      onRetry: () => void setImmediate(() => controller.abort()),
    });
    const scope = nock(ORIGIN).get('/w').replyWithError(reset).get('/w').reply(200);
    const error = await failure(instance.get('/w', { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
    expect(error.code).toBe('ERR_CANCELED');
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  it('CancelToken: rejects at once with the token reason', async () => {
    const source = axios.CancelToken.source();
    setup({
      sleep: undefined,
      random: () => 1,
      baseDelayMs: 600_000,
      onRetry: () => void setImmediate(() => source.cancel('user left')),
    });
    const scope = nock(ORIGIN).get('/w').replyWithError(reset).get('/w').reply(200);
    const error = await failure(instance.get('/w', { cancelToken: source.token }));
    expect(isCancel(error)).toBe(true);
    expect(error.message).toBe('user left');
    expect(scope.pendingMocks()).toHaveLength(1);
  });

  it('a signal aborted before a stale (no-wait) retry also stops it', async () => {
    const controller = new AbortController();
    setup({ onRetry: () => controller.abort() });
    nock(ORIGIN).get('/w').replyWithError(reset).get('/w').reply(200);
    const error = await failure(instance.get('/w', { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
  });
});

describe('attempt and request-id headers', () => {
  it('are off by default and, when on, carry attempt/max and a stable id', async () => {
    setup({ attemptHeader: true, requestIdHeader: 'x-correlation-id' });
    const seen: { attempt: unknown; id: unknown }[] = [];
    const scope = nock(ORIGIN).get('/t').replyWithError(reset).get('/t').reply(200, 'ok');
    scope.on('request', (req: { headers: Record<string, unknown> }) => {
      seen.push({ attempt: req.headers['x-request-attempt'], id: req.headers['x-correlation-id'] });
    });
    const res = await instance.get('/t');
    expect(seen.map((s) => s.attempt)).toEqual(['1/4', '2/4']);
    expect(seen[0]!.id).toBe(attemptOf(res)!.requestId);
    expect(seen[1]!.id).toBe(seen[0]!.id);

    guard.detach();
    setup();
    nock(ORIGIN)
      .get('/t')
      .reply(function () {
        return [200, JSON.stringify(Object.keys(this.req.headers))];
      });
    const plain = await instance.get<string[]>('/t');
    expect(plain.data).not.toContain('x-request-attempt');
    expect(plain.data).not.toContain('x-request-id');
  });
});

describe('living with the user instance', () => {
  it("runs the user's interceptors once per logical request, in any registration order", async () => {
    instance = axios.create({ baseURL: ORIGIN });
    const counts = { req: 0, res: 0, err: 0 };
    instance.interceptors.request.use((c) => ((counts.req += 1), c));
    guard = attach(instance, { sleep: () => Promise.resolve() });
    // added after attach, and it unwraps the body: must not run twice
    instance.interceptors.response.use(
      (r) => ((counts.res += 1), r.data as unknown) as never,
      (e: unknown) => {
        counts.err += 1;
        throw e;
      },
    );
    nock(ORIGIN).get('/u').times(2).replyWithError(reset).get('/u').reply(200, { value: 42 });
    const data: unknown = await instance.get('/u');
    expect(data).toEqual({ value: 42 });
    expect(counts).toEqual({ req: 1, res: 1, err: 0 });
  });

  it('refuses a second attach and detach() leaves the instance as it was', () => {
    instance = axios.create({ baseURL: ORIGIN });
    const before = { agent: instance.defaults.httpAgent as unknown };
    guard = attach(instance);
    expect(() => attach(instance)).toThrow(ResetGuardAttachError);
    expect(instance.defaults.httpAgent).toBe(guard.agents.http);
    const destroy = jest.spyOn(guard.agents.http!, 'destroy');
    guard.detach();
    guard.detach();
    expect(destroy).toHaveBeenCalledTimes(1);
    expect(instance.defaults.httpAgent).toBe(before.agent);
    // no interceptor of ours is left (axios nulls ejected slots)
    const handlers = (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers;
    expect(handlers.filter(Boolean)).toHaveLength(0);
    // and it can be attached again
    guard = attach(instance);
  });

  it("uses the user's agents and never destroys them", () => {
    const own = new http.Agent({ keepAlive: true });
    const destroy = jest.spyOn(own, 'destroy');
    instance = axios.create({ httpAgent: own });
    guard = attach(instance);
    expect(guard.agents.http).toBe(own);
    guard.detach();
    expect(destroy).not.toHaveBeenCalled();
    expect(instance.defaults.httpAgent).toBe(own);
    own.destroy();
  });

  it('createClient returns an instance with its guard, honouring the axios config', async () => {
    const client = createClient({ retries: 1, sleep: () => Promise.resolve() }, { baseURL: ORIGIN });
    guard = client.guard;
    nock(ORIGIN).get('/c').replyWithError(reset).get('/c').reply(200, 'fine');
    const res = await client.get('/c');
    expect(res.data).toBe('fine');
    expect(client.guard.stats().recovered).toBe(1);
  });

  it('a final error.config re-sent by hand is a new logical request through the same guard', async () => {
    setup({ retries: 0 });
    nock(ORIGIN).get('/again').replyWithError(reset).get('/again').reply(200, 'second time lucky');
    const error = await failure(instance.get('/again'));
    const first = attemptOf(error)!;
    const res = await instance.request(error.config!);
    expect(res.data).toBe('second time lucky');
    expect(attemptOf(res)).toMatchObject({ attempt: 1 });
    expect(attemptOf(res)!.requestId).not.toBe(first.requestId);
    expect(guard.stats()).toMatchObject({ requests: 2, attempts: 2 });
  });

  it("sends attempts to the user's own adapter function, first directly then through the retry loop", async () => {
    const calls: string[] = [];
    instance = axios.create({ baseURL: ORIGIN });
    guard = attach(instance, { sleep: () => Promise.resolve(), attemptHeader: true });
    const adapter = (config: InternalAxiosRequestConfig): Promise<AxiosResponse> => {
      calls.push(String(config.headers.get('x-request-attempt')));
      if (calls.length < 3) return Promise.reject(new AxiosError('read ECONNRESET', 'ECONNRESET', config));
      return Promise.resolve({ data: '{"ok":true}', status: 200, statusText: 'OK', headers: {}, config });
    };
    const res = await instance.get('/custom', { adapter });
    expect(calls).toEqual(['1/4', '2/4', '3/4']);
    expect(res.data).toEqual({ ok: true }); // transformResponse ran once, on the outer config
    expect(attemptOf(res)).toMatchObject({ attempt: 3 });
    expect(guard.stats()).toMatchObject({ requests: 1, attempts: 3, retries: 2, recovered: 1 });
  });

  it('does not touch non-reset failures: a 500 comes back as the usual AxiosError', async () => {
    setup();
    nock(ORIGIN).get('/e').reply(500, { err: 'x' });
    const error = await failure(instance.get('/e'));
    expect(error.response?.status).toBe(500);
    expect(error.response?.data).toEqual({ err: 'x' });
    expect(failureOf(error)!.classification.kind).toBe('http-status');
    expect(guard.stats()).toMatchObject({ attempts: 1, gaveUp: 0 });
  });
});
