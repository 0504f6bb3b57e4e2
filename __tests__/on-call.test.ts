/**
 * What whoever is on call sees: the channels for a recovered request, a learned idle
 * limit, purged sockets, a retry budget exhausted and restored, the attempt tracing
 * channel, and the NODE_DEBUG lines (a 404 only under the verbose switch). With nock for
 * the wiring, a deterministic clock for the origin memory, then real sockets.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel';
import { EventEmitter } from 'node:events';
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import axios, { type AxiosResponse } from 'axios';
import nock from 'nock';
import {
  attemptOf,
  CHANNELS,
  type AttemptContext,
  type BudgetExhaustedEvent,
  type BudgetRestoredEvent,
  type Guard,
  type GuardOptions,
  type IdleLimitEvent,
  type PurgeEvent,
  type RecoveredEvent,
} from '../src';
import * as events from '../src/events';
import { noteHint, OriginMemory, stampOf } from '../src/internals';
import { pause, startHttpServer, startIdleDropProxy } from '../testbed';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';
import { ORIGIN, reset, rig, useNock } from './support/nock-rig';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { runWithDebug } from './support/user-project';

/** Collects what `names` publish while `run` runs, then unsubscribes. */
async function heard(names: readonly string[], run: () => Promise<void>): Promise<[string, unknown][]> {
  const seen: [string, unknown][] = [];
  const listeners = names.map((name) => [name, (message: unknown) => void seen.push([name, message])] as const);
  for (const [name, listener] of listeners) subscribe(name, listener);
  try {
    await run();
  } finally {
    for (const [name, listener] of listeners) unsubscribe(name, listener);
  }
  return seen;
}

const ON_CALL = [
  CHANNELS.recovered,
  CHANNELS.learned,
  CHANNELS.purge,
  CHANNELS.budgetExhausted,
  CHANNELS.budgetRestored,
] as const;

let guard: Guard | undefined;

