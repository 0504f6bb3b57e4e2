/**
 * The guard's own time bounds (issue #12, part 1) on real sockets, nock-free: `deadlineMs`
 * and `attemptTimeoutMs` bound a request in wall time wherever axios's `timeout` does not
 * (a request queued in the agent, a body dripping in, a proxy that never answers CONNECT,
 * an HTTP/2 stream orphaned by its session), on Node's http adapter, HTTP/2 and fetch;
 * and the caller's AbortSignal and CancelToken still cancel, in an attempt or a wait.
 *
 * A request that hangs is waited for only so long (`settles`): the point of these tests
 * is that it ends at all, so a request still pending well past its deadline fails the
 * test instead of holding it until jest's timeout.
 */
import { getEventListeners } from 'node:events';
import http2 from 'node:http2';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { Readable } from 'node:stream';
import axios, { isCancel, type AxiosAdapter, type AxiosError, type CancelToken } from 'axios';
import { attemptOf, classify, failureOf } from '../src';
import { sleep } from '../src/sleep';
import { testingOptions } from '../src/testing';
import {
  listen,
  pause,
  startHttpServer,
  startIdleDropProxy,
  startRawServer,
  track,
  type Closeable,
  type RawServer,
} from '../testbed';
import { useFixtures } from './support/guarded';
import { describeUnless, itUnless, lacking } from './support/axios-supports';

const { guarded, serve } = useFixtures();

/** Far longer than any bound under test, yet short enough to fail a hang quickly. */
const GRACE_MS = 4000;

