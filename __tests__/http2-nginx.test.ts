/**
 * HTTP/2 through a real nginx (Debian's, `listen ... ssl` with HTTP/2) in front of a local
 * HTTP/1.1 server with a ledger. Under load (rounds of concurrent GETs, unkeyed POSTs and
 * keyed POSTs through the guard), nginx is reloaded (`nginx -s reload`: new workers; the
 * old one sends GOAWAY on its connections, finishes their streams and exits) and at the end
 * quit (`nginx -s quit`) with a round in flight.
 *
 * Asserted: no POST applied twice, every GET across the reloads succeeds with its own body,
 * every request ends (each bounded by deadlineMs, the wait for it by a little more), nginx
 * exits on quit. Counts and bodies, never wall time.
 *
 * A missing nginx skips the test with the reason, except under CI=true where it fails
 * (`.ci/run` installs it).
 */
import type { AxiosError, AxiosResponse } from 'axios';
import { classify } from '../src';
import { findBinary, startHttpServer, watched, type Closeable } from '../testbed';
import { startNginxH2 } from '../testbed/h2';
import { useFixtures } from './support/guarded';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { itUnless, lackingSessionSafety } from './support/axios-supports';

const { guarded, serve } = useFixtures();
const CI = process.env.CI === 'true';

const DEADLINE_MS = 5000;
const GRACE_MS = 4000;
/** Rounds of concurrent requests, and the rounds during which nginx is reloaded. */
const ROUNDS = 12;
const RELOAD_AT = new Set([3, 6, 9]);
type Method = 'GET' | 'POST' | 'keyed POST';
const ROUND: readonly Method[] = ['GET', 'GET', 'POST', 'POST', 'keyed POST', 'keyed POST'];

interface Ledger extends Closeable {
  /** Per `METHOD path`: how many times it was applied (a keyed POST once per key). */
  readonly applied: Map<string, number>;
}

/** The upstream: applies each request (holding its answer 20 ms, so that some are in flight) and names it in the body. */
async function ledger(): Promise<Ledger> {
  const applied = new Map<string, number>();
  const keys = new Set<string>();
  const server = await startHttpServer({
    record: false,
    handler: (req, res) => {
      const name = `${req.method} ${req.url}`;
      const key = req.headers['idempotency-key'];
      const fresh = typeof key !== 'string' || !keys.has(`${name} ${key}`);
      if (typeof key === 'string') keys.add(`${name} ${key}`);
      if (fresh) applied.set(name, (applied.get(name) ?? 0) + 1);
      setTimeout(() => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ method: req.method, path: req.url }));
      }, 20);
    },
  });
  return Object.assign(server, { applied });
}

/** An error as reported: code, the stream's RST code, the guard's kind. */
const describeError = (e: AxiosError): string =>
  `${e.code} rstCode ${(e.request as { rstCode?: number } | undefined)?.rstCode} ${classify(e).kind}`;

type Outcome = { method: Method; path: string } & (
  | { state: 'resolved'; value: AxiosResponse<{ method: string; path: string }> }
  | { state: 'rejected'; error: AxiosError }
);

const binary = findBinary('nginx');
const title =
  'rounds of GET / POST / keyed POST across three reloads and a quit: no POST applied twice, every GET succeeds';