describe('with nock', () => {
  useNock(() => guard);

  it('a recovered request: one frozen event, redacted, with the failures before it', async () => {
    let instance = axios.create();
    ({ instance, guard } = rig(ORIGIN, {}, { headers: { Authorization: 'Bearer s3cr3t' } }));
    nock(ORIGIN).get('/r').replyWithError(reset()).get('/r').reply(200, 'ok');
    let res: AxiosResponse | undefined;
    const events = await heard(ON_CALL, async () => {
      res = await instance.get('http://me:s3cr3t@api.test/r');
    });
    expect(events.map(([name]) => name)).toEqual([CHANNELS.recovered]);
    const event = events[0]![1] as RecoveredEvent;
    expect(Object.isFrozen(event) && Object.isFrozen(event.failures)).toBe(true);
    expect(event).toMatchObject({
      requestId: attemptOf(res)!.requestId,
      method: 'GET',
      url: 'http://[redacted]@api.test/r',
      attempts: 2,
      failures: [{ attempt: 1, kind: 'reset', code: 'ECONNRESET' }],
    });
    expect(event.durationMs).toBeGreaterThanOrEqual(0);
    expect(JSON.stringify(event)).not.toContain('s3cr3t');
  });

  it('a budget exhausted at its first refusal (once), restored at half its capacity, per origin', async () => {
    let instance = axios.create();
    ({ instance, guard } = rig(ORIGIN, { expert: { retryBudget: { capacity: 10, retryCost: 5 } } }));
    const events = await heard(ON_CALL, async () => {
      nock(ORIGIN).get('/down').times(4).replyWithError(reset());
      await failure(instance.get('/down')); // 2 retries spend the 10 tokens, the third is refused
      await failure(instance.get('/down')); // refused again: no second event
      nock(ORIGIN).get('/up').times(5).reply(200, 'ok');
      for (let i = 0; i < 5; i += 1) await instance.get('/up'); // 1 token each
    });
    expect(events.map(([name]) => name)).toEqual([CHANNELS.budgetExhausted, CHANNELS.budgetRestored]);
    const [exhausted, restored] = events.map(([, message]) => message) as [BudgetExhaustedEvent, BudgetRestoredEvent];
    expect(exhausted).toEqual({ origin: `${ORIGIN}:80`, tokens: 0, capacity: 10, cost: 5 });
    expect(restored).toMatchObject({ origin: `${ORIGIN}:80`, tokens: 5, capacity: 10, refused: 2 });
    expect(restored.exhaustedMs).toBeGreaterThanOrEqual(0);
    expect(Object.isFrozen(exhausted) && Object.isFrozen(restored)).toBe(true);
  });

  describe('the attempt tracing channel', () => {
    const trace = tracingChannel(CHANNELS.attempt);

    it('start, end, then error or asyncStart/asyncEnd for every attempt, stores bound while the adapter runs', async () => {
      const log: string[] = [];
      const contexts: AttemptContext[] = [];
      const store = new AsyncLocalStorage<number>();
      const inAdapter: (number | undefined)[] = [];
      const handlers = {
        start: (c: unknown) => {
          contexts.push(c as AttemptContext);
          log.push(`start ${(c as AttemptContext).attempt}`);
        },
        end: () => void log.push('end'),
        asyncStart: () => void log.push('asyncStart'),
        asyncEnd: (c: unknown) => void log.push(`asyncEnd ${'result' in (c as object) ? 'ok' : 'failed'}`),
        error: () => void log.push('error'),
      };
      trace.subscribe(handlers);
      trace.start.bindStore(store, (c) => (c as AttemptContext).attempt);
      let instance = axios.create();
      const http = axios.getAdapter('http');
      ({ instance, guard } = rig(
        ORIGIN,
        {},
        {
          headers: { Authorization: 'Bearer s3cr3t' },
          adapter: (config) => {
            inAdapter.push(store.getStore());
            return http(config);
          },
        },
      ));
      try {
        nock(ORIGIN).get('/t').replyWithError(reset()).get('/t').reply(200, 'ok');
        const res = await instance.get('/t');
        expect(log).toEqual([
          'start 1',
          'end',
          'error',
          'asyncStart',
          'asyncEnd failed',
          'start 2',
          'end',
          'asyncStart',
          'asyncEnd ok',
        ]);
        expect(inAdapter).toEqual([1, 2]);
        const [first, second] = contexts as [AttemptContext, AttemptContext];
        expect({ ...first }).toEqual({
          requestId: attemptOf(res)!.requestId,
          method: 'GET',
          url: `${ORIGIN}/t`,
          attempt: 1,
          maxAttempts: 4,
        });
        expect((first.error as { code?: string }).code).toBe('ECONNRESET');
        expect(second.result).toBe(res);
        expect(second.config.headers.Authorization).toBe('Bearer s3cr3t'); // there, not enumerable
        expect(JSON.stringify(contexts)).not.toContain('s3cr3t');
        expect(() => Object.assign(first, { attempt: 9 })).toThrow(TypeError); // read-only summary
      } finally {
        trace.unsubscribe(handlers);
        trace.start.unbindStore(store);
      }
    });

    it('is not entered while nobody subscribes: the gate is a few reads', async () => {
      const traced = jest.spyOn(events, 'traceAttempt');
      let instance = axios.create();
      ({ instance, guard } = rig(ORIGIN));
      try {
        nock(ORIGIN).get('/q').times(2).reply(200, 'ok');
        await instance.get('/q');
        expect(traced).not.toHaveBeenCalled();
        const start = (): void => undefined; // one plain subscriber on its start channel is enough
        subscribe(`tracing:${CHANNELS.attempt}:start`, start);
        await instance.get('/q');
        unsubscribe(`tracing:${CHANNELS.attempt}:start`, start);
        expect(traced).toHaveBeenCalledTimes(1);
      } finally {
        traced.mockRestore();
      }
    });
  });
});

