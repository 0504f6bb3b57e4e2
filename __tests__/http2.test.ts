/**
 * HTTP/2 on real sockets (issue #12, part 2): axios `httpVersion: 2` through the guard,
 * against real `node:http2` servers, cleartext (h2c) and TLS with ALPN, each with a ledger
 * of what its application applied (testbed/h2.ts). Every fault meets the first attempt of
 * each request, for GET, an unkeyed POST and a POST with an `Idempotency-Key`.
 *
 * The oracle is the HTTP/2 contract (docs: the h2 section of policy.md once it lands):
 * - refused streams (REFUSED_STREAM, above a GOAWAY's last stream id) were not processed:
 *   retried for every method, at once after a GOAWAY, with backoff otherwise;
 * - a lost session (TCP RST, FIN, RST_STREAM CANCEL before headers) may have processed the
 *   request: retried only for GET and keyed POSTs; an orphaned stream (no error from Node)
 *   ends at once on Node >= 22 (`ERR_RESET_GUARD_STREAM_CLOSED`), on Node 20 by `deadlineMs`;
 * - a response cut after its headers is `reset-mid-response`, and a buffered body cut short
 *   rejects instead of resolving partial;
 * - no POST is ever applied twice.
 *
 * Counts, codes and bodies are asserted, never wall time; every wait is bounded by a
 * deadline of a few seconds (`settles`), so a hang fails the test instead of holding it.
 */
import type { AxiosError, AxiosInstance, AxiosResponse } from 'axios';
import { attemptOf, classify, failureOf, type GuardOptions, type Http2Stats, type RetryInfo } from '../src';
import { startH2Server, type H2Fault, type H2Server } from '../testbed/h2';
import { testingOptions } from '../src/testing';
import { describeUnless, lacking, lackingSessionSafety } from './support/axios-supports';
import { useFixtures } from './support/guarded';

const { guarded, serve } = useFixtures();

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
/** Node publishes the `http2.client.stream.*` diagnostics channels from 22 on. */
const ORPHANS_END_AT_ONCE = NODE_MAJOR >= 22;
const ORPHAN_SKIP_REASON =
  `Node ${process.versions.node} publishes no http2.client.stream diagnostics channels (from 22 on): ` +
  'an orphaned stream ends only by deadlineMs / attemptTimeoutMs there';

/** Far longer than any bound under test, yet short enough to fail a hang quickly. */
const GRACE_MS = 4000;
/** The deadline every request runs under, so that nothing can hang the file. */
const DEADLINE_MS = 3000;
const STREAM_CLOSED = 'ERR_RESET_GUARD_STREAM_CLOSED';

type Method = 'GET' | 'POST' | 'keyed POST';
const METHODS: readonly Method[] = ['GET', 'POST', 'keyed POST'];
type Transport = 'h2c' | 'tls';
const TRANSPORTS: readonly Transport[] = ['h2c', 'tls'];

type Outcome = { state: 'resolved'; value: AxiosResponse } | { state: 'rejected'; error: AxiosError };

/** How `promise` settled; throws when it had not after `ms`. */
async function settles(promise: Promise<AxiosResponse>, ms: number): Promise<Outcome> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<'pending'>((resolve) => {
    timer = setTimeout(() => resolve('pending'), ms);
  });
  try {
    const outcome = await Promise.race([
      promise.then(
        (value) => ({ state: 'resolved' as const, value }),
        (error: unknown) => ({ state: 'rejected' as const, error: error as AxiosError }),
      ),
      late,
    ]);
    if (outcome === 'pending') throw new Error(`the request was still pending after ${ms} ms`);
    return outcome;
  } finally {
    clearTimeout(timer);
  }
}

const resolved = (outcome: Outcome): AxiosResponse => {
  if (outcome.state === 'rejected') {
    const e = outcome.error;
    throw new Error(`expected a response, got ${e.code} (${e.message}), kind ${classify(e).kind}`);
  }
  return outcome.value;
};
const rejected = (outcome: Outcome): AxiosError => {
  if (outcome.state === 'resolved') throw new Error(`expected an error, got status ${outcome.value.status}`);
  return outcome.error;
};

interface Cell {
  server: H2Server;
  api: AxiosInstance;
  origin: string;
  retries: RetryInfo[];
  counters(): Http2Stats | undefined;
  attempts(): number;
  send(method: Method, path: string, ms?: number): Promise<Outcome>;
}

