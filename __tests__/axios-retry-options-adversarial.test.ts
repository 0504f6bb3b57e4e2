/**
 * axios-retry's options under attack. Real loopback servers with a ledger of what
 * they applied; real axios-retry on a plain instance side by side where its meaning is the
 * claim. The cases a review found broken were fixed with these tests failing first; each
 * comment says what holds.
 */
import http from 'node:http';
import { Readable } from 'node:stream';
import axios, { type AxiosError, type AxiosResponse } from 'axios';
import axiosRetry, { isNetworkOrIdempotentRequestError } from 'axios-retry';
import { failureOf, ResetGuardOptionError } from '../src';
import { startHttpServer, type Closeable } from '../testbed';
import { failure } from './support/failure';
import { testingOptions } from '../src/testing';
import { useFixtures } from './support/guarded';

const { guarded, serve, track } = useFixtures();

const start = (o?: Parameters<typeof startHttpServer>[0]): ReturnType<typeof startHttpServer> =>
  serve(startHttpServer(o));
const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A server that applies every POST body to a ledger, then answers as `answer` says. */
async function ledgerServer(
  answer: (req: http.IncomingMessage, res: http.ServerResponse, n: number, body: string) => void,
): Promise<Closeable & { applied: string[]; hits: number }> {
  const applied: string[] = [];
  const server = await start({
    handler: (req, res, n, body) => {
      if (req.method === 'POST') applied.push(body);
      answer(req, res, n, body);
    },
  });
  return Object.assign(server, { applied });
}

/** A plain axios instance with real axios-retry on it, closed with the test. */
function withAxiosRetry(baseURL: string, options: Parameters<typeof axiosRetry>[1]): ReturnType<typeof axios.create> {
  const agent = new http.Agent({ keepAlive: true });
  track({ close: () => Promise.resolve(agent.destroy()) });
  const plain = axios.create({ baseURL, httpAgent: agent });
  axiosRetry(plain, options);
  return plain;
}

/** A keep-alive agent of one socket: a socket that is not released blocks the next request. */
function oneSocketAgent(): http.Agent {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  track({ close: () => Promise.resolve(agent.destroy()) });
  return agent;
}