const body = async (nginx: string, progress: () => void): Promise<void> => {
  const upstream = await serve(ledger());
  const front = await serve(startNginxH2(nginx, upstream.port));
  const reasons: Record<string, number> = {};
  const { api, guard } = guarded(
    front.url,
    {
      deadlineMs: DEADLINE_MS,
      beforeRetry: (info) => {
        const label = `${info.classification.kind} (${describeError(info.error)})`;
        reasons[label] = (reasons[label] ?? 0) + 1;
      },
    },
    { httpVersion: 2, http2Options: { ca: front.ca } },
  );

  const send = (method: Method, path: string): Promise<Outcome> => {
    const request =
      method === 'GET'
        ? api.get<{ method: string; path: string }>(path)
        : api.post<{ method: string; path: string }>(path, 'x', {
            headers: method === 'keyed POST' ? { 'Idempotency-Key': `key-${path}` } : {},
          });
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_resolve, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${method} ${path} still pending ${DEADLINE_MS + GRACE_MS} ms after it was sent`)),
        DEADLINE_MS + GRACE_MS,
      );
    });
    return Promise.race([
      request.then(
        (value) => ({ method, path, state: 'resolved' as const, value }),
        (error: unknown) => ({ method, path, state: 'rejected' as const, error: error as AxiosError }),
      ),
      late,
    ]).finally(() => {
      clearTimeout(timer);
      progress();
    });
  };
  const round = (r: number): Promise<Outcome>[] =>
    ROUND.map((method, i) => send(method, `/r${r}/${i}/${method === 'keyed POST' ? 'keyed' : method}`));

  const outcomes: Outcome[] = [];
  for (let r = 1; r <= ROUNDS; r += 1) {
    const requests = round(r);
    // reload while this round's streams are in flight
    if (RELOAD_AT.has(r)) await front.reload();
    outcomes.push(...(await Promise.all(requests)));
  }
  // quit (graceful) with a last round in flight
  const last = round(ROUNDS + 1);
  await front.quit();
  const lastOutcomes = await Promise.all(last);

  const stats = guard.stats();
  const counters = stats.origins[front.url]?.http2;
  const failed = [...outcomes, ...lastOutcomes].flatMap((o) =>
    o.state === 'rejected' ? [`${o.method} ${o.path}: ${describeError(o.error)}`] : [],
  );
  console.info(
    `nginx ${front.version} HTTP/2 over TLS, ${ROUNDS} rounds x ${ROUND.length} requests, reloads in rounds ` +
      `${[...RELOAD_AT].join(',')}, one more round during quit: ${failed.length} failed (${failed.join('; ') || 'none'}); ` +
      `attempts ${stats.attempts}, retries ${stats.retries}, failures ${JSON.stringify(stats.failures)}, ` +
      `http2 ${JSON.stringify(counters)}, reasons ${JSON.stringify(reasons)}`,
  );

  // Every GET across the reloads succeeded, with its own body.
  const failedGets = outcomes.flatMap((o) =>
    o.method === 'GET' && o.state === 'rejected' ? [`${o.path}: ${describeError(o.error)}`] : [],
  );
  expect(failedGets).toEqual([]);
  for (const o of outcomes) {
    if (o.state === 'resolved') {
      expect(o.value.status).toBe(200);
      expect(o.value.data).toEqual({ method: o.method === 'GET' ? 'GET' : 'POST', path: o.path });
    }
  }
  // No POST applied twice (keyed or not), before or after the quit.
  for (const [name, n] of upstream.applied) if (name.startsWith('POST ')) expect([name, n]).toEqual([name, 1]);

  // the guard kept h2 counters for the origin, and the reloads' GOAWAYs reached it
  expect(counters).toEqual(expect.objectContaining({ streams: stats.attempts }));
  expect(counters!.goaways).toBeGreaterThanOrEqual(1);
  expect(counters!.sessions).toBeGreaterThanOrEqual(2);
};

if (binary !== undefined) {
  // nginx's quit refuses the next session's connection: an error on that session
  itUnless(lackingSessionSafety())(title, () => watched((progress) => body(binary, progress)), WATCHED_TIMEOUT_MS);
} else if (CI) {
  it(`${title} (nginx is required under CI=true)`, () => {
    throw new Error('nginx not found in PATH or /usr/sbin; .ci/run installs it with apt-get');
  });
} else {
  const reason = 'the nginx binary is missing (not in PATH or /usr/sbin; apt-get install nginx)';
  console.warn(`http2-nginx.test.ts: skipping: ${reason}`);
  it.skip(`${title} (skipped: ${reason})`, () => undefined);
}
