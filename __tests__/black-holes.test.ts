/**
 * Black holes: a middlebox that forgot a pooled connection and drops its packets, so a
 * request written on it hears nothing (`noAnswerMs`). On loopback through a proxy that goes
 * silent after idle; the same through a real kernel firewall is in firewall.test.ts (c).
 */
import { attemptOf, classify, DEFAULTS, failureOf } from '../src';
import { classifyError, decideRetry } from '../src/internals';
import { pause, startHttpServer, startIdleDropProxy } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';

const NO_ANSWER = 'ERR_RESET_GUARD_NO_ANSWER';
// short enough for a test: sockets idle >= 200 ms are watched, silence of 300 ms is given up
const FAST = { expert: { staleIdleMs: 200, noAnswerMs: 300 } } as const;

describe('without a network: the classification and the reason', () => {
  it('a request given up for no answer is a stale socket: retryable, resent at once', () => {
    const error = Object.assign(new Error('no answer'), { code: NO_ANSWER });
    const c = classifyError(error);
    expect(c).toMatchObject({ kind: 'stale-socket', retryable: true, responseStarted: false, code: NO_ANSWER });
    const d = decideRetry({
      classification: c,
      method: 'GET',
      hasIdempotencyKey: false,
      bodyReplayable: true,
      attempt: 1,
      staleReplays: 0,
      options: DEFAULTS,
    });
    expect(d).toMatchObject({ retry: true, immediate: true, delayMs: 0 });
  });

  it('a timeout with no byte on a long-idle reused socket says so when it is not resent', () => {
    const timeout = Object.freeze({
      kind: 'timeout' as const,
      retryable: true,
      reusedSocket: true,
      responseStarted: false,
      idleMs: 5000,
      code: 'ECONNABORTED',
    });
    const ctx = {
      classification: timeout,
      method: 'POST',
      hasIdempotencyKey: false,
      bodyReplayable: true,
      attempt: 1,
      staleReplays: 0,
      options: DEFAULTS,
    };
    expect(decideRetry(ctx).reason).toBe(
      'no answer on a long-idle reused connection (idle 5000 ms): timeouts are not retried unless retryTimeouts is true (the server may still be working on it)',
    );
    // not on a fresh socket, not after a short idle, not once bytes came back
    for (const other of [{ reusedSocket: false }, { idleMs: 100 }, { responseStarted: true }]) {
      expect(decideRetry({ ...ctx, classification: { ...timeout, ...other } }).reason).toMatch(/^timeouts are not/);
    }
  });
});