describe('never applied twice, whatever retryCondition says', () => {
  it('POST, reset in the middle of the response after the server applied it: not resent', async () => {
    const server = await ledgerServer((_req, res) => {
      res.writeHead(200, { 'content-length': 1000 });
      res.write('x'.repeat(100));
      setImmediate(() => res.socket?.resetAndDestroy());
    });
    const { api } = guarded(server.url, { retryCondition: () => true, retryNonIdempotent: false });
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(failureOf(error)!.classification.kind).toBe('reset-mid-response');
    expect(server.applied).toEqual(['{"id":1}']);
  });

  it('POST applied then reset before any answer (fresh connection): not resent', async () => {
    const server = await start({ resetWhen: () => true });
    const { api } = guarded(server.url, { retryCondition: () => true });
    await failure(api.post('/orders', { id: 1 }));
    expect(server.bodies).toEqual(['{"id":1}']);
  });

  it('POST on a reused socket idle only ~300 ms, applied then reset: not resent', async () => {
    const server = await start({ resetWhen: (_req, n) => n === 2 });
    const { api } = guarded(server.url, { retryCondition: () => true });
    await api.get('/warm');
    await pause(300);
    const error = await failure(api.post('/orders', { id: 2 }));
    expect(failureOf(error)!.reason).toMatch(/may have been applied|may have processed/);
    expect(server.bodies.filter((b) => b === '{"id":2}')).toHaveLength(1);
  });

  it.each([303, 307])('POST answered %i, the next hop reset: not resent', async (status) => {
    const applied: string[] = [];
    const server = await start({
      resetWhen: (req) => req.url === '/next',
      handler: (req, res, _n, body) => {
        applied.push(`${req.method} ${body}`);
        res.writeHead(status, { location: '/next' });
        res.end();
      },
    });
    const { api } = guarded(server.url, { retryCondition: () => true, retries: 3 });
    const error = await failure(api.post('/orders', { id: 3 }));
    expect(failureOf(error)!.reason).toMatch(/may have been applied/);
    expect(applied).toEqual(['POST {"id":3}']);
  });

  it('a stream body, applied then answered 500: not resent (not even keyed)', async () => {
    const server = await ledgerServer((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const { api } = guarded(server.url, { retryCondition: () => true });
    await failure(api.post('/upload', Readable.from(['a', 'b'])));
    await failure(api.post('/upload', Readable.from(['c']), { headers: { 'Idempotency-Key': 'k' } }));
    await failure(api.put('/upload', Readable.from(['d'])));
    expect(server.applied).toEqual(['ab', 'c']);
    expect(server.hits).toBe(3);
  });

  // holds: an Idempotency-Key that only the retry carries (retryCondition put it on error.config) does not make a possibly applied POST resendable
  it('a retryCondition that adds an Idempotency-Key to error.config cannot get an applied POST resent', async () => {
    const server = await ledgerServer((_req, res, n) => {
      res.statusCode = n === 1 ? 500 : 200;
      res.end();
    });
    const { api } = guarded(server.url, {
      retryCondition: (error) => {
        error.config!.headers.set('Idempotency-Key', 'added-too-late');
        return true;
      },
    });
    await api.post('/orders', { id: 4 }).catch(() => undefined);
    expect(server.applied).toEqual(['{"id":4}']);
  });

  // holds: the policy judges what the failed attempt sent, not a retryCondition's rewrite of error.config (here POST is resent as GET)
  it('a retryCondition that rewrites error.config.method: the request is not resent as something else', async () => {
    const server = await ledgerServer((_req, res) => {
      res.statusCode = 500;
      res.end();
    });
    const { api } = guarded(server.url, {
      retries: 1,
      retryCondition: (error) => {
        error.config!.method = 'get';
        return true;
      },
    });
    await failure(api.post('/orders', { id: 5 }));
    expect(server.applied).toEqual(['{"id":5}']);
    expect(server.hits).toBe(1);
  });
});

describe("retryCondition: the error it is asked about, and when (axios-retry's meaning)", () => {
  // holds: retryCondition (and retryDelay/onRetry) see error.response.data as axios-retry's do, after transformResponse (parsed JSON)
  it('sees the parsed JSON body of a 500, as under axios-retry', async () => {
    const server = await start({
      handler: (_req, res, n) => {
        res.setHeader('content-type', 'application/json');
        res.statusCode = n % 2 === 1 ? 500 : 200;
        res.end(JSON.stringify({ retryable: true }));
      },
    });
    const condition = (error: AxiosError): boolean =>
      (error.response?.data as { retryable?: boolean } | undefined)?.retryable === true;
    const plain = withAxiosRetry(server.url, { retryCondition: condition });
    expect((await plain.get('/')).status).toBe(200); // axios-retry: retried
    const { api } = guarded(server.url, { retryCondition: condition });
    expect((await api.get('/')).status).toBe(200);
  });

  it('is not asked after the last attempt, nor about a cancel during an attempt', async () => {
    const server = await start({ handler: () => undefined });
    const asked: string[] = [];
    const { api } = guarded(server.url, {
      retryCondition: (e) => {
        asked.push(String(e.code));
        return true;
      },
    });
    const controller = new AbortController();
    const pending = api.get('/hang', { signal: controller.signal });
    while (server.hits < 1) await pause(5);
    controller.abort();
    expect(axios.isCancel(await failure(pending))).toBe(true);
    expect(asked).toEqual([]);
  });

  // holds: a narrowing retryCondition is consulted before the black-hole watch gives up a slow answer (it would never be resent)
  it('a narrow retryCondition: a slow answer on a long-idle socket is not given up for silence', async () => {
    const server = await start({
      handler: (_req, res, n) => {
        setTimeout(() => res.end('ok'), n === 2 ? 700 : 0);
      },
    });
    const { api } = guarded(server.url, {
      expert: { noAnswerMs: 200 },
      retryCondition: (error) => error.response?.status === 503,
    });
    await api.get('/warm');
    await pause(1100); // idle >= staleIdleMs
    const res = await api.get('/slow');
    expect(res.status).toBe(200);
  });
});

describe('retryDelay', () => {
  // holds: retryDelay is asked only for a retry that will be sent, as in axios-retry (not when retryCondition declines)
  it('is not called when retryCondition declines (axios-retry never calls it then)', async () => {
    const server = await start({ resetFirst: 2 });
    const plainDelay = jest.fn(() => 1);
    const plain = withAxiosRetry(server.url, { retryCondition: () => false, retryDelay: plainDelay });
    await failure(plain.get('/'));
    expect(plainDelay).not.toHaveBeenCalled();
    const delay = jest.fn(() => 1);
    const { api } = guarded(server.url, { retryCondition: () => false, retryDelay: delay });
    await failure(api.get('/'));
    expect(delay).not.toHaveBeenCalled();
  });

  // holds: a retry declined by retryCondition ends with the attempt's error, not with a bad retryDelay's typed error
  it('a bad retryDelay does not replace the error of a retry that retryCondition declined', async () => {
    const server = await start({ resetFirst: 1 });
    const { api } = guarded(server.url, { retryCondition: () => false, retryDelay: () => Number.NaN });
    const error = await failure(api.get('/'));
    expect(error.code).toBe('ECONNRESET');
  });

  // holds: Infinity is not a number of ms (the guard's own options refuse it): a typed error naming retryDelay, not a 24.8-day wait
  it('Infinity is a typed error naming retryDelay', async () => {
    const server = await start({ resetFirst: 1 });
    const planned: number[] = [];
    const { api } = guarded(server.url, {
      retryDelay: () => Number.POSITIVE_INFINITY,
      beforeRetry: (info) => void planned.push(info.delayMs),
    });
    const error: unknown = await api.get('/').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect({ planned, typed: error instanceof ResetGuardOptionError }).toEqual({ planned: [], typed: true });
  });

  it('negative, string: typed errors naming retryDelay; fractional: rounded', async () => {
    const server = await start({ resetWhen: (req) => req.url !== '/ok' });
    for (const value of [-1, '100']) {
      const { api } = guarded(server.url, { retryDelay: () => value as number });
      const error = (await failure(api.get('/'))) as unknown;
      expect(error).toBeInstanceOf(ResetGuardOptionError);
      expect((error as Error).message).toMatch(/retryDelay/);
    }
    const planned: number[] = [];
    const fractional = await start({ resetFirst: 1 });
    const { api } = guarded(fractional.url, {
      retryDelay: () => 10.6,
      beforeRetry: (i) => void planned.push(i.delayMs),
    });
    await api.get('/');
    expect(planned).toEqual([11]);
  });

  it('a delay that would cross deadlineMs is not started; a Retry-After that would is not either', async () => {
    const server = await start({
      handler: (_req, res) => {
        res.setHeader('retry-after', '2');
        res.statusCode = 503;
        res.end();
      },
      resetWhen: (req) => req.url === '/reset',
    });
    const sleep = jest.fn(() => Promise.resolve());
    const { api } = guarded(server.url, testingOptions({ deadlineMs: 1000, retryDelay: () => 5000 }, { sleep }));
    const a = await failure(api.get('/reset'));
    expect(failureOf(a)!.reason).toMatch(/5000 ms wait would cross it/);
    const b = await failure(api.get('/busy', { resetGuard: { retryDelay: () => 1 } }));
    expect(failureOf(b)!.reason).toMatch(/2000 ms wait would cross it/);
    expect(sleep).not.toHaveBeenCalled();
  });
});

describe('shouldResetTimeout', () => {
  it('false with deadlineMs: the shorter wins; with timeout 0 there is no deadline', async () => {
    const hang = await serve(startHttpServer({ handler: () => undefined }));
    const { api } = guarded(hang.url, { shouldResetTimeout: false, retryTimeouts: true, deadlineMs: 5000 });
    const a = await failure(api.get('/', { timeout: 200 }));
    expect(failureOf(a)!.reason).toMatch(/^deadline of 200 ms/);
    const b = await failure(api.get('/', { timeout: 5000, resetGuard: { deadlineMs: 150 } }));
    expect(failureOf(b)!.reason).toMatch(/^deadline of 150 ms/);

    const resets = await serve(startHttpServer({ resetFirst: 2 }));
    const c = guarded(resets.url, { shouldResetTimeout: false });
    expect((await c.api.get('/', { timeout: 0 })).status).toBe(200);
  });
});

describe('validateResponse', () => {
  it('a rejected stream response that is retried gives its socket back (maxSockets 1)', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.statusCode = n === 1 ? 503 : 200;
          res.end('x'.repeat(10));
        },
      }),
    );
    const streams: Readable[] = [];
    const { api } = guarded(
      server.url,
      {
        validateResponse: (res) => {
          streams.push(res.data as Readable);
          return res.status === 200;
        },
      },
      { httpAgent: oneSocketAgent() },
    );
    const res = await api.get<Readable>('/', { responseType: 'stream' });
    res.data.resume();
    await new Promise((resolve) => res.data.on('end', resolve));
    expect(streams[0]!.destroyed).toBe(true);
  });

  // holds: when validateResponse (or retryCondition, or a bad retryDelay) throws, the attempt's streamed body nobody can reach any more is released
  it.each(['validateResponse', 'retryCondition', 'retryDelay'])(
    'a %s that throws on a stream response does not keep its socket (maxSockets 1)',
    async (which) => {
      const server = await serve(
        startHttpServer({
          handler: (_req, res) => {
            res.statusCode = 503;
            res.end('x'.repeat(10));
          },
        }),
      );
      const streams: Readable[] = [];
      const boom = new Error('user code threw');
      const { api } = guarded(
        server.url,
        {
          validateResponse: (res) => {
            streams.push(res.data as Readable);
            if (which === 'validateResponse') throw boom;
            return false;
          },
          retryCondition: () => {
            if (which === 'retryCondition') throw boom;
            return true;
          },
          retryDelay: () => (which === 'retryDelay' ? Number.NaN : 0),
        },
        { httpAgent: oneSocketAgent() },
      );
      await failure(api.get('/', { responseType: 'stream' }));
      expect(streams).toHaveLength(1);
      expect(streams[0]!.destroyed).toBe(true);
    },
  );

  // A documented difference: the guard answers inside the adapter, before axios's transforms,
  // so validateResponse sees the body through the transforms run on a copy, and axios then
  // transforms the response the caller gets (axios-retry, after them, runs them once).
  it('transformResponse runs once for validateResponse (on a copy) and once for the caller', async () => {
    const server = await serve(startHttpServer());
    let plainCalls = 0;
    const plain = withAxiosRetry(server.url, { validateResponse: (r) => r.status === 200 });
    await plain.get('/', { transformResponse: [(d: string) => (plainCalls++, JSON.parse(d) as unknown)] });
    expect(plainCalls).toBe(1);
    let calls = 0;
    const seen: unknown[] = [];
    const { api } = guarded(server.url, { validateResponse: (r) => (seen.push(r.data), r.status === 200) });
    const res = await api.get<{ ok: boolean }>('/', {
      transformResponse: [(d: string) => (calls++, JSON.parse(d) as unknown)],
    });
    expect(calls).toBe(2);
    expect(seen).toEqual([res.data]);
    expect(res.data.ok).toBe(true);
  });

  // holds: a transform that works in place on the raw Buffer gives the caller the data transformed once
  it('an in-place transformResponse (Buffer#swap16) is not applied twice to the data the caller gets', async () => {
    const server = await serve(startHttpServer({ handler: (_req, res) => res.end('abcd') }));
    const { api } = guarded(server.url, { validateResponse: (r) => r.status === 200 });
    const res: AxiosResponse<Buffer> = await api.get('/', {
      responseType: 'arraybuffer',
      transformResponse: [(d: Buffer) => d.swap16()],
    });
    expect(res.data.toString()).toBe('badc');
  });

  it('a validateResponse that throws ends the request with its own error', async () => {
    const server = await serve(startHttpServer());
    const boom = new Error('validate');
    const { api } = guarded(server.url, {
      validateResponse: () => {
        throw boom;
      },
    });
    expect(await failure(api.get('/'))).toBe(boom);
    expect(server.hits).toBe(1);
  });

  it('a GET 404 it rejects is retried with retryCondition true; a POST 404 is not', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.statusCode = n === 1 ? 404 : n === 3 ? 404 : 200;
          res.end();
        },
      }),
    );
    const { api } = guarded(server.url, { validateResponse: (r) => r.status === 200, retryCondition: () => true });
    expect((await api.get('/')).status).toBe(200);
    await failure(api.post('/', { a: 1 }));
    expect(server.hits).toBe(3);
  });
});