/** How `promise` settled, or `pending` when it had not after `ms`. */
async function settles<T>(
  promise: Promise<T>,
  ms: number,
): Promise<{ state: 'resolved'; value: T } | { state: 'rejected'; error: AxiosError } | { state: 'pending' }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<{ state: 'pending' }>((resolve) => {
    timer = setTimeout(() => resolve({ state: 'pending' }), ms);
  });
  try {
    return await Promise.race([
      promise.then(
        (value) => ({ state: 'resolved' as const, value }),
        (error: unknown) => ({ state: 'rejected' as const, error: error as AxiosError }),
      ),
      late,
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** The error a request rejected with within `ms`; fails the test when it resolved or hung. */
async function failsWithin(promise: Promise<unknown>, ms: number): Promise<AxiosError> {
  const outcome = await settles(promise, ms);
  if (outcome.state === 'pending') throw new Error(`the request was still pending after ${ms} ms`);
  if (outcome.state === 'resolved') throw new Error('expected the request to fail');
  return outcome.error;
}

/** A server that sends the head at once, then one byte every `everyMs` (`bytes` in all). */
async function startDripServer(bytes: number, everyMs = 100): Promise<Closeable & { written: number[] }> {
  const written: number[] = [];
  const drip = (res: ServerResponse, n: number): void => {
    written[n - 1] = 0;
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': bytes });
    res.flushHeaders();
    const timer = setInterval(() => {
      res.write('x');
      written[n - 1] = (written[n - 1] ?? 0) + 1;
      if (written[n - 1] === bytes) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
  const server = await startHttpServer({ handler: (_req, res, n) => drip(res, n) });
  return Object.assign(server, { written });
}

interface H2Server extends Closeable {
  /** Streams opened on the server, across sessions. */
  streams: number;
}

/**
 * A cleartext HTTP/2 server (prior knowledge, as axios speaks it) whose streams meet
 * `fault`: `goaway` sends GOAWAY (last stream 0, no error) then closes the connection;
 * `fin` closes the TCP connection with the stream open. Either way no RST_STREAM reaches
 * the client, and axios's own timer on the stream dies with it.
 */
async function startH2Server(fault: 'goaway' | 'fin' | 'silent'): Promise<H2Server> {
  const state = { streams: 0 };
  const server = http2.createServer();
  const sockets = track(server);
  const sessions = new Set<http2.ServerHttp2Session>();
  let raw: Socket | undefined;
  server.on('connection', (socket: Socket) => {
    raw = socket;
    socket.on('error', () => undefined);
  });
  server.on('session', (session) => {
    sessions.add(session);
    session.on('error', () => undefined);
    session.on('close', () => sessions.delete(session));
  });
  server.on('stream', (stream) => {
    state.streams += 1;
    stream.on('error', () => undefined);
    const socket = raw;
    if (fault === 'silent') return;
    if (fault === 'goaway') stream.session?.goaway(http2.constants.NGHTTP2_NO_ERROR, 0);
    setTimeout(() => (fault === 'fin' ? socket?.end() : socket?.destroy()), 50);
  });
  const closeable = await listen(server, sockets);
  return Object.assign(state, {
    ...closeable,
    close: async () => {
      for (const session of sessions) session.destroy();
      await closeable.close();
    },
  });
}

describe('requests queued in the agent', () => {
  it('four concurrent GETs behind maxSockets 1 all end by the deadline, not one deadline after another', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined })); // never answers
    const { api } = guarded(server.url, { maxSockets: 1, deadlineMs: 1000 });
    const errors = await Promise.all([1, 2, 3, 4].map((i) => failsWithin(api.get(`/hang/${i}`), 1000 + GRACE_MS)));
    for (const error of errors) {
      expect(failureOf(error)!.classification.kind).toBe('timeout');
      expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
      expect(error.code).toBe('ECONNABORTED');
      expect(error.message).toMatch(/^timeout of \d+ms exceeded$/);
    }
    // One deadline, not four in a row: the queued three never got the socket (a count, not a clock).
    expect(server.hits).toBeLessThan(4);
  });

  it("the guard's own timeout is axios's timeout error: ETIMEDOUT under clarifyTimeoutError", async () => {
    const server = await serve(startHttpServer({ handler: () => undefined }));
    const { api } = guarded(server.url, { maxSockets: 1 });
    const ended: string[] = [];
    const note = (name: string, request: Promise<unknown>): Promise<AxiosError> =>
      failsWithin(request, 1500 + GRACE_MS).finally(() => ended.push(name));
    // The first holds the only socket for 1.5 s; the second, queued behind it, has 300 ms.
    const first = note('first', api.get('/a', { resetGuard: { attemptTimeoutMs: 1500 } }));
    const queued = await note(
      'queued',
      api.get('/b', { transitional: { clarifyTimeoutError: true }, resetGuard: { attemptTimeoutMs: 300 } }),
    );
    expect(ended).toEqual(['queued']);
    expect(server.hits).toBe(1);
    expect(queued.code).toBe('ETIMEDOUT');
    expect(queued.message).toBe('timeout of 300ms exceeded');
    expect(queued.isAxiosError).toBe(true);
    expect(classify(queued).kind).toBe('timeout');
    expect(failureOf(queued)!.reason).toMatch(/^timeouts are not retried unless retryTimeouts is true/);
    expect((await first).code).toBe('ECONNABORTED');
  });
});

describe('a body dripping in', () => {
  it('with deadlineMs 1000, a body still arriving a byte per 100 ms is cut at the deadline', async () => {
    const server = await serve(startDripServer(50)); // 5 s of body
    const { api } = guarded(server.url, { deadlineMs: 1000 });
    const error = await failsWithin(api.get('/drip'), 1000 + GRACE_MS);
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
    expect(server.written[0]).toBeLessThan(50);
  });

  it('the same through the fetch adapter', async () => {
    const server = await serve(startDripServer(50));
    const { api } = guarded(server.url, { deadlineMs: 1000 }, { adapter: 'fetch' });
    const error = await failsWithin(api.get('/drip'), 1000 + GRACE_MS);
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
    expect(server.written[0]).toBeLessThan(50);
  });

  it('attemptTimeoutMs cuts each attempt, and a retry gets the whole body', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          if (n > 1) {
            res.end('whole');
            return;
          }
          res.writeHead(200, { 'content-length': 50 });
          res.flushHeaders();
          const timer = setInterval(() => res.write('x'), 100);
          res.on('close', () => clearInterval(timer));
        },
      }),
    );
    const { api } = guarded(server.url, { attemptTimeoutMs: 1000, retryTimeouts: true });
    const outcome = await settles(api.get<string>('/drip'), 1000 * 2 + GRACE_MS);
    expect(outcome.state).toBe('resolved');
    if (outcome.state !== 'resolved') return;
    expect(outcome.value.data).toBe('whole');
    const info = attemptOf(outcome.value)!;
    expect(info.attempt).toBe(2);
    expect(info.history).toEqual([expect.objectContaining({ attempt: 1, kind: 'timeout' })]);
  });
});