async function cell(transport: Transport, fault: H2Fault, options: GuardOptions = {}, burst?: number): Promise<Cell> {
  const server = await serve(
    startH2Server({ fault, tls: transport === 'tls', ...(burst === undefined ? {} : { burst }) }),
  );
  const retries: RetryInfo[] = [];
  const { api, guard } = guarded(
    server.url,
    { deadlineMs: DEADLINE_MS, beforeRetry: (info) => void retries.push(info), ...options },
    { httpVersion: 2, http2Options: transport === 'tls' ? { ca: server.ca } : {} },
  );
  const send = (method: Method, path: string, ms = DEADLINE_MS + GRACE_MS): Promise<Outcome> => {
    const request =
      method === 'GET'
        ? api.get(path)
        : api.post(path, JSON.stringify({ path }), {
            headers: {
              'content-type': 'application/json',
              ...(method === 'keyed POST' ? { 'Idempotency-Key': `key-${path}` } : {}),
            },
          });
    return settles(request, ms);
  };
  return {
    server,
    api,
    origin: server.url,
    retries,
    counters: () => guard.stats().origins[server.url]?.http2,
    attempts: () => guard.stats().attempts,
    send,
  };
}

const verb = (method: Method): string => (method === 'GET' ? 'GET' : 'POST');
const applied = (c: Cell, method: Method, path: string): number | undefined =>
  c.server.applied.get(`${verb(method)} ${path}`);
const seen = (c: Cell, method: Method, path: string): number | undefined =>
  c.server.seen.get(`${verb(method)} ${path}`);

/** The response carries the whole body of its own request (never a partial one). */
function expectWhole(res: AxiosResponse, method: Method, path: string): void {
  expect(res.status).toBe(200);
  expect(res.data).toMatchObject({ method: verb(method), path, pad: 'x'.repeat(4096) });
}

/** The ledger's promise: no POST applied twice; every POST here was applied exactly once. */
function expectNoDoubleApply(c: Cell): void {
  for (const [name, n] of c.server.applied) {
    if (name.startsWith('POST ')) expect([name, n]).toEqual([name, 1]);
  }
}

/** The guard's h2 counters for this origin agree with the server and the attempts. */
function expectCounters(c: Cell, expected: Partial<Http2Stats>): void {
  const { sessions, goaways, ...rest } = { streams: c.attempts(), sessions: c.server.sessions, ...expected };
  const counters = c.counters();
  expect(counters).toEqual(expect.objectContaining(rest));
  if (ORPHANS_END_AT_ONCE) {
    expect(counters).toEqual(expect.objectContaining({ sessions, goaways }));
  } else {
    // Node 20: the guard sees a stream only once it settled, and a failed one has left its
    // session by then: sessions and GOAWAYs are counted as far as answered streams show them.
    expect(counters!.sessions).toBeLessThanOrEqual(sessions);
    expect(counters!.goaways).toBeLessThanOrEqual(goaways ?? 0);
  }
}

