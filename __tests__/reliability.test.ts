/**
 * Issue 5's behaviours on real sockets (127.0.0.1): a storm against a server that resets
 * every connection, Retry-After from a real server, idempotency keys across a real
 * mid-response reset, deadlines against a server that never answers, truncated bodies
 * (FIN mid-body), the fetch adapter, and NODE_DEBUG output. Outcomes, never wall time.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { attemptOf, CHANNELS, failureOf } from '../src';
import { failure, pause, startHttpServer, startIdleDropProxy } from './support/net';
import { useFixtures } from './support/guarded';

const { guarded, serve } = useFixtures();

/** Runs `count` requests, `concurrency` at a time; resolves with how many failed. */
async function batch(count: number, concurrency: number, send: (i: number) => Promise<unknown>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < count) {
      const i = next++;
      await send(i).catch(() => (failed += 1));
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}

describe('retry budget against a server that resets every connection', () => {
  it('1,000 requests send at most 1,150 attempts once the bucket is spent, and retries return on recovery', async () => {
    let down = true;
    const server = await serve(startHttpServer({ resetWhen: () => down, record: false }));
    const { api, guard } = guarded(server.url);

    // Spend the initial bucket (500 tokens, 5 per retry: 100 retries).
    await batch(60, 8, (i) => api.get(`/warmup/${i}`));
    expect(guard.stats().budget!.tokens).toBeLessThan(5);

    const before = guard.stats().attempts;
    const failed = await batch(1000, 32, (i) => api.get(`/storm/${i}`));
    const attempts = guard.stats().attempts - before;
    expect(failed).toBe(1000);
    expect(attempts).toBeLessThanOrEqual(1150);
    expect(guard.stats().budget!.refused).toBeGreaterThanOrEqual(1000);
    const sample = await failure(api.get('/one-more'));
    expect(failureOf(sample)!.reason).toMatch(/^retry budget exhausted \(\d tokens left, this retry costs 5\)$/);

    // The server recovers: successes refill the bucket and resets are retried again.
    down = false;
    await batch(10, 1, (i) => api.get(`/ok/${i}`));
    expect(guard.stats().budget!.tokens).toBeGreaterThanOrEqual(10);
    let once = true;
    down = false;
    const flaky = await serve(
      startHttpServer({
        resetWhen: () => {
          const reset = once;
          once = false;
          return reset;
        },
      }),
    );
    const res = await api.get<{ n: number }>(`${flaky.url}/after-recovery`);
    expect(attemptOf(res)!.attempt).toBe(2);
  }, 30_000);
});

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
    const planned: number[] = [];
    const { api } = guarded(server.url, { onRetry: (i) => void planned.push(i.delayMs) });
    const res = await api.get<string>('/');
    expect(res.data).toBe('ready');
    expect(planned).toEqual([0]);
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

describe('idempotency keys on a real server', () => {
  it('a POST reset mid-response is resent with the same key; the server applies it once', async () => {
    const applied = new Map<string, number>();
    const server = await serve(
      startHttpServer({
        handler: (req, res, n) => {
          const key = String(req.headers['idempotency-key']);
          // a real server with idempotency keys: apply once per key, replay the stored result
          applied.set(key, (applied.get(key) ?? 0) + (applied.has(key) ? 0 : 1));
          res.writeHead(201, { 'content-type': 'application/json', 'content-length': '100' });
          if (n === 1) {
            res.write('{"partial":');
            setTimeout(() => res.socket?.resetAndDestroy(), 20);
          } else res.end(JSON.stringify({ key, pad: 'x'.repeat(100 - 19 - key.length) }));
        },
      }),
    );
    const { api } = guarded(server.url, { idempotencyKey: true });
    const res = await api.post<{ key: string }>('/payments', { amount: 10 });
    expect(res.status).toBe(201);
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'reset-mid-response' }]);
    expect(server.headers.map((h) => h['idempotency-key'])).toEqual([res.data.key, res.data.key]);
    expect([...applied.values()]).toEqual([1]);
  });

  it('without a key the same POST is not resent, and says why', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res) => {
          res.writeHead(201, { 'content-length': '100' });
          res.write('{"partial":');
          setTimeout(() => res.socket?.resetAndDestroy(), 20);
        },
      }),
    );
    const { api } = guarded(server.url);
    const error = await failure(api.post('/payments', { amount: 10 }));
    expect(failureOf(error)!.reason).toBe(
      'POST is not idempotent and a reset-mid-response failure may have reached the server',
    );
    expect(server.hits).toBe(1);
  });
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
});

