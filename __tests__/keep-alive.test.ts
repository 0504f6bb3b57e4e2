/** Keep-alive that stays fresher than the far side: server hints and learned idle limits. */
import axios, { type AxiosInstance } from 'axios';
import { attach, CHANNELS, type Guard, type GuardOptions } from '../src';
import { spawnSync } from 'node:child_process';
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import https from 'node:https';
import { join } from 'node:path';
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import {
  CORROBORATE_MS,
  FORGET_AFTER_MS,
  hintedFreeSocketTimeout,
  learnedIdleLimit,
  LEARNED_FLOOR_MS,
  MAX_ORIGINS,
  noteHint,
  OriginMemory,
  parseKeepAlive,
  RECOVER_AFTER_MS,
  stampOf,
} from '../src/internals';
import {
  pause,
  startHttpServer,
  startIdleDropProxy,
  startTlsServer,
  testCertificate,
  watched,
  type Closeable,
} from '../testbed';
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

describe('OriginMemory (a deterministic clock, stand-in agents and sockets)', () => {
  let now = 1_000_000;
  const clock = (): number => now;
  const budget = { capacity: 10, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 };
  const memory = (): OriginMemory => new OriginMemory({ configuredMs: 4000, learn: true, budget, now: clock });

  function agentFor(host: string, port = 80): Agent {
    return Object.assign(new EventEmitter(), {
      protocol: 'http:',
      defaultPort: 80,
      freeSockets: {},
      getName: (o: { host?: string; port?: number }) => `${o.host}:${o.port}:`,
      host,
      port,
    }) as unknown as Agent;
  }

  /** A socket going free on `agent`, after a response with this Keep-Alive header. */
  function free(agent: Agent, keepAlive?: string): Socket {
    const socket = Object.assign(new EventEmitter(), {
      bytesRead: 0,
      timeout: 0,
      setTimeout(ms: number) {
        socket.timeout = ms;
      },
      destroy: () => undefined,
      _httpMessage: { res: { headers: keepAlive === undefined ? {} : { 'keep-alive': keepAlive } } },
    });
    noteHint(socket as unknown as Socket, 4000);
    const { host, port } = agent as unknown as { host: string; port: number };
    agent.emit('free', socket, { host, port });
    return socket as unknown as Socket;
  }

  /** A stale reset on a socket of `agent` that idled `idleMs`. */
  function staleAfter(m: OriginMemory, agent: Agent, idleMs: number): void {
    const stamp = stampOf(free(agent));
    now += idleMs;
    m.onStaleSocket(agent, stamp!, idleMs);
  }

  it('learns at once from a plausible idle; a short one needs a second within CORROBORATE_MS', () => {
    const m = memory();
    const a = agentFor('a.test');
    const b = agentFor('b.test');
    m.track(a, true);
    m.track(b, true);
    staleAfter(m, a, 700);
    expect(m.learnedLimits()).toEqual({ 'http://a.test:80': 525 });
    staleAfter(m, b, 50);
    expect(m.learnedLimits()['http://b.test:80']).toBeUndefined();
    now += CORROBORATE_MS + 1; // too late to corroborate: it starts over
    staleAfter(m, b, 60);
    expect(m.learnedLimits()['http://b.test:80']).toBeUndefined();
    staleAfter(m, b, 80);
    expect(m.learnedLimits()['http://b.test:80']).toBe(LEARNED_FLOOR_MS);
    expect(m.factsOf('http://b.test:80')).toMatchObject({ staleResets: 3, lastResetAt: now, lastLearnedAt: now });
  });

  it('one restart that resets many pooled sockets at once is one witness, not two', () => {
    const m = memory();
    const a = agentFor('a.test');
    m.track(a, true);
    // four sockets idle since the same moment, all reset by one restart 300 ms later
    const stamps = [free(a), free(a), free(a), free(a)].map((s) => stampOf(s)!);
    now += 300;
    for (const dead of stamps) m.onStaleSocket(a, dead, 300);
    expect(m.learnedLimits()).toEqual({});
    // a socket that went idle after that, and dies short again: now it is learned
    staleAfter(m, a, 320);
    expect(m.learnedLimits()).toEqual({ 'http://a.test:80': LEARNED_FLOOR_MS });
  });

  it('a learned limit doubles every RECOVER_AFTER_MS without a stale reset, then gives way to the default', () => {
    const m = memory();
    const a = agentFor('a.test');
    m.track(a, true);
    staleAfter(m, a, 1000);
    const origin = 'http://a.test:80';
    expect(m.factsOf(origin).timeout).toEqual({ ms: 750, source: 'learned' });
    expect(free(a).timeout).toBe(750); // applied to sockets going free
    now += RECOVER_AFTER_MS;
    expect(m.factsOf(origin).timeout).toEqual({ ms: 1500, source: 'learned' });
    now += RECOVER_AFTER_MS;
    expect(m.factsOf(origin).timeout.ms).toBe(3000);
    // a stale reset on the way up brings it down again, and its recovery starts over
    staleAfter(m, a, 2800);
    expect(m.factsOf(origin).timeout.ms).toBe(2100);
    now += 2 * RECOVER_AFTER_MS;
    expect(m.factsOf(origin).timeout).toEqual({ ms: 4000, source: 'default' });
    expect(m.learnedLimits()).toEqual({});
    expect(free(a).timeout).toBe(0); // nothing applied: agentkeepalive's own value stands
  });

  it('forgets origins not heard of for FORGET_AFTER_MS, and holds at most MAX_ORIGINS', () => {
    const m = memory();
    for (let i = 0; i < 300; i += 1) {
      const agent = agentFor(`h${i}.test`);
      const undo = m.track(agent, true);
      free(agent, 'timeout=5');
      undo();
    }
    expect(m.origins()).toHaveLength(300);
    now += FORGET_AFTER_MS - 1;
    expect(m.origins()).toHaveLength(300);
    now += 1;
    expect(m.origins()).toHaveLength(0);
    for (let i = 0; i < MAX_ORIGINS + 200; i += 1) m.budgetOf(`http://many${i}.test:80`);
    expect(m.origins()).toHaveLength(MAX_ORIGINS);
    // the least recently heard of went first
    expect(m.origins()[0]).toBe('http://many200.test:80');
    expect(m.hasBudgets).toBe(true);
    now += FORGET_AFTER_MS;
    expect(m.origins()).toHaveLength(0);
    expect(m.hasBudgets).toBe(false);
  });

  it('gives each origin its own budget, full until a failure first uses it', () => {
    const m = memory();
    expect(m.hasBudgets).toBe(false);
    expect(m.existingBudgetOf('http://a.test:80')).toBeUndefined();
    const a = m.budgetOf('http://a.test:80')!;
    a.withdraw(10);
    expect(m.budgetOf('http://a.test:80')).toBe(a);
    expect(m.budgetOf('http://b.test:80')!.available).toBe(10);
    expect(m.factsOf('http://a.test:80').budget).toEqual({ tokens: 0, capacity: 10, refused: 0 });
    expect(new OriginMemory({ configuredMs: 4000, learn: true, budget: false }).budgetOf('x')).toBeUndefined();
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
    const guard = attach(api, { expert: { keepAliveHints, learnIdleLimits: false } });
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
    const guard = attach(api, { expert: { learnIdleLimits } });
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

  /** A server that, like Apache, counts `max=` down: the requests a connection may still carry. */
  function countdownServer(allowance: number): Promise<Closeable & { connections: number }> {
    const served = new WeakMap<object, number>();
    return startHttpServer({
      record: false,
      handler: (req, res) => {
        const n = (served.get(req.socket) ?? 0) + 1;
        served.set(req.socket, n);
        if (n >= allowance) res.setHeader('connection', 'close');
        else res.setHeader('keep-alive', `timeout=60, max=${allowance - n}`);
        res.end('ok');
      },
    });
  }

  it('max=M counts the requests a connection may still carry: 100 GETs, 100 allowed, 1 connection', async () => {
    const server = await countdownServer(100);
    open.push(server);
    const api = axios.create({ baseURL: server.url });
    const guard = attach(api);
    guards.push(guard);
    for (let i = 0; i < 100; i += 1) await api.get('/');
    expect(server.connections).toBe(1);
    for (let i = 0; i < 50; i += 1) await api.get('/');
    expect(server.connections).toBe(2);
    expect(guard.stats().gaveUp).toBe(0);
    expect(guard.stats().retries).toBe(0);
  });

  /** A guarded client of a server that answers `max=0` and leaves the connection open. */
  async function maxZero(options: GuardOptions = {}): Promise<{ api: AxiosInstance; connections: () => number }> {
    const server = await startHttpServer({
      handler: (_req, res) => {
        res.setHeader('keep-alive', 'timeout=60, max=0');
        res.end('ok');
      },
    });
    open.push(server);
    const api = axios.create({ baseURL: server.url });
    guards.push(attach(api, options));
    return { api, connections: () => server.connections };
  }

  it('max=0 retires the connection also when a queued request is waiting for it (maxSockets 1)', async () => {
    const { api, connections } = await maxZero({ maxSockets: 1 });
    await Promise.all(Array.from({ length: 8 }, () => api.get('/')));
    expect(connections()).toBe(8);
  });

  it('max=0 retires the connection even when the server leaves it open', async () => {
    const { api, connections } = await maxZero();
    for (let i = 0; i < 3; i += 1) await api.get('/');
    expect(connections()).toBe(3);
  });

  /** `requests` GETs `gapMs` apart; the server resets the request numbers `resetAt` picks. */
  async function coincidence(
    requests: number,
    gapMs: (i: number) => number,
    resetAt: (n: number) => boolean,
    progress: () => void,
  ): Promise<{ connections: number; guard: Guard; ok: number }> {
    const server = await startHttpServer({ record: false, resetWhen: (_req, n) => resetAt(n) });
    open.push(server);
    const api = axios.create({ baseURL: server.url });
    const guard = attach(api);
    guards.push(guard);
    let ok = 0;
    for (let i = 0; i < requests; i += 1) {
      if (i > 0) await pause(gapMs(i));
      if ((await api.get('/')).status === 200) ok += 1;
      progress();
    }
    return { connections: server.connections, guard, ok };
  }

  it(
    'one coincidental reset after a short idle does not pin the origin: 8 GETs 400 ms apart on 2 connections',
    () =>
      watched(async (progress) => {
        // reset on reuse after 50 ms idle (a restart, not an idle timeout), then 400 ms gaps
        const { connections, guard, ok } = await coincidence(
          9,
          (i) => (i === 1 ? 50 : 400),
          (n) => n === 2,
          progress,
        );
        expect(ok).toBe(9);
        expect(guard.stats().failures['stale-socket']).toBe(1);
        expect(guard.stats().learnedIdleLimits).toEqual({});
        // before: every socket expired at the 250 ms floor, 9 connections
        expect(connections).toBe(2);
      }),
    WATCHED_TIMEOUT_MS,
  );

  it(
    'a server that resets once, on the second request: 10 GETs on 2 connections',
    () =>
      watched(async (progress) => {
        const { connections, guard, ok } = await coincidence(
          10,
          () => 300,
          (n) => n === 2,
          progress,
        );
        expect(ok).toBe(10);
        expect(guard.stats().retries).toBe(1);
        expect(connections).toBe(2);
      }),
    WATCHED_TIMEOUT_MS,
  );
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
    guards.push(attach(rotating, { expert: { socketLifetime: 100 } }));
    await rotating.get('/r1');
    await pause(150);
    await rotating.get('/r2');
    // one connection from the capped client, then two: the first socket outlived 100 ms
    expect(server.connections).toBe(3);
  });
});

