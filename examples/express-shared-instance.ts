/**
 * An Express 5 service that already has a shared Axios instance, with its own auth and
 * logging interceptors. The guard is attached once, at startup, to that instance: every
 * module that imports `api` gets reset retries, and the interceptors still run once per
 * request, because retries happen below them.
 *
 * Run it:
 *   npx ts-node --transpile-only examples/express-shared-instance.ts
 * It starts a stand-in inventory service that resets the first request to each product
 * (unless INVENTORY_URL is set), then serves on PORT (default 3000):
 *   curl http://127.0.0.1:3000/products/42/stock   # recovered by a retry
 *   curl http://127.0.0.1:3000/healthz             # the guard's counters
 * Ctrl-C shuts it down gracefully.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import express from 'express';
import { attach, attemptOf, failureOf, type Guard } from 'axios-reset-guard';
import { startFlakyUpstream, type FlakyUpstream } from './support/flaky-upstream';

// ---------------------------------------------------------------------------------------
// api.ts in your project: the one instance every module imports. Nothing here knows
// about the guard.
// ---------------------------------------------------------------------------------------

export const api = axios.create({
  baseURL: process.env.INVENTORY_URL ?? 'http://127.0.0.1:4001',
  timeout: 5_000,
});

/** Where the bearer token comes from: a vault, an OAuth client credentials flow, ... */
export const credentials = {
  token: (): Promise<string> => Promise.resolve(process.env.INVENTORY_TOKEN ?? 'dev-token'),
};

/** Where log lines go: pino, winston, ... */
export const logger = {
  info: (line: string): void => console.log(line),
};

// Auth: runs once per logical request. Headers set here are sent on every attempt.
api.interceptors.request.use(async (config) => {
  config.headers.set('authorization', `Bearer ${await credentials.token()}`);
  return config;
});

// Logging: one line per logical request, with the attempt that answered (or failed last).
api.interceptors.response.use(
  (res) => {
    const attempt = attemptOf(res);
    const tries = attempt ? ` (attempt ${attempt.attempt}/${attempt.maxAttempts})` : '';
    logger.info(`${res.config.method?.toUpperCase()} ${res.config.url} -> ${res.status}${tries}`);
    return res;
  },
  (error: unknown) => {
    const failure = failureOf(error); // present when the request went through the guard
    const detail = failure ? ` after ${failure.attempt.attempt} attempt(s): ${failure.reason}` : '';
    logger.info(`upstream request failed${detail}`);
    throw error;
  },
);

// ---------------------------------------------------------------------------------------
// server.ts in your project.
// ---------------------------------------------------------------------------------------

interface Stock {
  sku: string;
  available: number;
}

export function createApp(guard: Guard): express.Express {
  const app = express();

  // A route calling the flaky upstream through the shared instance: nothing guard-specific.
  app.get('/products/:id/stock', async (req, res) => {
    try {
      const { data } = await api.get<Stock>(`/stock/${encodeURIComponent(req.params.id)}`);
      res.json(data);
    } catch (error) {
      // The final error is still the AxiosError; failureOf() says what the guard concluded.
      const failure = failureOf(error);
      res.status(502).json({
        error: 'inventory unavailable',
        attempts: failure?.attempt.attempt,
        kind: failure?.classification.kind,
      });
    }
  });

  // Liveness plus the guard's counters: requests, retries, recovered, resets by kind, sockets.
  app.get('/healthz', (_req, res) => {
    res.json({ ok: true, resetGuard: guard.stats() });
  });

  return app;
}

export interface Service {
  readonly url: string;
  readonly guard: Guard;
  /** Graceful shutdown: stop accepting, let in-flight requests finish, then detach. */
  stop(): Promise<void>;
}

export async function start(port = Number(process.env.PORT ?? 3000)): Promise<Service> {
  // Once, at startup, on the instance you already have. It installs keep-alive agents
  // (the instance has none of its own) and retries resets: GETs up to 3 times.
  const guard = attach(api, { retries: 3 });

  const app = createApp(guard);
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(port, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  const { port: actual } = server.address() as AddressInfo;

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (stopping ??= (async () => {
      // 1. Stop accepting connections; in-flight requests finish (they may still retry),
      //    idle keep-alive connections from clients are closed (Node >= 19).
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
      // 2. Then detach: removes the guard's interceptor and destroys the agents it created,
      //    so no pooled socket keeps the process alive.
      guard.detach();
    })());

  return { url: `http://127.0.0.1:${actual}`, guard, stop };
}

// ---------------------------------------------------------------------------------------
// Running this file directly: a stand-in upstream, the service, and signal handling.
// ---------------------------------------------------------------------------------------

async function main(): Promise<void> {
  let upstream: FlakyUpstream | undefined;
  if (process.env.INVENTORY_URL === undefined) {
    const seen = new Set<string>();
    upstream = await startFlakyUpstream({
      // the first request for each product is reset, as an overloaded server would
      reset: (req) => {
        const first = !seen.has(req.url ?? '');
        seen.add(req.url ?? '');
        return first;
      },
      answer: (req) => ({ json: { sku: req.url?.split('/').pop(), available: 7 } }),
    });
    api.defaults.baseURL = upstream.url;
  }
  const service = await start();
  console.log(`listening on ${service.url}`);
  console.log(`  curl ${service.url}/products/42/stock`);
  console.log(`  curl ${service.url}/healthz`);

  const shutdown = (signal: string): void => {
    console.log(`${signal}: shutting down`);
    void service
      .stop()
      .then(() => upstream?.close())
      .then(() => console.log('bye'));
  };
  process.once('SIGINT', shutdown);
  process.once('SIGTERM', shutdown);
}

if (require.main === module) void main();
