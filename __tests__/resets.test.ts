/**
 * Resets and how they are retried: recovery with attempt metadata and planned delays, the
 * retry limit, per-request overrides, timeouts, statuses the guard leaves alone; then the
 * same on real sockets (127.0.0.1): resets of new connections, mid-body resets (RST or
 * FIN) and TLS handshake resets. Outcomes (counts, codes, bodies) are asserted, never wall time.
 */
import axios, { type AxiosInstance } from 'axios';
import { HttpsAgent } from 'agentkeepalive';
import nock from 'nock';
import { attemptOf, failureOf, ResetGuardOptionError, type GiveUpInfo, type Guard, type GuardOptions } from '../src';
import { startHalfBodyServer, startHttpServer, startTlsServer } from '../testbed';
import { failure } from './support/failure';
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

  describe('retries of resets (GET)', () => {
    it('recovers after two resets, with attempt metadata and planned backoff delays', async () => {
      setup();
      const scope = nock(ORIGIN).get('/items').times(2).replyWithError(reset()).get('/items').reply(200, { ok: true });
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
      nock(ORIGIN).get('/down').times(4).replyWithError(reset());
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
      nock(ORIGIN).get('/a').replyWithError(reset()).get('/a').reply(200, 'late');
      const e1 = await failure(instance.get('/a', { resetGuard: { retries: 0 } }));
      expect(attemptOf(e1)).toMatchObject({ attempt: 1, maxAttempts: 1 });
      nock.cleanAll();

      nock(ORIGIN).get('/b').replyWithError(reset()).get('/b').reply(200, 'late');
      const e2 = await failure(instance.get('/b', { resetGuard: { retry: false } }));
      expect(failureOf(e2)!.reason).toBe('retries are turned off for this request');
      nock.cleanAll();

      nock(ORIGIN).get('/c').times(2).replyWithError(reset());
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
      // The fast answer must beat the timeout however busy the machine: 500 ms, not 30.
      nock(ORIGIN).get('/slow').delay(2000).reply(200, 'slow').get('/slow').reply(200, 'fast');
      const error = await failure(instance.get('/slow', { timeout: 500 }));
      expect(error.code).toBe('ECONNABORTED');
      expect(failureOf(error)!.reason).toMatch(/retryTimeouts/);
      nock.cleanAll();

      nock(ORIGIN).get('/slow').delay(2000).reply(200, 'slow').get('/slow').reply(200, 'fast');
      const res = await instance.get('/slow', { timeout: 500, resetGuard: { retryTimeouts: true } });
      expect(res.data).toBe('fast');
      expect(attemptOf(res)!.history[0]!.kind).toBe('timeout');
    });
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

describe('on real sockets', () => {
  const { guarded, serve } = useFixtures();

  describe('a server that resets new connections', () => {
    it('GET recovers after two resets; the server saw three requests', async () => {
      const server = await serve(startHttpServer({ resetFirst: 2 }));
      const { api, guard } = guarded(server.url);
      const res = await api.get<{ n: number }>('/items');
      expect(res.data.n).toBe(3);
      expect(server.hits).toBe(3);
      expect(attemptOf(res)!.history.map((h) => [h.kind, h.code, h.reusedSocket])).toEqual([
        ['reset', 'ECONNRESET', false],
        ['reset', 'ECONNRESET', false],
      ]);
      expect(guard.stats()).toMatchObject({ requests: 1, attempts: 3, recovered: 1 });
      expect(guard.stats().agents.http!.erroredSockets).toBe(2);
    });

    it('the response and the final error describe the attempt that produced them', async () => {
      const server = await serve(
        startHttpServer({ resetWhen: (req) => req.url === '/gone' || req.headers['x-request-attempt'] === '1/4' }),
      );
      const { api } = guarded(server.url, { attemptHeader: true });
      const res = await api.get('/items');
      expect(server.headers.map((h) => h['x-request-attempt'])).toEqual(['1/4', '2/4']);
      expect(res.config.headers['x-request-attempt']).toBe('2/4');
      const error = await failure(api.get('/gone'));
      expect(error.config!.headers['x-request-attempt']).toBe('4/4');
      expect(error.response).toBeUndefined();
    });
  });

  it('a reset in the middle of the body: GET retried, POST not', async () => {
    const server = await serve(startHalfBodyServer((n) => n === 1 || n === 3));
    const { api } = guarded(server.url);
    const res = await api.get<{ payload: string }>('/big');
    expect(res.data.payload).toHaveLength(2048);
    expect(attemptOf(res)!.history[0]).toMatchObject({ kind: 'reset-mid-response', attempt: 1 });

    const error = await failure(api.post('/big', { id: 3 }));
    expect(failureOf(error)!.classification.kind).toBe('reset-mid-response');
    expect(failureOf(error)!.classification.responseStarted).toBe(true);
    expect(server.hits).toBe(3);
  });

  describe('a body cut by a FIN (not an RST)', () => {
    it('is a reset-mid-response, not an http-status: a GET is retried and gets the whole body', async () => {
      const full = JSON.stringify({ payload: 'y'.repeat(4096) });
      const server = await serve(
        startHttpServer({
          handler: (_req, res, n) => {
            res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
            if (n === 1) {
              res.write(full.slice(0, 1000));
              setTimeout(() => res.socket?.end(), 20); // graceful close, short of Content-Length
            } else res.end(full);
          },
        }),
      );
      const { api } = guarded(server.url);
      const res = await api.get<{ payload: string }>('/big');
      expect(res.data.payload).toHaveLength(4096);
      expect(attemptOf(res)!.history).toMatchObject([{ kind: 'reset-mid-response' }]);
    });

    // axios before 1.16.0 attaches no response to this error, and 1.7.0-1.7.7 word it as a
    // maxContentLength overflow: the real overflow (axios cut the body itself) stays final.
    it('is told apart from a body over maxContentLength, which is not retried', async () => {
      const server = await serve(
        startHttpServer({
          handler: (_req, res) => {
            res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4096 });
            res.end('z'.repeat(4096));
          },
        }),
      );
      const { api } = guarded(server.url);
      const error = await failure(api.get('/big', { maxContentLength: 1000 }));
      expect(error).toMatchObject({ code: 'ERR_BAD_RESPONSE' });
      expect(failureOf(error)!.classification).toMatchObject({ kind: 'other', retryable: false });
      expect(server.hits).toBe(1);
    });

    // Through follow-redirects (maxRedirects > 0) axios's timeout is follow-redirects' socket
    // timeout, whose listener is socket.destroy (its own timer stops at the response): a silent
    // body ends as ERR_BAD_RESPONSE, Node's response incomplete and destroyed with Node's
    // ECONNRESET, as for a peer's FIN. This side ended it; the peer cut nothing.
    it.each([5, 0])(
      "axios's timeout mid-body (maxRedirects %d) is a timeout, not retried without retryTimeouts",
      async (maxRedirects) => {
        const server = await serve(
          startHttpServer({
            handler: (_req, res) => {
              res.writeHead(200, { 'content-type': 'text/plain', 'content-length': 4096 });
              res.write('s'.repeat(100)); // then silence
            },
          }),
        );
        const { api } = guarded(server.url);
        const error = await failure(api.get('/slow', { timeout: 300, maxRedirects }));
        expect(failureOf(error)!.classification).toMatchObject({ kind: 'timeout' });
        expect(server.hits).toBe(1);
      },
    );
  });

  it('a reset during the TLS handshake is classified tls-reset and retried', async () => {
    const server = await serve(startTlsServer(1));
    const agent = new HttpsAgent({ keepAlive: true, ca: server.ca });
    const { api, guard } = guarded(server.url, {}, { httpsAgent: agent });
    const res = await api.get<{ ok: boolean }>('/secure');
    expect(res.data.ok).toBe(true);
    expect(attemptOf(res)!.history[0]).toMatchObject({ kind: 'tls-reset', code: 'ECONNRESET' });
    expect(server.handshakeResets).toBe(1);
    expect(guard.agents.https).toBe(agent);
    guard.detach();
    agent.destroy();
  });
});