describe('hooks, counts and order, side by side with axios-retry', () => {
  it('retries 2 against resets: the same calls of retryCondition, retryDelay, onRetry, onMaxRetryTimesExceeded', async () => {
    const server = await serve(startHttpServer({ resetFirst: 100 }));
    const run = async (
      log: string[],
      client: (o: Parameters<typeof axiosRetry>[1]) => ReturnType<typeof axios.create>,
    ) => {
      const api = client({
        retries: 2,
        retryCondition: (e) => (log.push(`condition ${e.code}`), isNetworkOrIdempotentRequestError(e)),
        retryDelay: (n) => (log.push(`delay ${n}`), 1),
        onRetry: (n) => void log.push(`onRetry ${n}`),
        onMaxRetryTimesExceeded: (_e, n) => void log.push(`exceeded ${n}`),
      });
      await failure(api.get('/'));
    };
    const theirs: string[] = [];
    await run(theirs, (o) => withAxiosRetry(server.url, o));
    const ours: string[] = [];
    await run(ours, (o) => guarded(server.url, o).api);
    expect(ours).toEqual(theirs);
  });

  it('onRetry may set a header that the retry sends (axios-retry users refresh tokens there)', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url, {
      onRetry: (_n, _e, config) => {
        (config.headers as Record<string, string>)['x-token'] = 'fresh';
      },
    });
    await api.get('/');
    expect(server.headers.map((h) => h['x-token'])).toEqual([undefined, 'fresh']);
  });

  it('onMaxRetryTimesExceeded: retries 0 fires; a deadline or a rule refusal with retries left does not', async () => {
    const server = await serve(startHttpServer({ resetWhen: () => true }));
    const seen: string[] = [];
    const { api } = guarded(server.url, { onMaxRetryTimesExceeded: (e, n) => void seen.push(`${e.code} ${n}`) });
    await failure(api.get('/', { resetGuard: { retries: 0 } }));
    await failure(api.post('/', {})); // rule refusal, 3 retries left
    await failure(api.get('/', { resetGuard: { deadlineMs: 50, retryDelay: () => 100 } }));
    await failure(api.get('/', { resetGuard: { retry: false } }));
    expect(seen).toEqual(['ECONNRESET 0']);
  });
});

