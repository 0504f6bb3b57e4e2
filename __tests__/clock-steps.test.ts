/**
 * A wall clock that steps (NTP, a VM resume, a test that mocks `Date`): `Date.now` jumps
 * +5 s or -60 s between requests on a reused keep-alive socket (127.0.0.1). Durations (idle
 * times, learning, the budget's spells, deadlines) must not move with it; a server-side
 * ledger counts what the server applied. Outcomes are asserted, never wall time.
 */
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import axios, { type AxiosInstance } from 'axios';
import { attach, attemptOf, failureOf, type Guard, type GuardOptions } from '../src';
import { RetryBudget } from '../src/budget';
import { DEFAULTS } from '../src/normalize';
import { failure } from './support/failure';

const realNow = Date.now;
let offset = 0;

/** Steps the wall clock (`Date.now`) by `ms`; the monotonic clock and timers go on as before. */
function stepWallClock(ms: number): void {
  offset += ms;
}

const pause = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, body: string, nth: number) => void;

interface Ledger {
  readonly url: string;
  readonly origin: string;
  /** Bodies of the requests the server applied. */
  readonly applied: string[];
  /** Requests the server saw, all connections together. */
  hits: number;
}

const servers: http.Server[] = [];
const guards: Guard[] = [];

/** A node:http server on 127.0.0.1; `nth` is the request's place on its connection (1, 2, ...). */
async function serve(handler: Handler): Promise<Ledger> {
  const perSocket = new WeakMap<Socket, number>();
  const server = http.createServer((req, res) => {
    const nth = (perSocket.get(req.socket) ?? 0) + 1;
    perSocket.set(req.socket, nth);
    ledger.hits += 1;
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk: string) => (body += chunk));
    req.on('end', () => handler(req, res, body, nth));
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const ledger: Ledger = {
    url: `http://127.0.0.1:${port}`,
    origin: `http://127.0.0.1:${port}`,
    applied: [],
    hits: 0,
  };
  return ledger;
}

function guarded(url: string, options: GuardOptions = {}): { api: AxiosInstance; guard: Guard } {
  const api = axios.create({ baseURL: url });
  const guard = attach(api, options);
  guards.push(guard);
  return { api, guard };
}

beforeEach(() => {
  offset = 0;
  jest.spyOn(Date, 'now').mockImplementation(() => realNow() + offset);
});

afterEach(async () => {
  jest.restoreAllMocks();
  for (const guard of guards.splice(0)) {
    guard.detach();
    guard.agents.http?.destroy();
    guard.agents.https?.destroy();
  }
  await Promise.all(
    servers.splice(0).map(
      (server) =>
        new Promise<void>((resolve) => {
          server.closeAllConnections();
          server.close(() => resolve());
        }),
    ),
  );
});

describe('a wall clock that steps', () => {
  it('(a) +5 s: a POST applied on a socket idle ~20 ms, then reset, is not resent', async () => {
    const server = await serve((req, res, body) => {
      if (req.method !== 'POST') return void res.end('warm');
      server.applied.push(body); // committed, then the connection is reset before any answer
      req.socket.resetAndDestroy();
    });
    const { api, guard } = guarded(server.url);
    await api.get('/warm');
    await pause(20); // the socket is back in the pool, stamped
    stepWallClock(5000);
    const error = await failure(api.post('/orders', { id: 1 }));
    expect(server.applied).toEqual(['{"id":1}']);
    const { classification } = failureOf(error)!;
    expect(classification.reusedSocket).toBe(true);
    // it idled far less than staleIdleMs: the server may have applied it, as it did
    expect(classification.idleMs).toBeLessThan(DEFAULTS.staleIdleMs);
    expect(guard.stats().attempts).toBe(2); // the GET and the one POST
  });

  it('(b) -60 s: a stale reset after ~600 ms idle still teaches a limit from 600 ms, shown at wall time', async () => {
    // the second request on any connection meets a server that forgot it: reset, no answer
    const server = await serve((req, res, _body, nth) => {
      if (nth > 1) return void req.socket.resetAndDestroy();
      server.applied.push(req.url ?? '');
      res.end('ok');
    });
    const { api, guard } = guarded(server.url);
    await api.get('/warm');
    await pause(600); // plausible idle (>= 500 ms): learned from one reset
    stepWallClock(-60_000);
    const before = Date.now();
    const res = await api.get('/again');
    const after = Date.now();
    expect(res.data).toBe('ok');
    expect(server.applied).toEqual(['/warm', '/again']);
    const [stale] = attemptOf(res)!.history;
    expect(stale).toMatchObject({ kind: 'stale-socket', reusedSocket: true });
    expect(stale!.idleMs).toBeGreaterThanOrEqual(500);
    const limit = Math.floor(stale!.idleMs! * 0.75);
    const stats = guard.stats();
    expect(stats.learnedIdleLimits).toEqual({ [server.origin]: limit });
    expect(stats.origins[server.origin]).toMatchObject({
      staleResets: 1,
      freeSocketTimeout: limit,
      freeSocketTimeoutSource: 'learned',
    });
    // shown in wall time: the time the reset happened, as Date.now() read it then
    const shown = stats.origins[server.origin]!.lastResetAt!;
    expect(shown).toBeGreaterThanOrEqual(before);
    expect(shown).toBeLessThanOrEqual(after);
    expect(stats.origins[server.origin]!.lastLearnedAt).toBe(shown);
    // a leap past the recovery and forgetting spans (10 min) recovers nothing, forgets nothing
    stepWallClock(600_000);
    expect(guard.stats().learnedIdleLimits).toEqual({ [server.origin]: limit });
  });

  it('(c) the retry budget: a step neither adds tokens nor bends the exhausted spell it reports', () => {
    const sizes = { capacity: 10, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 };
    for (const step of [-60_000, 5000]) {
      const budget = new RetryBudget(sizes); // the real default clock
      budget.withdraw(10);
      expect(budget.refuse()).toBe(true);
      stepWallClock(step);
      // a step forward refills nothing: only successes do, back or forward
      expect(budget.available).toBe(0);
      expect(budget.onSuccess(0)).toBeUndefined();
      expect(budget.available).toBe(1);
      for (let i = 0; i < 3; i += 1) budget.onSuccess(0);
      const recovery = budget.onSuccess(0);
      expect(budget.available).toBe(5);
      // the spell lasted a few ms of this test: neither negative nor the step's length
      expect(recovery).toMatchObject({ refused: 1 });
      expect(recovery!.exhaustedMs).toBeGreaterThanOrEqual(0);
      expect(recovery!.exhaustedMs).toBeLessThan(Math.abs(step));
    }
  });

  // The deadline is measured on the monotonic clock (state.ts): a step back cannot extend it.
  it('(d) -60 s during a request with deadlineMs: 1000: it still ends by its deadline', async () => {
    const server = await serve((req) => {
      if (server.hits === 1) stepWallClock(-60_000);
      req.socket.resetAndDestroy();
    });
    // many retries with short backoff: only the deadline can end it before they run out
    const { api } = guarded(server.url, { deadlineMs: 1000, retries: 30, baseDelayMs: 50, maxDelayMs: 100 });
    const error = await failure(api.get('/slow'));
    expect(failureOf(error)!.reason).toMatch(/^deadline of 1000 ms reached/);
  });
});