describeUnless(lacking('proxyTunnel'))(
  'a proxy that closes before answering CONNECT (https target through axios `proxy`)',
  () => {
    /** Reads the CONNECT request, then closes without a word (`requests` counts the CONNECTs). */
    const deadProxy = (): Promise<RawServer> => serve(startRawServer((socket) => socket.end()));

    it('ends by deadlineMs', async () => {
      const proxy = await deadProxy();
      const { api } = guarded('https://127.0.0.1:9/', { deadlineMs: 1000 });
      const request = api.get('/', { proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port } });
      const error = await failsWithin(request, 1000 + GRACE_MS);
      expect(proxy.requests).toBe(1);
      expect(failureOf(error)!.classification.kind).toBe('timeout');
      expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
    });

    it('ends by attemptTimeoutMs, each attempt', async () => {
      const proxy = await deadProxy();
      const { api } = guarded('https://127.0.0.1:9/', { attemptTimeoutMs: 300, retryTimeouts: true, retries: 1 });
      const request = api.get('/', { proxy: { protocol: 'http', host: '127.0.0.1', port: proxy.port } });
      const error = await failsWithin(request, 2 * 300 + GRACE_MS);
      expect(proxy.requests).toBe(2);
      expect(failureOf(error)!.classification.kind).toBe('timeout');
      expect(failureOf(error)!.reason).toBe('retry limit reached after 2 attempts');
    });
  },
);

// Node 22 and later publish the HTTP/2 streams they open (diagnostics_channel): the guard
// then sees an orphaned stream close and ends its attempt at once. On Node 20 only the
// guard's own bounds end it.
const STREAMS_WATCHED = Number(process.versions.node.split('.')[0]) >= 22;

describeUnless(lacking('http2'))('HTTP/2 (axios httpVersion 2, cleartext): a stream orphaned by its session', () => {
  it(
    STREAMS_WATCHED
      ? 'GOAWAY then close: an unkeyed POST ends at once, session-lost, and is not resent'
      : 'GOAWAY then close: ends by deadlineMs (Node 20 publishes no stream to watch)',
    async () => {
      const server = await serve(startH2Server('goaway'));
      const { api } = guarded(server.url, { deadlineMs: 1000 });
      const error = await failsWithin(api.post('/', 'x', { httpVersion: 2 }), 1000 + GRACE_MS);
      expect(server.streams).toBe(1);
      if (STREAMS_WATCHED) {
        expect(error.code).toBe('ERR_RESET_GUARD_STREAM_CLOSED');
        expect(failureOf(error)!.classification.kind).toBe('session-lost');
        expect(failureOf(error)!.reason).toBe(
          'POST is not idempotent and a session-lost failure may have reached the server',
        );
      } else {
        expect(failureOf(error)!.classification.kind).toBe('timeout');
        expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
      }
    },
  );

  it(
    STREAMS_WATCHED
      ? 'a FIN with the stream open: a GET ends at once each attempt (axios timeout set), retried as session-lost'
      : 'a FIN with the stream open: ends by attemptTimeoutMs, with axios timeout also set',
    async () => {
      const server = await serve(startH2Server('fin'));
      const { api } = guarded(server.url, { attemptTimeoutMs: 500, retries: STREAMS_WATCHED ? 1 : 0 });
      const error = await failsWithin(api.get('/', { httpVersion: 2, timeout: 2000 }), 2 * 500 + GRACE_MS);
      if (STREAMS_WATCHED) {
        expect(error.code).toBe('ERR_RESET_GUARD_STREAM_CLOSED');
        expect(failureOf(error)!.classification.kind).toBe('session-lost');
        expect(failureOf(error)!.reason).toBe('retry limit reached after 2 attempts');
        expect(server.streams).toBe(2);
      } else {
        expect(error.message).toBe('timeout of 500ms exceeded');
        expect(failureOf(error)!.classification.kind).toBe('timeout');
      }
    },
  );
});

