/**
 * Real reverse proxies from the system's packages, nginx (`keepalive_timeout 1s`) and
 * HAProxy (`timeout http-keep-alive 1s`), in front of a local Node server. Requests are
 * spaced across the proxies' idle limit, many of them right at 1 s, where the proxy's FIN
 * can still be in flight when the client writes its next request onto the pooled socket.
 *
 * A missing binary skips its test, saying which, except under CI=true where it fails
 * (`.ci/run` installs both with apt-get).
 *
 * Outcomes are asserted (statuses, bodies, the guard's counters), never wall time. How often
 * a plain client loses the race is recorded and printed, not asserted: it depends on timing.
 */
import axios, { type AxiosInstance } from 'axios';
import HttpAgent from 'agentkeepalive';
import { createClient, type Guard, type GuardedInstance } from '../src';
import {
  findBinary,
  pause,
  startHaproxy,
  startHttpServer,
  startNginx,
  type Closeable,
  type ProxyName,
  type ProxyOptions,
  watched,
} from '../testbed';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

const CI = process.env.CI === 'true';

// Gaps in ms between a response and the next request on the same client: under the limit,
// over it, and mostly right at it (the race). About 12 s in all.
const GAPS = [900, 1300, 998, 996, 999, 997, 1000, 995, 998, 996, 999, 1001];
// When the timer fires, the client's event loop stays busy this long before sending, as in
// a loaded process: a FIN that arrives meanwhile is not read before the request is written
// on the socket. Without it the race window is only axios's own dispatch (~0.3 ms).
const LOOP_LAG_MS = 4;
// The clients start this far apart, so that none of them delays another's send.
const STAGGER_MS = 350;

const STARTERS = { nginx: startNginx, haproxy: startHaproxy } as const;

const open: Closeable[] = [];
const guards: Guard[] = [];
const agents: HttpAgent[] = [];
afterEach(async () => {
  for (const guard of guards.splice(0)) guard.detach();
  for (const agent of agents.splice(0)) agent.destroy();
  // the proxies first: they hold connections to the upstream server
  for (const closeable of open.splice(0).reverse()) await closeable.close();
});

/** Each response names the path it answers, so a body can be matched to its request. */
async function upstream(): Promise<Closeable & { hits: number; connections: number }> {
  const server = await startHttpServer({
    record: false,
    handler: (req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ path: req.url }));
    },
  });
  open.push(server);
  return server;
}

async function proxy(name: ProxyName, binary: string, upstreamPort: number, options?: ProxyOptions) {
  const started = await STARTERS[name](binary, upstreamPort, options);
  open.push(started);
  return started;
}

interface Outcome {
  ok: number;
  /** Requests whose body did not name their own path. */
  wrongBodies: number;
  statuses: number[];
  /** Error codes of failed requests. */
  errors: string[];
  keepAliveHeaders: (string | undefined)[];
}

function busy(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // a synchronous task holding the event loop
  }
}

/** One request, then one more after each gap (`progress()` after each); every outcome is collected, none thrown. */
async function paced(
  api: AxiosInstance,
  label: string,
  gaps: readonly number[],
  progress: () => void,
  delay = 0,
): Promise<Outcome> {
  if (delay > 0) await pause(delay);
  const outcome: Outcome = { ok: 0, wrongBodies: 0, statuses: [], errors: [], keepAliveHeaders: [] };
  for (let i = 0; i <= gaps.length; i += 1) {
    if (i > 0) {
      await pause(gaps[i - 1]!);
      busy(LOOP_LAG_MS);
    }
    const path = `/${label}/${i}`;
    try {
      const res = await api.get<{ path: string }>(path);
      outcome.statuses.push(res.status);
      outcome.keepAliveHeaders.push(res.headers['keep-alive'] as string | undefined);
      if (res.status === 200 && res.data.path === path) outcome.ok += 1;
      else outcome.wrongBodies += 1;
    } catch (error) {
      outcome.errors.push(axios.isAxiosError(error) ? String(error.code) : String(error));
    }
    progress();
  }
  return outcome;
}

/** Unguarded: axios over an agentkeepalive agent as commonly configured, no retry. */
function plainClient(baseURL: string): AxiosInstance {
  const agent = new HttpAgent({ keepAlive: true, freeSocketTimeout: 4000, timeout: 0 });
  agents.push(agent);
  return axios.create({ baseURL, httpAgent: agent });
}

function guardedClient(baseURL: string, learnIdleLimits?: boolean): GuardedInstance {
  const client = createClient(learnIdleLimits === undefined ? undefined : { expert: { learnIdleLimits } }, { baseURL });
  guards.push(client.guard);
  return client;
}

const warned = new Set<ProxyName>();

/**
 * Skipped with the reason when the binary is missing; under CI=true, a failing test instead.
 * The test fails when no request settles for the watchdog's stall limit, not after a fixed
 * time: a busy machine only makes it longer.
 */
