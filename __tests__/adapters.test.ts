/**
 * The fetch adapter on real sockets (127.0.0.1): a reset found through error.cause, a 503
 * with Retry-After, a body cut short. No nock in this file (see adapters.nock.test.ts).
 */
import { attemptOf } from '../src';
import { startHttpServer } from '../testbed';
import { useFixtures } from './support/guarded';

const { guarded, serve } = useFixtures();

it("with adapter: 'fetch', a reset is found through error.cause and retried", async () => {
  const server = await serve(startHttpServer({ resetFirst: 1 }));
  const { api } = guarded(server.url, {}, { adapter: 'fetch' });
  const res = await api.get<{ n: number }>('/via-fetch');
  expect(res.data.n).toBe(2);
  expect(attemptOf(res)!.history[0]).toMatchObject({ kind: 'reset', code: 'ECONNRESET' });
});

describe("adapter: 'fetch'", () => {
  it('503 with Retry-After and a reset are both retried; no agents are involved', async () => {
    const server = await serve(
      startHttpServer({
        resetWhen: (_req, n) => n === 1,
        handler: (_req, res, n) => {
          if (n === 2) res.writeHead(503, { 'retry-after': '0' }).end();
          else res.end('fine');
        },
      }),
    );
    const { api } = guarded(server.url, {}, { adapter: 'fetch' });
    const res = await api.get<string>('/');
    expect(res.data).toBe('fine');
    expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset', 'http-status']);
  });

  it('with the fetch adapter, a body cut short is a reset-mid-response', async () => {
    const server = await serve(
      startHttpServer({
        handler: (_req, res, n) => {
          res.writeHead(200, { 'content-length': '100' });
          if (n === 1) {
            res.write('partial');
            setTimeout(() => res.socket?.end(), 20);
          } else res.end('y'.repeat(100));
        },
      }),
    );
    const { api } = guarded(server.url, {}, { adapter: 'fetch' });
    const res = await api.get<string>('/');
    expect(res.data).toHaveLength(100);
    expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['reset-mid-response']);
  });
});
