/**
 * The examples of examples/, run against real servers on 127.0.0.1 that reset
 * connections (testbed/net.ts). examples/jest-user-project runs from the tarball (pack.test.ts).
 */
import { execFile } from 'node:child_process';
import http from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import axios, { type AxiosInstance } from 'axios';
import { attach } from 'axios-reset-guard';
import * as expressExample from '../examples/express-shared-instance';
import { bootstrap, main as nestMain } from '../examples/nest-http-service';
import { main as paymentsMain, PaymentsClient } from '../examples/per-request-override';
import { startHttpServer, type Closeable, type Recorder } from '../testbed';

type TestServer = Closeable & Recorder;

const servers: TestServer[] = [];
async function server(options: Parameters<typeof startHttpServer>[0]): Promise<TestServer> {
  const started = await startHttpServer(options);
  servers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
  jest.restoreAllMocks();
});

/** Resets the first request for each "METHOD url", answers the others. */
function firstPerRoute(): (req: http.IncomingMessage) => boolean {
  const seen = new Set<string>();
  return (req) => {
    const key = `${req.method} ${req.url}`;
    const first = !seen.has(key);
    seen.add(key);
    return first;
  };
}

describe('express-shared-instance', () => {
  const { api, credentials, logger, start } = expressExample;
  // A client for the service itself, without keep-alive: nothing left open after the test.
  const noKeepAlive = new http.Agent({ keepAlive: false });
  const client = axios.create({ httpAgent: noKeepAlive, validateStatus: () => true });
  afterAll(() => noKeepAlive.destroy());

  it('recovers a reset upstream call behind the shared instance; interceptors run once; /healthz shows it', async () => {
    const upstream = await server({
      // the first request is reset; a discontinued product always is
      resetWhen: (req, n) => n === 1 || req.url === '/stock/discontinued',
      handler: (req, res) => {
        res.setHeader('content-type', 'application/json');
        res.end(JSON.stringify({ sku: req.url?.split('/').pop(), available: 7 }));
      },
    });
    api.defaults.baseURL = upstream.url; // the upstream listens on a random port
    const token = jest.spyOn(credentials, 'token');
    const log = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const service = await start(0);
    try {
      const ok = await client.get(`${service.url}/products/42/stock`);
      expect(ok.status).toBe(200);
      expect(ok.data).toEqual({ sku: '42', available: 7 });
      // the first connection was reset by the upstream; the retry went out on a new one
      expect(upstream.hits).toBe(2);
      expect(upstream.connections).toBe(2);
      // the auth interceptor ran once, and its header went out on both attempts
      expect(token).toHaveBeenCalledTimes(1);
      expect(upstream.headers.map((h) => h.authorization)).toEqual(['Bearer dev-token', 'Bearer dev-token']);
      // the logging interceptor ran once, after the retry
      expect(log.mock.calls).toEqual([['GET /stock/42 -> 200 (attempt 2/4)']]);

      // a product the upstream always resets: 4 attempts, then a 502 from the route
      const down = await client.get(`${service.url}/products/discontinued/stock`);
      expect(down.status).toBe(502);
      expect(down.data).toEqual({ error: 'inventory unavailable', attempts: 4, kind: expect.any(String) });
      expect(token).toHaveBeenCalledTimes(2);
      expect(log).toHaveBeenCalledTimes(2);
      expect(log.mock.calls[1]?.[0]).toBe(
        'upstream request failed after 4 attempt(s): retry limit reached after 4 attempts',
      );

      const health = await client.get(`${service.url}/healthz`);
      expect(health.status).toBe(200);
      expect(health.data.ok).toBe(true);
      expect(health.data.resetGuard).toMatchObject({
        requests: 2,
        attempts: 6,
        retries: 4,
        recovered: 1,
        gaveUp: 1,
      });
      const resets = health.data.resetGuard.resets as Record<string, number>;
      expect(Object.values(resets).reduce((a, b) => a + b, 0)).toBe(5);
    } finally {
      await service.stop();
    }
    // graceful shutdown detached the guard: its agents are gone from the shared instance
    expect(api.defaults.httpAgent).toBeUndefined();
    await expect(service.stop()).resolves.toBeUndefined(); // idempotent
  });

  it('can start again after a graceful shutdown (the guard attaches anew)', async () => {
    const upstream = await server({ resetFirst: 1 });
    api.defaults.baseURL = upstream.url;
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    const service = await start(0);
    try {
      const res = await client.get(`${service.url}/products/1/stock`);
      expect(res.status).toBe(200);
      expect(service.guard.stats()).toMatchObject({ requests: 1, attempts: 2, recovered: 1 });
    } finally {
      await service.stop();
    }
  });
});