describe('deadline on a server that never answers', () => {
  it('each attempt is cut to the time left; the error says the deadline and the attempts', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined }));
    const { api, guard } = guarded(server.url, { deadlineMs: 400, retryTimeouts: true, attemptTimeoutMs: 150 });
    const error = await failure(api.get('/hang'));
    const info = failureOf(error)!;
    expect(info.classification.kind).toBe('timeout');
    expect(info.reason).toMatch(/^deadline of 400 ms reached after \d attempts/);
    expect(info.attempt.attempt).toBeGreaterThanOrEqual(2);
    expect(info.attempt.attempt).toBeLessThanOrEqual(4);
    expect(guard.stats().gaveUp).toBe(1);
  });
});

describe("adapter: 'fetch'", () => {
  it('503 with Retry-After and a reset are both retried; no agents are involved', async () => {
    const server = await serve(
      startHttpServer({
        resetWhen: (_req, n) => n === 1,
        handler: (_req, res, n) => {
          if (n === 2) res.writeHead(503, { 'retry-after': '0' }).end();
          else res.end('fine');
        },
      }),
    );
    const { api } = guarded(server.url, {}, { adapter: 'fetch' });
    const res = await api.get<string>('/');
    expect(res.data).toBe('fine');
    expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset', 'http-status']);
  });
});

describe('NODE_DEBUG=axios-reset-guard', () => {
  it('prints one line per retry decision, with no secret', () => {
    const script = join(__dirname, 'support', 'debug-child.ts');
    const run = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', script], {
      env: { ...process.env, NODE_DEBUG: 'axios-reset-guard' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    expect(run.status).toBe(0);
    const lines = run.stderr.split('\n').filter((l) => l.startsWith('AXIOS-RESET-GUARD'));
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(
      /GET http:\/\/\[redacted\]@127\.0\.0\.1:\d+\/debug attempt 1\/4 failed \(reset ECONNRESET\): retry in \d+ ms, GET is idempotent/,
    );
    expect(lines[1]).toMatch(/attempt 2\/4 failed \(http-status ERR_BAD_REQUEST 404\): no retry, a status 404/);
    expect(run.stderr + run.stdout).not.toMatch(/s3cr3t/);
  });
});

describe('edge cases found in review, on real sockets', () => {
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

  it('a POST on a reused socket that dies after the staleWindowMs is a reset, not resent', async () => {
    let posts = 0;
    const server = await serve(
      startHttpServer({
        handler: (req, res) => {
          if (req.method !== 'POST') return void res.end('warm');
          posts += 1;
          // the application took the POST, then the process died mid-request
          setTimeout(() => req.socket.resetAndDestroy(), 150);
        },
      }),
    );
    const { api } = guarded(server.url, { staleIdleMs: 50, staleWindowMs: 100 });
    await api.get('/warm');
    await pause(120);
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(posts).toBe(1);
    expect(failureOf(error)!.classification).toMatchObject({ kind: 'reset', reusedSocket: true });
  });

  it('detach() while a POST is in flight: the guard does not resend what its own detach killed', async () => {
    let posts = 0;
    const server = await serve(
      startHttpServer({
        handler: (req, res) => {
          if (req.method !== 'POST') return void res.end('warm');
          posts += 1; // never answered: the client side goes away first
        },
      }),
    );
    const { api, guard } = guarded(server.url, { staleIdleMs: 50 });
    await api.get('/warm');
    await pause(120);
    const pending = failure(api.post('/orders', { id: 2 }));
    await pause(50);
    guard.detach();
    const error = await pending;
    expect(posts).toBe(1);
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was in flight');
  });

  it('a slow onRetry cannot push an attempt past the deadline', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url, { deadlineMs: 150, onRetry: () => pause(300) });
    const error = await failure(api.get('/'));
    expect(server.hits).toBe(1);
    expect(failureOf(error)!.reason).toBe('deadline of 150 ms reached after 1 attempt');
  });

  it('with the fetch adapter, a body cut short is a reset-mid-response', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.writeHead(200, { 'content-length': '100' });
          if (n === 1) {
            res.write('partial');
            setTimeout(() => res.socket?.end(), 20);
          } else res.end('y'.repeat(100));
        },
      }),
    );
    const { api } = guarded(server.url, {}, { adapter: 'fetch' });
    const res = await api.get<string>('/');
    expect(res.data).toHaveLength(100);
    expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset-mid-response']);
  });
});