describeUnless(lacking('http2'))(
  'HTTP/2 with no bound of the guard: a FIN with the stream open (Node 22 and later)',
  () => {
    // No attemptTimeoutMs, no deadline: the guard arms no token unless the caller can cancel.
    (STREAMS_WATCHED ? it : it.skip)('no token, no signal: ends at once, leaving no timer', async () => {
      const server = await serve(startH2Server('fin'));
      const { api } = guarded(server.url, { retries: 0 });
      const error = await failsWithin(api.post('/', 'x', { httpVersion: 2 }), GRACE_MS);
      expect(error.code).toBe('ERR_RESET_GUARD_STREAM_CLOSED');
      expect(classify(error).kind).toBe('session-lost');
      expect(server.streams).toBe(1);
    });

    (STREAMS_WATCHED ? it : it.skip)(
      "with the caller's AbortSignal: ends at once, and axios lets go of the signal (no listener left on it)",
      async () => {
        const server = await serve(startH2Server('fin'));
        const { api } = guarded(server.url, { retries: 0 });
        const controller = new AbortController();
        const error = await failsWithin(api.get('/', { httpVersion: 2, signal: controller.signal }), GRACE_MS);
        expect(error.code).toBe('ERR_RESET_GUARD_STREAM_CLOSED');
        expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
      },
    );
  },
);

describe("the caller's AbortSignal and CancelToken still cancel", () => {
  const hanging = (): Promise<Closeable & { hits: number }> => serve(startHttpServer({ handler: () => undefined }));

  it('AbortSignal during an attempt: CanceledError, classified canceled, not the deadline', async () => {
    const server = await hanging();
    const { api } = guarded(server.url, { deadlineMs: 60_000, attemptTimeoutMs: 30_000 });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const error = await failsWithin(api.get('/', { signal: controller.signal }), GRACE_MS);
    expect(isCancel(error)).toBe(true);
    expect(error.code).toBe('ERR_CANCELED');
    expect(classify(error).kind).toBe('canceled');
    expect(attemptOf(error)!.attempt).toBe(1);
  });

  it('CancelToken during an attempt queued in the agent: the token reason', async () => {
    const server = await hanging();
    const { api } = guarded(server.url, { deadlineMs: 60_000, maxSockets: 1 });
    const source = axios.CancelToken.source();
    const first = api.get('/first', { resetGuard: { deadlineMs: 1000 } });
    const queued = api.get('/queued', { cancelToken: source.token });
    setTimeout(() => source.cancel('user left'), 100);
    const error = await failsWithin(queued, GRACE_MS);
    expect(isCancel(error)).toBe(true);
    expect(error.message).toBe('user left');
    expect(classify(error).kind).toBe('canceled');
    await failsWithin(first, 1000 + GRACE_MS);
  });

  itUnless(lacking('http2'))('CancelToken on an HTTP/2 stream the server never answers: the token reason', async () => {
    const server = await serve(startH2Server('silent'));
    const { api } = guarded(server.url, { deadlineMs: 60_000 });
    const source = axios.CancelToken.source();
    setTimeout(() => source.cancel('user left'), 300);
    const error = await failsWithin(api.get('/', { httpVersion: 2, cancelToken: source.token }), GRACE_MS);
    expect(isCancel(error)).toBe(true);
    expect(error.message).toBe('user left');
  });

  it('AbortSignal and CancelToken during the wait between attempts: CanceledError, no further attempt', async () => {
    const server = await serve(startHttpServer({ resetFirst: 10 }));
    const controller = new AbortController();
    const source = axios.CancelToken.source();
    const options = testingOptions(
      { baseDelayMs: 30_000, deadlineMs: 120_000, attemptTimeoutMs: 60_000 },
      { sleep, random: () => 1 },
    );
    const bySignal = guarded(server.url, {
      ...options,
      beforeRetry: () => void setImmediate(() => controller.abort()),
    }).api.get('/s', { signal: controller.signal });
    const byToken = guarded(server.url, {
      ...options,
      beforeRetry: () => void setImmediate(() => source.cancel('user left')),
    }).api.get('/t', { cancelToken: source.token });
    const [signalError, tokenError] = await Promise.all([
      failsWithin(bySignal, GRACE_MS),
      failsWithin(byToken, GRACE_MS),
    ]);
    expect(isCancel(signalError)).toBe(true);
    expect(isCancel(tokenError)).toBe(true);
    expect(tokenError.message).toBe('user left');
    expect(server.hits).toBe(2);
  });
});