describe('origin labels hold no secret (real TLS)', () => {
  const open: Closeable[] = [];
  const guards: Guard[] = [];
  afterEach(async () => {
    for (const g of guards.splice(0)) g.detach();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  it('an agent with a client key: stats() and reset events name https://host:port, never the pool name', async () => {
    // the third request's connection is reset as it arrives: a stale socket, retried
    const server = await startTlsServer(0, (n) => n === 3);
    open.push(server);
    // Node's pool name for this agent holds the whole client key and certificate text.
    const client = testCertificate();
    const agent = new https.Agent({ keepAlive: true, ca: server.ca, key: client.key, cert: client.cert });
    open.push({ port: 0, url: '', close: () => Promise.resolve(agent.destroy()) });
    expect(Object.keys(agent.freeSockets)).toEqual([]);
    const api = axios.create({ baseURL: server.url, httpsAgent: agent });
    const guard = attach(api);
    guards.push(guard);
    const events: unknown[] = [];
    const onReset = (message: unknown): void => void events.push(message);
    subscribe(CHANNELS.reset, onReset);
    try {
      await api.get('/');
      await api.get('/');
      expect(Object.keys(agent.freeSockets)[0]).toContain('PRIVATE KEY');
      await api.get('/');
    } finally {
      unsubscribe(CHANNELS.reset, onReset);
    }
    expect(events).toEqual([expect.objectContaining({ kind: 'stale-socket', origin: server.url })]);
    expect(guard.stats().origins[server.url]!.staleResets).toBe(1);
    const json = JSON.stringify({ stats: guard.stats(), events });
    expect(json).not.toContain('PRIVATE KEY');
    expect(json).not.toContain(client.key.split('\n')[1]!);
    expect(Object.keys(guard.stats().origins)).toEqual([server.url]);
  });
});

describe('shared agents', () => {
  it('one stamping listener per agent however many guards use it, and dropped guards are collected', () => {
    const script = join(__dirname, 'support', 'dropped-guards-child.ts');
    const run = spawnSync(process.execPath, ['--expose-gc', '-r', 'ts-node/register/transpile-only', script], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    const report = JSON.parse(run.stdout) as { before: number; after: number; alive: number };
    // 201 guards on one agent: one listener, not 201 (no MaxListenersExceededWarning either)
    expect(report.after).toBe(report.before + 1);
    expect(report.alive).toBe(0);
  });
});