describe('per-request-override', () => {
  interface Payment {
    id: string;
    reference: string;
    amount: number;
    currency: string;
  }

  async function paymentsServer(): Promise<TestServer> {
    return server({
      resetWhen: firstPerRoute(),
      handler: (req, res, n, body) => {
        res.setHeader('content-type', 'application/json');
        if (req.url === '/payments') {
          res.statusCode = 201;
          res.end(JSON.stringify({ id: 'pay_1', ...(JSON.parse(body) as object) }));
        } else res.end(JSON.stringify({ id: req.url?.split('/')[2], reference: 'r', amount: n, currency: 'EUR' }));
      },
    });
  }

  let payments: PaymentsClient | undefined;
  afterEach(() => payments?.close());

  it('health check: one attempt, the reset is reported, not retried', async () => {
    const upstream = await paymentsServer();
    const lines: string[] = [];
    payments = new PaymentsClient(upstream.url, (line) => lines.push(line));

    await expect(payments.isHealthy()).resolves.toEqual({
      healthy: false,
      attempts: 1,
      kind: 'reset',
      reason: 'retry limit reached after 1 attempt',
    });
    expect(upstream.hits).toBe(1);
    expect(lines).toEqual([]); // no retry, no beforeRetry
    await expect(payments.isHealthy()).resolves.toEqual({ healthy: true });
  });

  it('GET with the instance defaults: retried, beforeRetry logs once, attemptOf says 2', async () => {
    const upstream = await paymentsServer();
    const lines: string[] = [];
    payments = new PaymentsClient(upstream.url, (line) => lines.push(line));

    const got = await payments.getPayment('pay_7');
    expect(got.attempts).toBe(2);
    expect(got.value).toMatchObject({ id: 'pay_7', currency: 'EUR' });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^GET \/payments\/pay_7: attempt 1\/4 failed \(reset, ECONNRESET\), next in \d+ ms$/);
  });

  it('POST with retryNonIdempotent: resent once with the same reference; the per-request beforeRetry replaces the instance one', async () => {
    const upstream = await paymentsServer();
    const lines: string[] = [];
    payments = new PaymentsClient(upstream.url, (line) => lines.push(line));

    const created = await payments.createPayment(25, 'EUR');
    expect(created.attempts).toBe(2);
    const sent = upstream.bodies.map((b) => JSON.parse(b) as Omit<Payment, 'id'>);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]); // the same body, byte for byte: the server can dedupe
    expect(created.value).toEqual({ id: 'pay_1', ...sent[0] });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^payment [0-9a-f-]{36}: resending \(safe, deduplicated\); POST \/payments: attempt 1\/4/);
  });

  it('POST with the defaults: not resent, and failureOf() says why', async () => {
    const upstream = await paymentsServer();
    const lines: string[] = [];
    payments = new PaymentsClient(upstream.url, (line) => lines.push(line));

    await expect(payments.sendReceipt('pay_1', 'ada@example.com')).resolves.toEqual({
      attempts: 1,
      kind: 'reset',
      reason: 'POST is not idempotent and a reset failure may have reached the server',
    });
    expect(upstream.methods).toEqual(['POST']);
    expect(lines).toEqual([]);
    expect(payments.guard.stats()).toMatchObject({ requests: 1, attempts: 1, retries: 0, gaveUp: 1 });
  });

  it('runs as a script (main) against its stand-in server', async () => {
    const lines: string[] = [];
    await paymentsMain((line) => lines.push(line));
    const result = (prefix: string): unknown =>
      JSON.parse(lines.find((l) => l.startsWith(`${prefix}: `))?.slice(prefix.length + 2) ?? 'null');
    expect(result('health')).toMatchObject({ healthy: false, attempts: 1 });
    expect(result('health again')).toEqual({ healthy: true });
    expect(result('get')).toMatchObject({ attempts: 2 });
    expect(result('create')).toMatchObject({ attempts: 2, value: { id: 'pay_1' } });
    expect(lines).toContain('payments stored by the server: 1');
    expect(result('receipt')).toMatchObject({ attempts: 1 });
    expect(result('stats')).toEqual({ requests: 5, attempts: 7, retries: 2, recovered: 2, gaveUp: 2 });
  });

  it('runs with ts-node, importing the package by name', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [require.resolve('ts-node/dist/bin'), '--transpile-only', 'examples/per-request-override.ts'],
      { cwd: join(__dirname, '..'), timeout: 60_000 },
    );
    expect(stdout).toContain('payments stored by the server: 1');
    expect(stdout).toContain('stats: {"requests":5,"attempts":7,"retries":2,"recovered":2,"gaveUp":2}');
  }, 60_000);
});

describe('nest-http-service', () => {
  it('attaches on module init: a reset call through HttpService.axiosRef is retried, interceptors once', async () => {
    const upstream = await server({ resetFirst: 1 });
    const app = bootstrap(upstream.url);
    let interceptorRuns = 0;
    app.http.axiosRef.interceptors.request.use((config) => {
      interceptorRuns += 1;
      return config;
    });
    try {
      const { product, attempts } = await app.catalog.product('17');
      expect(attempts).toBe(2);
      expect(product).toMatchObject({ ok: true, method: 'GET' }); // testbed/net.ts's default answer
      expect(upstream.hits).toBe(2);
      expect(interceptorRuns).toBe(1);
      expect(app.lifecycle.stats()).toMatchObject({ requests: 1, attempts: 2, retries: 1, recovered: 1 });
    } finally {
      app.close();
    }
    // onModuleDestroy detached the guard: no stats, its agents are gone, and it can attach again
    expect(app.lifecycle.stats()).toBeUndefined();
    const axiosRef: AxiosInstance = app.http.axiosRef;
    expect(axiosRef.defaults.httpAgent).toBeUndefined();
    expect(() => attach(axiosRef).detach()).not.toThrow();
    app.close(); // a second destroy is harmless
  });

  it('runs as a script (main) against its stand-in server', async () => {
    const lines: string[] = [];
    await nestMain((line) => lines.push(line));
    expect(lines).toEqual([
      'product 17 (Espresso cup) after 2 attempt(s)',
      'stats: {"requests":1,"attempts":2,"retries":1,"recovered":1}',
    ]);
  });
});