describe('the origin memory (a deterministic clock, stand-in agents and sockets)', () => {
  let now = 1_000_000;
  const budget = { capacity: 10, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 };

  function agent(): Agent {
    return Object.assign(new EventEmitter(), {
      protocol: 'http:',
      defaultPort: 80,
      freeSockets: {},
      getName: () => 'a.test:80:',
    }) as unknown as Agent;
  }

  function free(a: Agent): Socket {
    const socket = Object.assign(new EventEmitter(), {
      bytesRead: 0,
      timeout: 0,
      setTimeout: () => undefined,
      destroy: () => undefined,
      _httpMessage: { res: { headers: {} } },
    }) as unknown as Socket;
    noteHint(socket, 4000);
    a.emit('free', socket, { host: 'a.test', port: 80 });
    return socket;
  }

  it('announces what taught each limit, and only a new or lower one', async () => {
    const memory = new OriginMemory({ configuredMs: 4000, learn: true, budget, now: () => now });
    const a = agent();
    memory.track(a, true);
    const events = await heard([CHANNELS.learned], () => {
      const first = stampOf(free(a))!;
      now += 2000;
      memory.onStaleSocket(a, first, 2000); // plausible: learned at once (1500)
      const again = stampOf(free(a))!;
      now += 2100;
      memory.onStaleSocket(a, again, 2100); // 1575 >= 1500: a confirmation, no event
      const short1 = stampOf(free(a))!;
      now += 300;
      memory.onStaleSocket(a, short1, 300); // short: waits for a second witness
      const short2 = stampOf(free(a))!;
      now += 400;
      memory.onStaleSocket(a, short2, 400); // agrees: the shorter idle counts
      const silent = stampOf(free(a))!;
      now += 200;
      memory.confirmBlackHole(a, silent, 200); // below the floor already reached: nothing
      return Promise.resolve();
    });
    expect(events.map(([, e]) => e)).toEqual<IdleLimitEvent[]>([
      { origin: 'http://a.test:80', limitMs: 1500, previousMs: undefined, idleMs: 2000, evidence: 'stale-socket' },
      { origin: 'http://a.test:80', limitMs: 250, previousMs: 1500, idleMs: 300, evidence: 'corroborated' },
    ]);
    const black = new OriginMemory({ configuredMs: 4000, learn: true, budget, now: () => now });
    const b = agent();
    black.track(b, true);
    const [[, taught]] = (await heard([CHANNELS.learned], () => {
      const silent = stampOf(free(b))!;
      now += 3000;
      black.confirmBlackHole(b, silent, 3000);
      return Promise.resolve();
    })) as [[string, IdleLimitEvent]];
    expect(taught).toMatchObject({ limitMs: 2250, idleMs: 3000, evidence: 'no-answer' });
  });
});

describe('on real sockets', () => {
  const { guarded, serve, track } = useFixtures();

  it('behind a firewall that forgets idle connections: the limit learned, the idle peer purged, stats with times', async () => {
    const origin = await serve(startHttpServer({ keepAliveTimeout: 60_000 }));
    const firewall = await startIdleDropProxy(origin.port, 300);
    track(firewall);
    const { api, guard } = guarded(firewall.url);
    await Promise.all([api.get('/a'), api.get('/b')]); // two pooled sockets
    expect(guard.stats().agents.http!.freeSockets).toBe(2);
    await pause(700); // both forgotten by the firewall, both idle at least 700 ms
    const before = Date.now();
    const events = await heard(ON_CALL, async () => {
      const res = await api.get('/c');
      expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['stale-socket']);
    });
    const label = firewall.url; // http://127.0.0.1:port, an origin label
    const byName = (name: string): unknown[] => events.filter(([n]) => n === name).map(([, e]) => e);
    const [purge] = byName(CHANNELS.purge) as [PurgeEvent];
    expect(purge).toMatchObject({ origin: label, purged: 1 });
    expect(purge.idleMs).toBeGreaterThanOrEqual(700);
    const [learned] = byName(CHANNELS.learned) as [IdleLimitEvent];
    expect(learned).toMatchObject({ origin: label, previousMs: undefined, evidence: 'stale-socket' });
    expect(learned.limitMs).toBe(Math.floor(learned.idleMs * 0.75));
    expect(byName(CHANNELS.recovered)).toHaveLength(1);
    const stats = guard.stats();
    expect(stats.purgedSockets).toBe(1);
    // resets are the reset kinds' entries of failures, not a second count
    expect(stats.resets['stale-socket']).toBe(1);
    expect(stats.failures['stale-socket']).toBe(1);
    expect(stats.learnedIdleLimits).toEqual({ [label]: learned.limitMs });
    expect(stats.origins[label]).toMatchObject({ staleResets: 1, freeSocketTimeoutSource: 'learned' });
    expect(stats.origins[label]!.lastResetAt).toBeGreaterThanOrEqual(before);
    expect(stats.origins[label]!.lastLearnedAt).toBe(stats.origins[label]!.lastResetAt);
  });

  it('a server down then up: its budget exhausted once, restored by successes', async () => {
    let down = true;
    const server = await serve(startHttpServer({ resetWhen: () => down, record: false }));
    const options: GuardOptions = { expert: { retryBudget: { capacity: 10, retryCost: 5 } } };
    const { api } = guarded(server.url, options);
    const events = await heard(ON_CALL, async () => {
      await failure(api.get('/down'));
      await failure(api.get('/down'));
      down = false;
      for (let i = 0; i < 5; i += 1) await api.get(`/up/${i}`);
    });
    expect(events.map(([name]) => name)).toEqual([CHANNELS.budgetExhausted, CHANNELS.budgetRestored]);
    expect(events[0]![1]).toEqual({ origin: server.url, tokens: 0, capacity: 10, cost: 5 });
    expect(events[1]![1]).toMatchObject({ origin: server.url, tokens: 5, refused: 2 });
  });
});

