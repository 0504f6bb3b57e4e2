/** The server's Keep-Alive hint on the guard's agents: pure parsing, then real sockets. */
import axios from 'axios';
import { attach, type Guard } from '../src';
import { hintedFreeSocketTimeout, parseKeepAlive } from '../src/agent';
import { pause, startHttpServer, startIdleDropProxy, type Closeable } from './support/net';

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
});

describe('real sockets', () => {
  const open: Closeable[] = [];
  const guards: Guard[] = [];
  afterEach(async () => {
    for (const g of guards.splice(0)) g.detach();
    await Promise.all(open.splice(0).map((s) => s.close()));
  });

  async function run(keepAliveHints: boolean): Promise<{ resets: number; statuses: number[] }> {
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
    guards.push(attach(api, { keepAliveHints }));
    const statuses: number[] = [];
    for (let i = 0; i < 3; i += 1) {
      statuses.push((await api.get('/')).status);
      if (i < 2) await pause(1400);
    }
    return { resets: proxy.resets, statuses };
  }

  it('with the hint, sockets retire before the 1.2 s firewall drop: no resets; without it, resets', async () => {
    const [hinted, ignored] = await Promise.all([run(true), run(false)]);
    expect(hinted).toEqual({ resets: 0, statuses: [200, 200, 200] });
    // the guard still recovers every stale socket, but each one was a reset
    expect(ignored.statuses).toEqual([200, 200, 200]);
    expect(ignored.resets).toBeGreaterThanOrEqual(1);
  }, 15_000);

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