describe('on real sockets, through a proxy that goes silent after idle', () => {
  const { guarded, serve } = useFixtures();

  async function blackHole(): Promise<{ url: string; applied: Map<string, number>; connections: () => number }> {
    const applied = new Map<string, number>();
    const server = await serve(
      startHttpServer({
        record: false,
        handler: (req, res) => {
          const id = new URL(req.url ?? '/', 'http://x').searchParams.get('id');
          if (id !== null) applied.set(id, (applied.get(id) ?? 0) + 1);
          res.end('ok');
        },
      }),
    );
    // forgets connections idle > 250 ms and swallows their packets from then on
    const proxy = await serve(startIdleDropProxy(server.port, 250, true));
    return { url: proxy.url, applied, connections: () => server.connections };
  }

  it('a GET on a silent reused socket is given up after noAnswerMs and resent on a fresh connection', async () => {
    const hole = await blackHole();
    const { api, guard } = guarded(hole.url, FAST);
    await api.get('/warm');
    await pause(400);
    const res = await api.get('/after-idle');
    expect(res.data).toBe('ok');
    const info = attemptOf(res)!;
    expect(info.attempt).toBe(2);
    expect(info.history).toEqual([expect.objectContaining({ kind: 'stale-socket', code: NO_ANSWER, delayMs: 0 })]);
    expect(info.history[0]!.reusedSocket).toBe(true);
    expect(info.history[0]!.durationMs).toBeGreaterThanOrEqual(FAST.expert.noAnswerMs - 5);
    expect(guard.stats().failures['stale-socket']).toBe(1);
    // learned as from a reset (400 ms idle is under the 500 ms plausibility line: not yet)
    expect(guard.stats().origins[hole.url]!.staleResets).toBe(1);
  });

  it('a keyed POST is resent and applied once; an unkeyed POST waits out its timeout, applied never', async () => {
    const hole = await blackHole();
    const { api } = guarded(hole.url, FAST);
    await api.get('/warm');
    await pause(400);
    const keyed = await api.post('/ledger?id=keyed', 'x', { headers: { 'Idempotency-Key': 'k-1' } });
    expect(attemptOf(keyed)!.attempt).toBe(2);
    expect(hole.applied.get('keyed')).toBe(1);

    await pause(400);
    const error = await failure(api.post('/ledger?id=plain', 'x', { timeout: 800 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(attemptOf(error)!.attempt).toBe(1);
    expect(classify(error)).toMatchObject({ kind: 'timeout', reusedSocket: true, responseStarted: false });
    expect(failureOf(error)!.reason).toMatch(/^no answer on a long-idle reused connection \(idle \d+ ms\): /);
    expect(hole.applied.get('plain')).toBeUndefined();
  });

  it('a slow server on a long-idle socket costs a resend (the price of the rule); noAnswerMs 0 turns it off', async () => {
    let calls = 0;
    const server = await serve(
      startHttpServer({
        record: false,
        handler: (_req, res) => {
          calls += 1;
          // the first request answers at once, the others after 600 ms (> noAnswerMs)
          setTimeout(() => res.end('slow'), calls === 1 ? 0 : 600);
        },
      }),
    );
    const { api } = guarded(server.url, FAST);
    await api.get('/warm');
    await pause(300);
    const res = await api.get('/slow');
    expect(res.data).toBe('slow');
    expect(attemptOf(res)!.attempt).toBe(2);
    expect(calls).toBe(3);

    calls = 0;
    const off = guarded(server.url, { expert: { ...FAST.expert, noAnswerMs: 0 } }).api;
    await off.get('/warm');
    await pause(300);
    expect(attemptOf(await off.get('/slow'))!.attempt).toBe(1);
    expect(calls).toBe(2);
  });

  it('a socket reused after a short idle is not watched', async () => {
    const hole = await blackHole();
    // staleIdleMs far above any pause a slow machine could stretch 400 ms into
    const { api } = guarded(hole.url, { expert: { staleIdleMs: 60_000, noAnswerMs: 300 } });
    await api.get('/warm');
    await pause(400); // forgotten by the proxy, but idle under staleIdleMs: waits for its timeout
    const error = await failure(api.get('/short-idle', { timeout: 700 }));
    expect(error.code).toBe('ECONNABORTED');
    expect(attemptOf(error)!.attempt).toBe(1);
  });
});

describe('the watch gives up only what would be resent (real sockets)', () => {
  const { guarded, serve } = useFixtures();

  /** A server whose `/slow` answers after 600 ms (> noAnswerMs 300), with a POST ledger behind a 303. */
  async function slowServer(): Promise<{ url: string; calls: () => number; applied: () => number }> {
    let calls = 0;
    let applied = 0;
    const server = await serve(
      startHttpServer({
        record: false,
        handler: (req, res) => {
          calls += 1;
          if (req.method === 'POST') {
            applied += 1;
            res.writeHead(303, { location: '/slow' }).end();
            return;
          }
          setTimeout(() => res.end('slow'), req.url === '/slow' ? 600 : 0);
        },
      }),
    );
    return { url: server.url, calls: () => calls, applied: () => applied };
  }

  it('not with retries off, none left, or a per-request staleIdleMs above the idle', async () => {
    const server = await slowServer();
    const { api } = guarded(server.url, FAST);
    for (const resetGuard of [{ retries: 0 }, { retry: false }, { expert: { staleIdleMs: 60_000 } }]) {
      await api.get('/warm');
      await pause(300);
      const before = server.calls();
      const res = await api.get('/slow', { resetGuard });
      expect(res.data).toBe('slow');
      expect(attemptOf(res)!.attempt).toBe(1);
      expect(server.calls() - before).toBe(1);
    }
  });

  it('not a redirect hop: a POST answered with 303 whose GET is slow on an idle socket is applied once', async () => {
    const server = await slowServer();
    const { api } = guarded(server.url, FAST);
    // two pooled sockets, both idle past staleIdleMs: the POST takes one, the GET hop the other
    await Promise.all([api.get('/warm-1'), api.get('/warm-2')]);
    await pause(300);
    const res = await api.post('/submit', 'x');
    expect(res.data).toBe('slow');
    expect(attemptOf(res)!.attempt).toBe(1);
    expect(server.applied()).toBe(1);
  });

  it('a silent socket under a request that is not resent is not learned from; a black hole is', async () => {
    const server = await slowServer();
    const { api, guard } = guarded(server.url, { expert: { ...FAST.expert, staleIdleMs: 600 } });
    await api.get('/warm');
    await pause(700);
    // a slow server (600 ms) on a long-idle socket: given up at 300 ms, resent, slow again
    await api.get('/slow');
    expect(guard.stats().failures['stale-socket']).toBe(1);
    expect(guard.stats().learnedIdleLimits).toEqual({});
  });
});

describe('learning from a black hole (real sockets)', () => {
  const { guarded, serve } = useFixtures();

  it('once the resend answered, the origin learns, and the next request after the same idle goes out on a fresh socket', async () => {
    const server = await serve(startHttpServer({ record: false }));
    const proxy = await serve(startIdleDropProxy(server.port, 250, true));
    const { api, guard } = guarded(proxy.url, FAST);
    await api.get('/warm');
    await pause(600);
    expect(attemptOf(await api.get('/first-hole'))!.attempt).toBe(2);
    const [limit] = Object.values(guard.stats().learnedIdleLimits);
    expect(limit).toBeGreaterThanOrEqual(450); // 0.75 x at least 600 ms of idle
    // the resend's socket, freed before the answer confirmed the hole, got the limit too
    expect(guard.stats().origins[proxy.url]!.freeSocketTimeoutSource).toBe('learned');
    await pause(limit! + 300);
    expect(attemptOf(await api.get('/after-learning'))!.attempt).toBe(1);
    expect(guard.stats().failures['stale-socket']).toBe(1);
  });
});
