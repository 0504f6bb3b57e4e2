/**
 * Behaviour on real sockets (127.0.0.1): resets made by real servers and a real
 * idle-dropping TCP proxy. Outcomes (counts, codes, bodies) are asserted, never wall time.
 */
import { Readable } from 'node:stream';
import axios, { isCancel } from 'axios';
import { HttpsAgent } from 'agentkeepalive';
import { attemptOf, failureOf } from '../src';
import {
  failure,
  pause,
  startHalfBodyServer,
  startHttpServer,
  startIdleDropProxy,
  startTlsServer,
} from './support/net';
import { useFixtures } from './support/guarded';
import { idleClosingServer } from '../demo/faults';

const { guarded, serve, track } = useFixtures();

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

  it('POST on a fresh-connection reset is not retried', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url);
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(error.code).toBe('ECONNRESET');
    expect(axios.isAxiosError(error)).toBe(true);
    expect(failureOf(error)!.classification.kind).toBe('reset');
    expect(failureOf(error)!.reason).toMatch(/POST is not idempotent/);
    expect(server.hits).toBe(1);
  });

  it('a stream body is not resent: one attempt, the original error and the reason', async () => {
    const server = await serve(startHttpServer({ resetFirst: 1 }));
    const { api } = guarded(server.url);
    const error = await failure(api.put('/upload', Readable.from(['part-1,', 'part-2'])));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.reason).toMatch(/stream/);
    expect(server.hits).toBe(1);
    expect(server.bodies).toEqual(['part-1,part-2']);
  });

  it('an abort during the backoff wait rejects at once with CanceledError; no further attempt', async () => {
    const server = await serve(startHttpServer({ resetFirst: 10 }));
    const controller = new AbortController();
    const { api } = guarded(server.url, {
      sleep: undefined,
      random: () => 1,
      baseDelayMs: 600_000,
      onRetry: () => void setImmediate(() => controller.abort()),
    });
    const error = await failure(api.get('/slow', { signal: controller.signal }));
    expect(isCancel(error)).toBe(true);
    expect(server.hits).toBe(1);
  });
});

describe.each([
  ['follow-redirects (default maxRedirects)', {}],
  ['maxRedirects: 0 (plain http)', { maxRedirects: 0 }],
])('a firewall that silently drops idle connections, via %s', (_name, config) => {
  const IDLE = 150;

  it('GET and POST on a connection that went stale after idling past staleIdleMs both succeed', async () => {
    const server = await serve(startHttpServer());
    const proxy = await serve(startIdleDropProxy(server.port, IDLE));
    // learning off: after the first stale reset it would (rightly) retire sockets before the
    // firewall forgets them, and this test needs a second stale socket for the POST
    const { api, guard } = guarded(proxy.url, { staleIdleMs: 100, learnIdleLimits: false }, config);

    await api.get('/warm');
    await pause(IDLE + 100);
    const get = await api.get('/again');
    expect(get.status).toBe(200);
    const [stale] = attemptOf(get)!.history;
    expect(stale).toMatchObject({ kind: 'stale-socket', reusedSocket: true, delayMs: 0 });
    expect(stale!.idleMs).toBeGreaterThanOrEqual(100);

    await pause(IDLE + 100);
    const post = await api.post<{ body: string }>('/orders', { id: 9 });
    expect(post.status).toBe(200);
    expect(attemptOf(post)!.history[0]!.kind).toBe('stale-socket');
    // the dropped attempt never reached the server: it applied the POST exactly once
    expect(server.bodies.filter((b) => b === '{"id":9}')).toHaveLength(1);
    expect(proxy.resets).toBe(2);
    expect(guard.stats().resets['stale-socket']).toBe(2);
  });
});

describe('resets on a busy reused connection (idle only a few ms)', () => {
  it('POST is not resent; GET is, at once', async () => {
    // the 2nd request (a POST on the reused socket) and the 4th (a GET) are reset
    const server = await serve(startHttpServer({ resetWhen: (_req, n) => n === 2 || n === 4 }));
    const { api } = guarded(server.url);
    await api.get('/first');
    const error = await failure(api.post('/orders', { id: 2 }));
    expect(error.code).toBe('ECONNRESET');
    expect(failureOf(error)!.classification).toMatchObject({ kind: 'stale-socket', reusedSocket: true });
    expect(failureOf(error)!.reason).toMatch(/idle only \d+ ms/);
    expect(server.bodies.filter((b) => b === '{"id":2}')).toHaveLength(1);

    await api.get('/third');
    const res = await api.get('/fourth');
    expect(res.status).toBe(200);
    expect(attemptOf(res)!.history[0]).toMatchObject({ kind: 'stale-socket', delayMs: 0 });
  });
});

it('purges the other free sockets that idled as long, so the retry uses a fresh connection', async () => {
  const server = await serve(startHttpServer());
  const proxy = await serve(startIdleDropProxy(server.port, 60_000));
  const { api, guard } = guarded(proxy.url);
  await Promise.all([1, 2, 3, 4].map((i) => api.get(`/warm/${i}`)));
  expect(guard.stats().agents.http!.freeSockets).toBe(4);
  proxy.dropAllNow();
  const res = await api.get('/after-drop');
  expect(res.status).toBe(200);
  expect(guard.stats().purgedSockets).toBe(3);
  const results = await Promise.all([1, 2, 3, 4].map((i) => api.get(`/burst/${i}`)));
  expect(results.every((r) => r.status === 200)).toBe(true);
  expect(proxy.resets).toBe(1);
});

it('16 concurrent requests after a silent drop: none fails, at most one reset per pooled socket', async () => {
  const server = await serve(startHttpServer());
  const proxy = await serve(startIdleDropProxy(server.port, 60_000));
  const { api } = guarded(proxy.url);
  const burst = (tag: string): Promise<number[]> =>
    Promise.all(Array.from({ length: 16 }, (_, i) => api.get(`/${tag}/${i}`).then((r) => r.status)));
  expect(await burst('warm')).toEqual(Array(16).fill(200));
  proxy.dropAllNow();
  expect(await burst('after')).toEqual(Array(16).fill(200));
  // each pooled socket can fail at most once; retries go to fresh connections
  expect(proxy.resets).toBeGreaterThanOrEqual(1);
  expect(proxy.resets).toBeLessThanOrEqual(16);
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

it('requests right at a server idle close all succeed (real FIN races), with reuse in between', async () => {
  // FINs each idle connection exactly 300 ms after its last response, sends no Keep-Alive hint
  const target = await idleClosingServer(300);
  track(target);
  const { api, guard } = guarded(target.url);
  const statuses: number[] = [];
  const gaps = [295, 300, 305, 40, 298, 302, 40, 300];
  for (const [i, gap] of gaps.entries()) {
    statuses.push((await api.get(`/tick/${i}`)).status);
    await pause(gap);
  }
  statuses.push((await api.get('/tick/last')).status);
  expect(statuses).toEqual(Array(gaps.length + 1).fill(200));
  expect(guard.stats().gaveUp).toBe(0);
  // the 40 ms gaps reuse a socket for sure: fewer connections than requests
  expect(guard.stats().agents.http!.createdSockets).toBeLessThan(gaps.length + 1);
});

it("with adapter: 'fetch', a reset is found through error.cause and retried", async () => {
  const server = await serve(startHttpServer({ resetFirst: 1 }));
  const { api } = guarded(server.url, {}, { adapter: 'fetch' });
  const res = await api.get<{ n: number }>('/via-fetch');
  expect(res.data.n).toBe(2);
  expect(attemptOf(res)!.history[0]).toMatchObject({ kind: 'reset', code: 'ECONNRESET' });
});
