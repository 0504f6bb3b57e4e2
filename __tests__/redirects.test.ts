/**
 * Redirect hops (follow-redirects in the http adapter, undici inside the fetch adapter): once
 * any response, a redirect included, arrived for a logical request, its original request may
 * have been applied. A POST answered with 303/301/302/307 whose next hop fails is never
 * resent; a GET is, from the start; a keyed POST is (the server deduplicates). Real sockets,
 * with a ledger of what the server applied.
 */
import { attemptOf, failureOf } from '../src';
import { CLOSED_PORT, startHttpServer } from '../testbed';
import { itUnless, lacking } from './support/axios-supports';
import { failure } from './support/failure';
import { useFixtures } from './support/guarded';

const { guarded, serve } = useFixtures();

interface Ledger {
  /** Applications per order id (a keyed POST applied once per key). */
  applied: Map<string, number>;
  /** Keys already seen. */
  keys: Set<string>;
}

/**
 * POST /pay applies the order, then redirects with `status` to `location`; GET /done is
 * reset on the hops `resetDone` picks (n: GET /done requests so far, 1-based).
 */
async function payServer(status: number, location: (url: string) => string, resetDone: (n: number) => boolean) {
  const ledger: Ledger = { applied: new Map(), keys: new Set() };
  let done = 0;
  const server = await serve(
    startHttpServer({
      resetWhen: (req) => req.url === '/done' && resetDone((done += 1)),
      handler: (req, res, _n, body) => {
        if (req.url === '/pay' || req.url === '/apply') {
          const key = req.headers['idempotency-key'] as string | undefined;
          const id = (JSON.parse(body || '{}') as { id?: string }).id ?? '?';
          if (key === undefined || !ledger.keys.has(key)) ledger.applied.set(id, (ledger.applied.get(id) ?? 0) + 1);
          if (key !== undefined) ledger.keys.add(key);
          if (req.url === '/apply') return void res.end('applied');
          res.writeHead(status, { location: location(`http://127.0.0.1:${req.socket.localPort}`) }).end();
          return;
        }
        res.end(req.url === '/done' ? 'done' : 'warm');
      },
    }),
  );
  return { server, ledger };
}

describe.each([303, 301, 302])('POST answered with %i, then the redirected GET fails', (status) => {
  it('on a refused target: the POST is not resent (applied once)', async () => {
    const closed = CLOSED_PORT;
    const { server, ledger } = await payServer(
      status,
      () => `http://127.0.0.1:${closed}/done`,
      () => false,
    );
    const { api, guard } = guarded(server.url);
    const error = await failure(api.post('/pay', { id: 'o1' }));
    expect(error.code).toBe('ECONNREFUSED');
    expect(ledger.applied.get('o1')).toBe(1);
    expect(failureOf(error)!.reason).toBe(
      'POST may have been applied: the server answered with a redirect before this failure (1 followed)',
    );
    expect(guard.stats().attempts).toBe(1);
  });

  it('on a stale pooled socket: the POST is not resent (applied once)', async () => {
    // the redirected GET takes a pooled socket that had idled "long" (staleIdleMs 0) and is reset
    const { server, ledger } = await payServer(
      status,
      (origin) => `${origin}/done`,
      (n) => n === 1,
    );
    const { api } = guarded(server.url, { expert: { staleIdleMs: 0 } });
    await Promise.all([api.get('/warm/1'), api.get('/warm/2')]);
    const error = await failure(api.post('/pay', { id: 'o2' }));
    expect(failureOf(error)!.classification.kind).toBe('stale-socket');
    expect(ledger.applied.get('o2')).toBe(1);
    expect(failureOf(error)!.reason).toMatch(/^POST may have been applied: the server answered with a redirect/);
  });
});

it('307 keeps the method: a POST redirected to a target that resets is not resent either', async () => {
  let applyHits = 0;
  const target = await serve(
    startHttpServer({
      resetWhen: () => {
        applyHits += 1;
        return true;
      },
    }),
  );
  // the 307 hop answered (and, here, applied): the hop after it resets
  const { server, ledger } = await payServer(
    307,
    () => `${target.url}/apply`,
    () => false,
  );
  const { api } = guarded(server.url);
  const error = await failure(api.post('/pay', { id: 'o3' }));
  expect(error.code).toBe('ECONNRESET');
  expect(failureOf(error)!.reason).toMatch(/^POST may have been applied/);
  expect(applyHits).toBe(1);
  expect(ledger.applied.get('o3')).toBe(1);
});

it('a GET whose redirected hop is reset is retried from the start, and recovers', async () => {
  const { server } = await payServer(
    302,
    (origin) => `${origin}/done`,
    (n) => n === 1,
  );
  const route = await serve(
    startHttpServer({ handler: (_req, res) => res.writeHead(302, { location: `${server.url}/done` }).end() }),
  );
  const { api } = guarded(route.url);
  const res = await api.get<string>('/start');
  expect(res.data).toBe('done');
  expect(attemptOf(res)!.attempt).toBe(2);
});

it('a keyed POST answered with 303 whose GET fails is resent; the server applies it once', async () => {
  const { server, ledger } = await payServer(
    303,
    (origin) => `${origin}/done`,
    (n) => n === 1,
  );
  const { api } = guarded(server.url, { idempotencyKey: true });
  const res = await api.post<string>('/pay', { id: 'o4' });
  expect(res.data).toBe('done');
  expect(attemptOf(res)!.attempt).toBe(2);
  expect(ledger.applied.get('o4')).toBe(1);
});

describe('the fetch adapter (undici follows redirects inside fetch, out of sight)', () => {
  it('a POST answered with 303 whose GET is refused is not resent', async () => {
    const closed = CLOSED_PORT;
    const { server, ledger } = await payServer(
      303,
      () => `http://127.0.0.1:${closed}/done`,
      () => false,
    );
    const { api, guard } = guarded(server.url, {}, { adapter: 'fetch' });
    const error = await failure(api.post('/pay', { id: 'o5' }));
    expect(failureOf(error)!.classification.kind).toBe('refused');
    expect(failureOf(error)!.reason).toBe(
      "POST may have been applied: fetch follows redirects out of the guard's sight (maxRedirects: 0 lets it tell, from axios 1.20.0)",
    );
    expect(ledger.applied.get('o5')).toBe(1);
    expect(guard.stats().attempts).toBe(1);
  });

  // Before 1.20.0 axios's fetch adapter follows redirects whatever maxRedirects says (the
  // previous test's refusal then stands, as the Request's redirect field tells the guard).
  itUnless(lacking('fetchManualRedirect'))(
    'with maxRedirects: 0 a refused POST is known never to have reached a server, and is resent',
    async () => {
      const closed = CLOSED_PORT;
      const { api, guard } = guarded(
        `http://127.0.0.1:${closed}`,
        { retries: 2 },
        { adapter: 'fetch', maxRedirects: 0 },
      );
      const error = await failure(api.post('/pay', { id: 'o6' }));
      expect(failureOf(error)!.classification.kind).toBe('refused');
      expect(guard.stats().attempts).toBe(3);
    },
  );
});