describe('per-request overrides and typed errors', () => {
  it('resetGuard overrides the instance: retryCondition, validateResponse: null', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.statusCode = n === 1 ? 500 : 200;
          res.end();
        },
      }),
    );
    const { api } = guarded(server.url, { retryCondition: () => true, validateResponse: () => false });
    const a = await failure(api.get('/', { resetGuard: { retryCondition: () => false, validateResponse: null } }));
    expect(a.response?.status).toBe(500);
    expect(server.hits).toBe(1);
  });

  it.each([
    ['retries', -1],
    ['retries', 1.5],
    ['retryDelay', 100],
    ['retryCondition', true],
    ['shouldResetTimeout', 'no'],
    ['onRetry', {}],
    ['onMaxRetryTimesExceeded', 1],
    ['validateResponse', 'yes'],
  ])(
    '%s: %p is a typed error naming it, per instance and per request, before anything is sent',
    async (name, value) => {
      const server = await serve(startHttpServer());
      expect(() => guarded(server.url, { [name]: value })).toThrow(ResetGuardOptionError);
      expect(() => guarded(server.url, { [name]: value })).toThrow(new RegExp(name));
      const { api } = guarded(server.url);
      const error = (await failure(api.get('/', { resetGuard: { [name]: value } }))) as unknown;
      expect(error).toBeInstanceOf(ResetGuardOptionError);
      expect((error as Error).message).toMatch(new RegExp(`resetGuard\\.${name}`));
      expect(server.hits).toBe(0);
    },
  );

  // holds: a per-request 'axios-retry' key left over from the migration is honoured or refused with a typed error, not silently ignored
  it("a request's leftover 'axios-retry': { retries: 0 } is not silently ignored", async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url);
    const outcome = await api.get('/', { 'axios-retry': { retries: 0 } } as object).then(
      () => 'sent twice, succeeded',
      (e: unknown) => (e instanceof ResetGuardOptionError ? 'typed error' : 'failed once'),
    );
    expect(outcome).not.toBe('sent twice, succeeded');
  });
});
