/** Keep-alive that stays fresher than the far side: server hints and learned idle limits. */
import axios from 'axios';
import { attach, type Guard } from '../src';
import { hintedFreeSocketTimeout, learnedIdleLimit, LEARNED_FLOOR_MS, parseKeepAlive } from '../src/internals';
import { pause, startHttpServer, startIdleDropProxy, watched, type Closeable } from '../testbed';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

describe('parseKeepAlive / hintedFreeSocketTimeout (pure)', () => {
  it('reads timeout and max, ignoring junk', () => {
    expect(parseKeepAlive('timeout=5, max=100')).toEqual({ timeoutSeconds: 5, max: 100 });
    expect(parseKeepAlive('Timeout=2')).toEqual({ timeoutSeconds: 2, max: undefined });
    expect(parseKeepAlive('timeout=-3, max=abc, foo')).toEqual({ timeoutSeconds: undefined, max: undefined });
    expect(parseKeepAlive('timeout=99999999999')).toEqual({ timeoutSeconds: undefined, max: undefined });
    expect(parseKeepAlive(undefined)).toEqual({ timeoutSeconds: undefined, max: undefined });
  });

  it('keeps one second under the hint and never exceeds the configured timeout', () => {
    expect(hintedFreeSocketTimeout(4000, undefined)).toBe(4000);
    expect(hintedFreeSocketTimeout(4000, 2)).toBe(1000);
    expect(hintedFreeSocketTimeout(4000, 3)).toBe(2000);
    expect(hintedFreeSocketTimeout(4000, 75)).toBe(4000);
    expect(hintedFreeSocketTimeout(4000, 1)).toBe(0);
    expect(hintedFreeSocketTimeout(4000, 0)).toBe(0);
  });

  it('learns a limit a quarter below the idle time that met a stale socket, with a floor', () => {
    expect(learnedIdleLimit(700)).toBe(525);
    expect(learnedIdleLimit(10_000)).toBe(7500);
    expect(learnedIdleLimit(100)).toBe(LEARNED_FLOOR_MS);
  });
});

describe('real sockets', () => {
  const open: Closeable[] = [];
  const guards: Guard[] = [];
  afterEach(async () => {
    for (const g of guards.splice(0)) g.detach();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  async function run(
    keepAliveHints: boolean,
    progress: () => void,
  ): Promise<{ resets: number; statuses: number[]; source: string | undefined }> {
    // the server announces timeout=2; a firewall in front forgets connections idle > 1.2 s
    const server = await startHttpServer({
      handler: (_req, res) => {
        res.setHeader('keep-alive', 'timeout=2');
        res.end('ok');
      },
    });
    const proxy = await startIdleDropProxy(server.port, 1200);
    open.push(server, proxy);
    const api = axios.create({ baseURL: proxy.url });
    const guard = attach(api, { keepAliveHints, learnIdleLimits: false });
    guards.push(guard);
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await api.get('/')).status);
      progress();
      if (i < 2) await pause(1400);
    }
    const [origin] = Object.values(guard.stats().origins);
    return { resets: proxy.resets, statuses, source: origin?.freeSocketTimeoutSource };
  }

  it(
    'with the hint, sockets retire before the 1.2 s firewall drop: no resets; without it, resets',
    async () => {
      // a watchdog on each request, not a limit on the run: a busy machine only makes it longer
      const [hinted, ignored] = await watched((progress) => Promise.all([run(true, progress), run(false, progress)]));
      expect(hinted).toEqual({ resets: 0, statuses: [200, 200, 200], source: 'hint' });
      // the guard still recovers every stale socket, but each one was a reset
      expect(ignored.statuses).toEqual([200, 200, 200]);
      expect(ignored.resets).toBeGreaterThanOrEqual(1);
    },
    WATCHED_TIMEOUT_MS,
  );

  async function silentDrop(
    learnIdleLimits: boolean,
    progress: () => void,
  ): Promise<{ resets: number; ok: number; guard: Guard }> {
    // no hint reaches the client (the server sends none), the firewall forgets after 600 ms
    const server = await startHttpServer({ keepAliveTimeout: 0 });
    const proxy = await startIdleDropProxy(server.port, 600);
    open.push(server, proxy);
    const api = axios.create({ baseURL: proxy.url });
    const guard = attach(api, { learnIdleLimits });
    guards.push(guard);
    let ok = 0;
    for (let i = 0; i < 10; i += 1) {
      if ((await api.get('/')).status === 200) ok += 1;
      progress();
      if (i < 9) await pause(700);
    }
    return { resets: proxy.resets, ok, guard };
  }

  it(
    'learning: behind a silent 600 ms drop, at most 2 stale resets in 10 requests, then none',
    async () => {
      const [learning, blind] = await watched((progress) =>
        Promise.all([silentDrop(true, progress), silentDrop(false, progress)]),
      );
      expect(learning.ok).toBe(10);
      expect(learning.resets).toBeLessThanOrEqual(2);
      const limits = Object.values(learning.guard.stats().learnedIdleLimits);
      expect(limits).toHaveLength(1);
      expect(limits[0]).toBeLessThan(600);
      const [origin] = Object.values(learning.guard.stats().origins);
      expect(origin).toMatchObject({ freeSocketTimeoutSource: 'learned', freeSocketTimeout: limits[0] });
      expect(origin!.staleResets).toBe(learning.resets);
      expect(Object.values(blind.guard.stats().origins)[0]).toMatchObject({
        freeSocketTimeoutSource: 'default',
        freeSocketTimeout: 4000,
      });
      // without learning every reuse after 700 ms idle meets a forgotten connection
      expect(blind.ok).toBe(10);
      expect(blind.resets).toBeGreaterThan(learning.resets);
    },
    WATCHED_TIMEOUT_MS,
  );

  it('max=M: a socket is not reused after M responses', async () => {
    const server = await startHttpServer({
      handler: (_req, res) => {
        res.setHeader('keep-alive', 'timeout=60, max=2');
        res.end('ok');
      },
    });
    open.push(server);
    const api = axios.create({ baseURL: server.url });
    const guard = attach(api);
    guards.push(guard);
    for (let i = 0; i < 4; i += 1) await api.get('/');
    expect(server.connections).toBe(2);
    expect(guard.stats().gaveUp).toBe(0);
  });
});

describe('agent limits (real sockets)', () => {
  const open: Closeable[] = [];
  const guards: Guard[] = [];
  afterEach(async () => {
    for (const g of guards.splice(0)) g.detach();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('maxSockets caps connections per origin; socketLifetime rotates old sockets', async () => {
    const server = await startHttpServer();
    open.push(server);
    const capped = axios.create({ baseURL: server.url });
    guards.push(attach(capped, { maxSockets: 1 }));
    await Promise.all([1, 2, 3, 4].map((i) => capped.get(`/c${i}`)));
    expect(server.connections).toBe(1);

    const rotating = axios.create({ baseURL: server.url });
    guards.push(attach(rotating, { socketLifetime: 100 }));
    await rotating.get('/r1');
    await pause(150);
    await rotating.get('/r2');
    // one connection from the capped client, then two: the first socket outlived 100 ms
    expect(server.connections).toBe(3);
  });
});