function withBinary(
  name: ProxyName,
  title: string,
  body: (binary: string, progress: () => void) => Promise<void>,
): void {
  const binary = findBinary(name);
  if (binary !== undefined) {
    it(title, () => watched((progress) => body(binary, progress)), WATCHED_TIMEOUT_MS);
  } else if (CI) {
    it(`${title} (${name} is required under CI=true)`, () => {
      throw new Error(`${name} not found in PATH or /usr/sbin; .ci/run installs it with apt-get`);
    });
  } else {
    const reason = `the ${name} binary is missing (not in PATH or /usr/sbin; apt-get install ${name})`;
    if (!warned.has(name)) console.warn(`proxies.test.ts: skipping the ${name} tests: ${reason}`);
    warned.add(name);
    it.skip(`${title} (skipped: ${reason})`, () => undefined);
  }
}

describe.each(['nginx', 'haproxy'] as const)('%s with a 1 s keep-alive idle limit', (name) => {
  withBinary(
    name,
    'requests spaced across the idle limit all succeed with the guard; plain axios races the close',
    async (binary, progress) => {
      const server = await upstream();
      const front = await proxy(name, binary, server.port, { keepAliveTimeout: '1s' });

      const plain = plainClient(front.url);
      const guarded = guardedClient(front.url);
      const blind = guardedClient(front.url, false); // no learning: meets every race
      const [p, g, b] = await Promise.all([
        paced(plain, 'plain', GAPS, progress),
        paced(guarded, 'guard', GAPS, progress, STAGGER_MS),
        paced(blind, 'blind', GAPS, progress, 2 * STAGGER_MS),
      ]);
      const total = GAPS.length + 1;

      for (const outcome of [g, b]) {
        expect(outcome.errors).toEqual([]);
        expect(outcome.wrongBodies).toBe(0);
        expect(outcome.ok).toBe(total);
      }
      // a plain client's failures are stale keep-alive sockets, nothing else
      expect(p.ok + p.errors.length).toBe(total);
      expect(p.wrongBodies).toBe(0);
      for (const code of p.errors) expect(['ECONNRESET', 'EPIPE']).toContain(code);

      // nginx drops the upstream's Keep-Alive header; HAProxy forwards the upstream's hint
      // (Node: timeout=60), which says nothing of its own 1 s limit
      const hints = new Set([...g.keepAliveHeaders, ...b.keepAliveHeaders]);
      expect([...hints]).toEqual([name === 'nginx' ? undefined : 'timeout=60']);

      const stats = guarded.guard.stats();
      const blindStats = blind.guard.stats();
      for (const s of [stats, blindStats]) {
        expect(s).toMatchObject({ requests: total, gaveUp: 0 });
        // every failed attempt was a stale pooled socket, resent at once and recovered
        const stale = s.resets['stale-socket'];
        expect(s.attempts).toBe(total + stale);
        expect(s.retries).toBe(stale);
        expect(s.recovered).toBe(stale);
        expect(Object.values(s.failures).reduce((x, y) => x + y, 0)).toBe(stale);
        const [origin] = Object.values(s.origins);
        expect(origin?.staleResets ?? 0).toBe(stale);
      }
      // learning: after the first race, free sockets retire before the proxy's limit
      const learned = Object.values(stats.learnedIdleLimits);
      const stale = stats.resets['stale-socket'];
      if (stale > 0) {
        expect(learned).toHaveLength(1);
        expect(learned[0]).toBeLessThan(1000);
        expect(Object.values(stats.origins)[0]).toMatchObject({ freeSocketTimeoutSource: 'learned' });
      } else {
        expect(learned).toEqual([]);
      }
      expect(stale).toBeLessThanOrEqual(2);
      expect(Object.values(blindStats.learnedIdleLimits)).toEqual([]);

      console.info(
        `${name} (1 s idle limit), ${total} requests per client at gaps ${GAPS.join(',')} ms + ${LOOP_LAG_MS} ms of loop lag: ` +
          `plain axios+agentkeepalive failed ${p.errors.length} (${p.errors.join(',') || 'none'}); ` +
          `guard (defaults) ${stale} stale resets, all recovered, learned idle limit ${learned.join(',') || 'none'} ms; ` +
          `guard without learning ${blindStats.resets['stale-socket']} stale resets, all recovered; ` +
          `upstream connections ${server.connections}`,
      );
    },
  );
});

describe('nginx announcing its limit (keepalive_timeout 1s 1s: Keep-Alive: timeout=1)', () => {
  withBinary(
    'nginx',
    'a 1 s hint leaves no safe reuse: every request gets a fresh connection, no race',
    async (binary, progress) => {
      const server = await upstream();
      const front = await proxy('nginx', binary, server.port, { keepAliveTimeout: '1s', keepAliveHeaderTimeout: '1s' });
      const guarded = guardedClient(front.url);
      const gaps = [1000, 998, 996, 300];
      const outcome = await paced(guarded, 'hinted', gaps, progress);
      expect(outcome).toMatchObject({ ok: gaps.length + 1, errors: [], wrongBodies: 0 });
      expect(new Set(outcome.keepAliveHeaders)).toEqual(new Set(['timeout=1']));
      const stats = guarded.guard.stats();
      expect(stats.resets['stale-socket']).toBe(0);
      expect(stats.retries).toBe(0);
      // Node's agent refuses to pool a socket whose hint is 1 s or less
      expect(stats.agents.http!.createdSockets).toBe(gaps.length + 1);
    },
  );
});