describe("responseType 'stream': the bounds end when the response is handed over", () => {
  /** The listeners on a CancelToken (axios keeps them in `_listeners`). */
  const listenersOf = (token: CancelToken): number =>
    (token as CancelToken & { _listeners?: unknown[] })._listeners?.length ?? 0;

  /** Reads a Node or web stream to its end (or its error), bounded by `ms`. */
  async function readAll(data: unknown, ms: number): Promise<string> {
    const chunks: Buffer[] = [];
    const reading = (async (): Promise<void> => {
      if (data instanceof Readable) {
        for await (const chunk of data) chunks.push(Buffer.from(chunk as Buffer));
        return;
      }
      const reader = (data as ReadableStream<Uint8Array>).getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        chunks.push(Buffer.from(value));
      }
    })();
    const outcome = await settles(reading, ms);
    if (outcome.state === 'pending') throw new Error(`the body was still arriving after ${ms} ms`);
    if (outcome.state === 'rejected') throw outcome.error;
    return Buffer.concat(chunks).toString('utf8');
  }

  it("http: the body is the caller's to read, past the deadline", async () => {
    // 1.5 s of body, a byte per 100 ms (axios's timeout, set to the 1 s left, is inactivity here)
    const server = await serve(startDripServer(15));
    const { api } = guarded(server.url, { deadlineMs: 1000 });
    const response = await api.get('/drip', { responseType: 'stream' });
    expect(await readAll(response.data, GRACE_MS)).toBe('x'.repeat(15));
  });

  itUnless(lacking('fetchSignals'))(
    "fetch: axios's own timeout, set to the attempt's bound, keeps its meaning there: wall time, body included",
    async () => {
      const server = await serve(startDripServer(8));
      const { api } = guarded(server.url, { deadlineMs: 400 }, { adapter: 'fetch' });
      const response = await api.get('/drip', { responseType: 'stream' });
      const error = (await readAll(response.data, GRACE_MS).then(
        () => undefined,
        (e: unknown) => e,
      )) as AxiosError | undefined;
      // axios's fetch timeout; 1.7.6-1.7.9 word it "timeout N of ms exceeded"
      expect(error?.code).toBe('ETIMEDOUT');
      expect(error?.message).toMatch(/^timeout (of \d+ms|\d+ of ms) exceeded$/);
    },
  );

  const tokenCases = [
    ['http', it],
    ['fetch', itUnless(lacking('fetchSignals'))],
  ] as const;
  for (const [adapter, test] of tokenCases) {
    test(`${adapter}: the caller's CancelToken still cancels the body after the handover, and is let go once it ends`, async () => {
      const server = await serve(startDripServer(50));
      const { api } = guarded(server.url, { deadlineMs: 60_000 }, { adapter });
      const source = axios.CancelToken.source();
      const response = await api.get('/drip', { responseType: 'stream', cancelToken: source.token });
      setTimeout(() => source.cancel('user left'), 200);
      const error = (await readAll(response.data, GRACE_MS).then(
        () => undefined,
        (e: unknown) => e,
      )) as AxiosError | undefined;
      expect(isCancel(error) || isCancel((error as { cause?: unknown } | undefined)?.cause)).toBe(true);
      expect(server.written[0]).toBeLessThan(50);

      const short = await serve(startDripServer(3));
      const done = axios.CancelToken.source();
      const whole = await api.get(short.url, { responseType: 'stream', cancelToken: done.token });
      await readAll(whole.data, GRACE_MS);
      // the stream's end lets the caller's token go (the fetch adapter lets go a turn later)
      await new Promise((resolve) => setImmediate(resolve));
      expect(listenersOf(done.token)).toBe(0);
    });
  }
});

