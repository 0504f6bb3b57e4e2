import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { AxiosError, CanceledError } from 'axios';
import { classifyError, OriginMemory } from '../src/internals';
import { classify, failureOf } from '../src';
import { startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';

const withCode = (code: string, message = code): AxiosError => new AxiosError(message, code);

describe('classify (synthetic errors)', () => {
  it('returns a frozen classification', () => {
    expect(Object.isFrozen(classify(withCode('ECONNRESET')))).toBe(true);
  });

  it.each([
    ['ECONNRESET', 'read ECONNRESET', 'reset', true],
    ['ECONNRESET', 'socket hang up', 'reset', true],
    ['EPIPE', 'write EPIPE', 'reset', true],
    ['ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1', 'refused', true],
    ['ECONNABORTED', 'timeout of 10ms exceeded', 'timeout', true],
    ['ETIMEDOUT', 'timeout of 10ms exceeded', 'timeout', true],
    ['ECONNABORTED', 'Request aborted', 'other', false],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND x', 'dns', false],
    ['EAI_AGAIN', 'getaddrinfo EAI_AGAIN x', 'dns', true],
    ['ERR_SOMETHING_NEW', 'who knows', 'other', false],
    [
      'ECONNRESET',
      'Client network socket disconnected before secure TLS connection was established',
      'tls-reset',
      true,
    ],
  ])('%s "%s" → %s (retryable %p)', (code, message, kind, retryable) => {
    expect(classify(withCode(code, message))).toMatchObject({ kind, retryable, code, reusedSocket: false });
  });

  it('follows cause chains (fetch adapter: TypeError: fetch failed → SocketError)', () => {
    const socketError = Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' });
    const fetchFailed = new TypeError('fetch failed', { cause: socketError });
    const axiosError = AxiosError.from(fetchFailed, 'ERR_NETWORK');
    expect(classify(axiosError)).toMatchObject({ kind: 'reset', code: 'UND_ERR_SOCKET', retryable: true });
    const deep = { message: 'x', cause: { cause: { code: 'ECONNREFUSED' } } };
    expect(classify(deep).kind).toBe('refused');
  });

  it('marks responses as http-status and cancellations as canceled', () => {
    const e = new AxiosError('boom', 'ERR_BAD_RESPONSE', undefined, undefined, {
      status: 503,
      statusText: 'x',
      headers: {},
      config: {} as never,
      data: '',
    });
    expect(classify(e)).toMatchObject({ kind: 'http-status', responseStarted: true, retryable: false });
    expect(classify(new CanceledError()).kind).toBe('canceled');
    expect(classify(undefined).kind).toBe('other');
    expect(classify('string').kind).toBe('other');
  });
});

describe('staleWindowMs: a reused socket is stale only if it failed soon, not counting busy time', () => {
  // A stand-in agent and a request on a reused socket that went free at t=1000 (no network).
  const agent = Object.assign(new EventEmitter(), { getName: () => 'api.test:80:' }) as unknown as Agent;
  const socket = Object.assign(new EventEmitter(), { bytesRead: 10 }) as unknown as Socket;
  const memory = new OriginMemory({ configuredMs: 4000, learn: false, budget: false, now: () => 1000 });
  const untrack = memory.track(agent, false);
  agent.emit('free', socket, {});
  untrack();
  const hangUp = Object.assign(new Error('socket hang up'), {
    code: 'ECONNRESET',
    request: { reusedSocket: true, setHeader: () => undefined, socket },
  });

  it.each([
    ['fails within the window', { failedAt: 5_100 }, 'stale-socket'],
    ['fails after it', { failedAt: 5_600 }, 'reset'],
    ['fails after it, but the loop was busy nearly all along', { failedAt: 5_600, busyMs: 550 }, 'stale-socket'],
    // red team: a block right after the send, then an idle loop while the server worked
    ['fails after it, busy only at first, then idle for 430 ms', { failedAt: 5_950, busyMs: 520 }, 'reset'],
    // busy time excuses at most the window itself: 1.6 s after the start is late, 80 % busy or not
    ['fails 1.6 s after the start, the loop 80 % busy', { failedAt: 6_600, busyMs: 1_280 }, 'reset'],
    ['fails just within twice the window, busy all along', { failedAt: 6_000, busyMs: 1_000 }, 'stale-socket'],
  ] as const)('%s', (_name, timing, kind) => {
    const c = classifyError(hangUp, { startedAt: 5_000, staleWindowMs: 500, ...timing });
    expect(c).toMatchObject({ kind, reusedSocket: true, idleMs: 4_000 });
  });
});

describe('truthful kinds on real sockets', () => {
  const { guarded, serve } = useFixtures();

  it.each(['http', 'fetch'] as const)(
    'a 200 whose gzip body does not decode is `decode`, not a status (%s adapter)',
    async (adapter) => {
      const server = await serve(
        startHttpServer({
          handler: (_req, res) => res.writeHead(200, { 'content-encoding': 'gzip' }).end('not gzip at all'),
        }),
      );
      const { api, guard } = guarded(server.url, {}, { adapter });
      const error = await failure(api.get('/zipped'));
      expect(failureOf(error)!.classification).toMatchObject({ kind: 'decode', retryable: false });
      expect(failureOf(error)!.reason).toBe(
        'the response body does not decode (Z_DATA_ERROR): the same bytes would come again',
      );
      expect(guard.stats()).toMatchObject({ attempts: 1, failures: { decode: 1, 'http-status': 0 } });
    },
  );

  it('a timeout with a custom timeoutErrorMessage is still a timeout: retryTimeouts applies, deadlines are named', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined })); // never answers
    const { api, guard } = guarded(server.url, { retryTimeouts: true, retries: 1 });
    const error = await failure(api.get('/slow', { timeout: 50, timeoutErrorMessage: 'upstream too slow' }));
    expect(error.message).toBe('upstream too slow');
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(failureOf(error)!.reason).toBe('retry limit reached after 2 attempts');
    expect(guard.stats().attempts).toBe(2);

    const cut = await failure(
      api.get('/slow', { timeoutErrorMessage: 'upstream too slow', resetGuard: { deadlineMs: 50, retries: 3 } }),
    );
    expect(failureOf(cut)!.classification.kind).toBe('timeout');
    expect(failureOf(cut)!.reason).toMatch(/^deadline of 50 ms reached after 1 attempt/);
  });
});