describe('NODE_DEBUG', () => {
  // a child process under ts-node (two in the second test): bounded by stalled output
  const CHILD_MS = WATCHED_TIMEOUT_MS;

  async function run(section: string): Promise<string[]> {
    const child = await runWithDebug('on-call-child.ts', section);
    expect(child.code).toBe(0);
    expect(child.output).not.toContain('s3cr3t');
    return child.lines;
  }

  it(
    'axios-reset-guard: retries, recoveries, learned limits, purges and the budget; no 404',
    async () => {
      const lines = (await run('axios-reset-guard')).map((l) => l.replace(/^AXIOS-RESET-GUARD \d+: /, ''));
      const expected = [
        /^GET http:\/\/127\.0\.0\.1:\d+\/recover attempt 1\/4 failed \(reset ECONNRESET\): retry in 0 ms, GET is idempotent$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/recover recovered at attempt 2\/4 after reset ECONNRESET, in \d+ ms$/,
        /^purged 1 idle socket\(s\) to http:\/\/127\.0\.0\.1:\d+: a peer idle \d+ ms was found dead$/,
        /^learned an idle limit of \d+ ms for http:\/\/127\.0\.0\.1:\d+: a pooled socket was found dead after \d+ ms idle$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/c attempt 1\/4 failed \(stale-socket ECONNRESET\): retry in 0 ms, GET is idempotent$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/c recovered at attempt 2\/4 after stale-socket ECONNRESET, in \d+ ms$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/down attempt 1\/4 failed \(reset ECONNRESET\): retry in 0 ms, GET is idempotent$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/down attempt 2\/4 failed \(reset ECONNRESET\): retry in 0 ms, GET is idempotent$/,
        /^retry budget exhausted for http:\/\/127\.0\.0\.1:\d+: 0 of 10 tokens left, a retry costs 5; no retries there until requests succeed$/,
        /^GET http:\/\/127\.0\.0\.1:\d+\/down attempt 3\/4 failed \(reset ECONNRESET\): no retry, retry budget exhausted \(0 tokens left, this retry costs 5\)$/,
        /^retry budget restored for http:\/\/127\.0\.0\.1:\d+: 5 of 10 tokens after \d+ ms; 1 retries refused meanwhile$/,
      ];
      expect(lines).toHaveLength(expected.length);
      lines.forEach((l, i) => expect(l).toMatch(expected[i]!));
    },
    CHILD_MS,
  );

  it(
    'axios-reset-guard-verbose alone prints the same and the failures the guard leaves alone (the 404)',
    async () => {
      const lines = await run('axios-reset-guard-verbose');
      expect(lines.every((l) => l.startsWith('AXIOS-RESET-GUARD-VERBOSE '))).toBe(true);
      expect(lines).toHaveLength(12);
      expect(lines[2]).toMatch(
        /\/missing attempt 1\/4 failed \(http-status ERR_BAD_REQUEST 404\): no retry, a status 404 is not retried$/,
      );
      // both sections: each line once
      expect(await run('axios-reset-guard,axios-reset-guard-verbose')).toHaveLength(12);
    },
    CHILD_MS,
  );
});