describe('an adapter that ignores the cancellation', () => {
  it('still ends by the deadline, with the timeout message of the config; its late answer is let go', async () => {
    const body = new Readable({ read: () => undefined });
    let answer: (() => void) | undefined;
    const adapter: AxiosAdapter = (config) =>
      new Promise((resolve) => {
        answer = () => resolve({ data: body, status: 200, statusText: 'OK', headers: {}, config });
      });
    const { api } = guarded('http://127.0.0.1:9', { deadlineMs: 300 }, { adapter });
    const error = await failsWithin(api.get('/', { timeoutErrorMessage: 'upstream too slow' }), 300 + GRACE_MS);
    expect(error.message).toBe('upstream too slow');
    expect(error.code).toBe('ECONNABORTED');
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(failureOf(error)!.reason).toBe('deadline of 300 ms reached after 1 attempt');
    expect(error.config?.cancelToken).toBeUndefined();
    answer?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(body.destroyed).toBe(true);
  });
});

describe('what an attempt leaves behind', () => {
  it("an answered request lets the caller's CancelToken go and puts it back on the config", async () => {
    const server = await serve(startHttpServer());
    const { api } = guarded(server.url, { deadlineMs: 60_000 });
    const source = axios.CancelToken.source();
    const res = await api.get('/', { cancelToken: source.token });
    expect(res.status).toBe(200);
    expect(res.config.cancelToken).toBe(source.token);
    expect((source.token as CancelToken & { _listeners?: unknown[] })._listeners ?? []).toHaveLength(0);
  });

  it('an adapter that throws at once: its error, as it is, and no timer left behind', async () => {
    const boom = new Error('boom');
    const adapter: AxiosAdapter = () => {
      throw boom;
    };
    const { api } = guarded('http://127.0.0.1:9', { deadlineMs: 60_000 }, { adapter });
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    expect(await failsWithin(api.get('/'), GRACE_MS)).toBe(boom);
    expect(timers()).toBe(before);
  });
});

describe("the guard's timeout error carries the native request, as axios's does", () => {
  it('an unkeyed POST cut by attemptTimeoutMs on a silent reused socket: the reason names the likely black hole', async () => {
    const server = await serve(startHttpServer({ record: false }));
    // forgets connections idle > 250 ms and swallows their packets from then on
    const hole = await serve(startIdleDropProxy(server.port, 250, true));
    const { api } = guarded(hole.url, { attemptTimeoutMs: 800, expert: { staleIdleMs: 200, noAnswerMs: 300 } });
    await api.get('/warm');
    await pause(400);
    const error = await failsWithin(api.post('/ledger', 'x'), 800 + GRACE_MS);
    expect(error.code).toBe('ECONNABORTED');
    expect(error.request).toBeDefined();
    expect(classify(error)).toMatchObject({ kind: 'timeout', reusedSocket: true, responseStarted: false });
    expect(failureOf(error)!.reason).toMatch(/^no answer on a long-idle reused connection \(idle \d+ ms\): /);
  });
});