describe('second review: timing and detach', () => {
  it('a stale socket stays stale when this process was busy while the RST came back', async () => {
    const server = await serve(startHttpServer({ keepAliveTimeout: 0 }));
    const proxy = await serve(startIdleDropProxy(server.port, 100));
    const { api } = guarded(proxy.url, { staleIdleMs: 50, staleWindowMs: 100 });
    await api.get('/warm');
    await pause(250); // the proxy forgets the connection
    const sent = api.post<{ n: number }>('/orders', { id: 7 });
    // 300 ms of CPU work right after the send: more than staleWindowMs, none of it network time
    setImmediate(() => {
      const until = Date.now() + 300;
      while (Date.now() < until);
    });
    const res = await sent;
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'stale-socket' }]);
    expect(server.methods.filter((m) => m === 'POST')).toHaveLength(1);
  });

  it('detach() ends a pending wait at once; the request fails with the detached reason', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    // a sleep that only ends when aborted: without detach() aborting it, this test would hang
    const sleep = (_ms: number, signal?: AbortSignal): Promise<void> =>
      new Promise((_resolve, reject) => signal?.addEventListener('abort', () => reject(new Error('aborted'))));
    const { api, guard } = guarded(server.url, {
      sleep,
      random: () => 1, // a 200 ms backoff, so there is a wait to end
      onRetry: () => void setImmediate(() => guard.detach()),
    });
    const error = await failure(api.get('/'));
    expect(failureOf(error)!.reason).toBe('the guard was detached while the request was waiting to retry');
    expect(server.hits).toBe(1);
  });

  it('a streamed error body stays readable when the retry is called off after the hook', async () => {
    const server = await serve(
      startHttpServer({ handler: (_req, res) => res.writeHead(503, { 'retry-after': '0' }).end('busy-body') }),
    );
    const holder: { guard?: ReturnType<typeof guarded>['guard'] } = {};
    const { api, guard } = guarded(server.url, { onRetry: () => holder.guard!.detach() });
    holder.guard = guard;
    const error = await failure(api.get('/', { responseType: 'stream' }));
    let body = '';
    for await (const chunk of error.response!.data as NodeJS.ReadableStream) body += String(chunk);
    expect(body).toBe('busy-body');
  });

  it('after a slow onRetry, a wait that would now cross the deadline is not started', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const waits: number[] = [];
    const { api } = guarded(server.url, {
      deadlineMs: 1000,
      baseDelayMs: 600,
      random: () => 1,
      onRetry: () => pause(500),
      sleep: (ms) => {
        waits.push(ms);
        return Promise.resolve();
      },
    });
    const error = await failure(api.get('/'));
    expect(waits).toEqual([]);
    expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt: a 600 ms wait would cross it');
  });
});

describe('wiring the nock tests prove, on real sockets', () => {
  it('channel messages and the final error JSON carry no secret', async () => {
    const published: unknown[] = [];
    const listener = (message: unknown): void => void published.push(message);
    for (const name of Object.values(CHANNELS)) subscribe(name, listener);
    try {
      const server = await serve(startHttpServer({ resetWhen: () => true }));
      const { api } = guarded(
        server.url.replace('http://', 'http://me:s3cr3t-pass@'),
        { retries: 1, redactHeaders: ['x-api-key'] },
        { headers: { Authorization: 'Bearer s3cr3t-token', Cookie: 'id=s3cr3t-cookie', 'X-Api-Key': 's3cr3t-key' } },
      );
      const error = await failure(api.get('/secret'));
      expect(server.headers[0]!.cookie).toBe('id=s3cr3t-cookie'); // sent, just never echoed
      expect(published).toHaveLength(2 + 1 + 1); // 2 resets, 1 retry, 1 give-up
      expect(JSON.stringify(published) + JSON.stringify(error)).not.toMatch(/s3cr3t/);
    } finally {
      for (const name of Object.values(CHANNELS)) unsubscribe(name, listener);
    }
  });

  it('the shorter of axios timeout and attemptTimeoutMs ends an attempt', async () => {
    const server = await serve(startHttpServer({ handler: () => undefined })); // never answers
    const { api } = guarded(server.url, { attemptTimeoutMs: 60_000 });
    const error = await failure(api.get('/slow', { timeout: 100 }));
    expect(failureOf(error)!.classification.kind).toBe('timeout');
    expect(server.hits).toBe(1);
  });

  it('a POST whose connection was refused is retried once the server is up', async () => {
    const probe = await startHttpServer();
    const { port } = probe;
    await probe.close(); // nothing listens there now
    const { api } = guarded(`http://127.0.0.1:${port}`, {
      onRetry: async () => {
        await serve(startHttpServer({ port }));
      },
    });
    const res = await api.post<{ method: string }>('/orders', { id: 3 });
    expect(res.data.method).toBe('POST');
    expect(attemptOf(res)!.history).toMatchObject([{ kind: 'refused' }]);
  });
});