describeUnless(lacking('http2')).each(TRANSPORTS)('HTTP/2 %s', (transport) => {
  describe('a burst over maxConcurrentStreams 1, sent before the SETTINGS arrive: REFUSED_STREAM', () => {
    it.each(METHODS)('%s: every stream refused is resent with backoff, and all succeed', async (method) => {
      const c = await cell(transport, 'refuse-burst', testingOptions({}, { random: () => 1 }));
      const paths = [1, 2, 3].map((i) => `/refuse/${i}`);
      const outcomes = await Promise.all(paths.map((p) => c.send(method, p)));
      outcomes.forEach((o, i) => expectWhole(resolved(o), method, paths[i]!));
      for (const p of paths) expect(applied(c, method, p)).toBe(1);
      // one stream was let in, the two others refused before the application saw them
      const kinds = outcomes.map((o) => attemptOf(resolved(o))!.history.map((h) => h.kind));
      expect(kinds.flat()).toEqual(['refused-stream', 'refused-stream']);
      expect(c.retries.map((r) => r.classification.kind)).toEqual(['refused-stream', 'refused-stream']);
      for (const r of c.retries) {
        expect(r.error.code).toBe('ERR_HTTP2_STREAM_ERROR');
        expect((r.error.request as { rstCode?: number } | undefined)?.rstCode).toBe(7);
        expect(r.delayMs).toBeGreaterThan(0); // not going away: backoff
      }
      expect(c.server.sessions).toBe(1);
      expectCounters(c, { sessions: 1, refusedStreams: 2, goaways: 0, sessionsLost: 0 });
      expectNoDoubleApply(c);
    });
  });

  describe('a graceful GOAWAY (NO_ERROR, last stream id = the first of a burst of 3), then close', () => {
    it.each(METHODS)(
      '%s: the streams above the last id are resent at once on a new session; the old one is never reused',
      async (method) => {
        const c = await cell(transport, 'goaway-burst', testingOptions({}, { random: () => 1 }), 3);
        const paths = [1, 2, 3].map((i) => `/goaway/${i}`);
        const outcomes = await Promise.all(paths.map((p) => c.send(method, p)));
        outcomes.forEach((o, i) => expectWhole(resolved(o), method, paths[i]!));
        for (const p of paths) expect(applied(c, method, p)).toBe(1);
        expect(c.server.wentAway).toEqual([1]);
        expect(c.retries.map((r) => r.classification.kind)).toEqual(['refused-stream', 'refused-stream']);
        // its session was going away: at once (Node 20 cannot tell, having no stream to
        // follow: a refusal there waits its backoff)
        for (const r of c.retries) {
          if (ORPHANS_END_AT_ONCE) expect(r.delayMs).toBe(0);
          else expect(r.delayMs).toBeGreaterThan(0);
        }
        // the first path was served on session 1, the two refused ones on session 2
        expect(paths.map((p) => c.server.sessionOf.get(`${verb(method)} ${p}`))).toEqual([[1], [2], [2]]);
        // and a request after the burst goes to session 2, not to the one that went away
        expectWhole(resolved(await c.send('GET', '/after')), 'GET', '/after');
        expect(c.server.sessionOf.get('GET /after')).toEqual([2]);
        expect(c.server.sessions).toBe(2);
        expectCounters(c, { sessions: 2, refusedStreams: 2, goaways: 1, sessionsLost: 0 });
        expectNoDoubleApply(c);
      },
    );
  });

  describeUnless(lackingSessionSafety())(
    'a TCP RST with the stream open, before any header (the request was applied)',
    () => {
      it.each(METHODS)('%s: session-lost, resent only when GET or keyed', async (method) => {
        const c = await cell(transport, 'rst-before-headers');
        const outcome = await c.send(method, '/rst');
        if (method === 'POST') {
          const error = rejected(outcome);
          expect(error.code).toBe('ECONNRESET');
          expect(classify(error).kind).toBe('session-lost');
          expect(failureOf(error)!.classification.kind).toBe('session-lost');
          expect(attemptOf(error)!.attempt).toBe(1);
          expect(seen(c, method, '/rst')).toBe(1);
        } else {
          const res = resolved(outcome);
          expectWhole(res, method, '/rst');
          expect(attemptOf(res)!.history.map((h) => [h.kind, h.code])).toEqual([['session-lost', 'ECONNRESET']]);
          expect(seen(c, method, '/rst')).toBe(2);
          expect(applied(c, method, '/rst')).toBe(method === 'GET' ? 2 : 1);
        }
        expect(c.server.sessions).toBe(method === 'POST' ? 1 : 2);
        expectCounters(c, { refusedStreams: 0, goaways: 0, sessionsLost: 1 });
        expectNoDoubleApply(c);
      });
    },
  );

  describe('RST_STREAM INTERNAL_ERROR after the headers and half the body', () => {
    it.each(METHODS)('%s: reset-mid-response, resent only when GET or keyed, on the same session', async (method) => {
      const c = await cell(transport, 'rst-stream-mid-body');
      const outcome = await c.send(method, '/cut');
      if (method === 'POST') {
        const error = rejected(outcome);
        expect(error.code).toBe('ERR_HTTP2_STREAM_ERROR');
        expect((error.request as { rstCode?: number } | undefined)?.rstCode).toBe(2);
        expect(classify(error).kind).toBe('reset-mid-response');
        expect(seen(c, method, '/cut')).toBe(1);
      } else {
        const res = resolved(outcome);
        expectWhole(res, method, '/cut');
        expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset-mid-response']);
        expect(seen(c, method, '/cut')).toBe(2);
      }
      // a stream reset leaves its session up
      expect(c.server.sessions).toBe(1);
      expectCounters(c, { sessions: 1, refusedStreams: 0, goaways: 0, sessionsLost: 0 });
      expectNoDoubleApply(c);
    });
  });

  describe('a FIN after the headers and half the body (content-length says more)', () => {
    it.each(METHODS)('%s: rejects (never a partial body), resent only when GET or keyed', async (method) => {
      const c = await cell(transport, 'fin-mid-body');
      const outcome = await c.send(method, '/short');
      if (method === 'POST') {
        const error = rejected(outcome);
        expect(error.code).toBe('ERR_BAD_RESPONSE');
        expect(error.message).toMatch(/^stream has been aborted/);
        expect(classify(error).kind).toBe('reset-mid-response');
        expect(seen(c, method, '/short')).toBe(1);
      } else {
        const res = resolved(outcome);
        expectWhole(res, method, '/short');
        expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset-mid-response']);
        expect(seen(c, method, '/short')).toBe(2);
      }
      expect(c.server.sessions).toBe(method === 'POST' ? 1 : 2);
      expectCounters(c, { refusedStreams: 0, goaways: 0 });
      expectNoDoubleApply(c);
    });
  });

  // Streams that Node closes with no response and no error: plain axios waits forever.
  describe.each([
    ['fin-before-headers', 'a FIN on the connection with the stream open, before any header', 2],
    ['cancel-before-headers', 'RST_STREAM CANCEL before any header', 1],
  ] as const)('%s: %s (the request was applied): an orphaned stream', (fault, _title, sessionsAfterRetry) => {
    (ORPHANS_END_AT_ONCE ? it.each(METHODS) : it.skip.each(METHODS))(
      `%s: ends at once with ${STREAM_CLOSED}, session-lost, resent only when GET or keyed` +
        (ORPHANS_END_AT_ONCE ? '' : ` (skipped: ${ORPHAN_SKIP_REASON})`),
      async (method) => {
        // a deadline far beyond the wait: the end must come from the stream's close
        const c = await cell(transport, fault, { deadlineMs: 60_000 });
        const outcome = await c.send(method, '/orphan', GRACE_MS);
        if (method === 'POST') {
          const error = rejected(outcome);
          expect(error.code).toBe(STREAM_CLOSED);
          expect(classify(error).kind).toBe('session-lost');
          expect(seen(c, method, '/orphan')).toBe(1);
        } else {
          const res = resolved(outcome);
          expectWhole(res, method, '/orphan');
          expect(attemptOf(res)!.history.map((h) => [h.kind, h.code])).toEqual([['session-lost', STREAM_CLOSED]]);
          expect(seen(c, method, '/orphan')).toBe(2);
        }
        expect(c.server.sessions).toBe(method === 'POST' ? 1 : sessionsAfterRetry);
        expectCounters(c, { refusedStreams: 0, goaways: 0, sessionsLost: 1 });
        expectNoDoubleApply(c);
      },
    );

    if (!ORPHANS_END_AT_ONCE) {
      it.each(METHODS)(`%s (Node ${NODE_MAJOR}): ends by deadlineMs 1000, not resent, applied once`, async (method) => {
        const c = await cell(transport, fault, { deadlineMs: 1000 });
        const error = rejected(await c.send(method, '/orphan', 1000 + GRACE_MS));
        expect(classify(error).kind).toBe('timeout');
        expect(failureOf(error)!.reason).toBe('deadline of 1000 ms reached after 1 attempt');
        expect(seen(c, method, '/orphan')).toBe(1);
        expect(applied(c, method, '/orphan')).toBe(1);
        expect(c.server.sessions).toBe(1);
        expectCounters(c, { sessions: 1, refusedStreams: 0, goaways: 0 });
        expectNoDoubleApply(c);
      });
    }
  });
});

describe('nock and axios HTTP/2', () => {
  // nock (14, on @mswjs/interceptors) hooks http.request / http.ClientRequest and fetch;
  // axios's HTTP/2 transport calls http2.connect(), which nock does not touch. Checked with
  // nock 14.0.17 and axios 1.21.1 against a real h2c server: an interceptor for the URL
  // stayed pending and the real server answered, and even nock.disableNetConnect() let the
  // h2 request through. So h2 cannot be mocked with nock: this test is skipped, not faked,
  // and the real-socket tests above are the h2 tests.
  it.skip('nock cannot intercept axios httpVersion 2 (http2.connect is not hooked): skipped', () => undefined);
});
