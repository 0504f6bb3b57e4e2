/**
 * NestJS: attach the guard to the Axios instance behind `HttpService`.
 *
 * @nestjs/axios's `HttpService` wraps one Axios instance and exposes it as `axiosRef`;
 * every call made through the service (`get()`, `post()`, ... returning Observables) goes
 * through that instance, so attaching there covers them all. Attach in `onModuleInit`,
 * detach in `onModuleDestroy` (Nest calls it on `app.close()`, and on SIGTERM with
 * `app.enableShutdownHooks()`), so the keep-alive agents the guard created are destroyed.
 *
 * To stay runnable without installing Nest, this file uses a minimal stand-in for
 * `HttpService` and wires the providers by hand in `bootstrap()`. In a real Nest app:
 *
 *   @Injectable()
 *   export class ResetGuardLifecycle implements OnModuleInit, OnModuleDestroy { ... }  // as below
 *
 *   @Module({
 *     imports: [HttpModule.register({ baseURL: 'http://catalog.internal', timeout: 5000 })],
 *     providers: [ResetGuardLifecycle, CatalogService],
 *   })
 *   export class CatalogModule {}
 *
 * Run it: npx ts-node --transpile-only examples/nest-http-service.ts
 * (against a stand-in catalog service that resets its first connection)
 */
import axios, { type AxiosInstance, type CreateAxiosDefaults } from 'axios';
import { attach, attemptOf, type Guard, type GuardOptions, type GuardStats } from 'axios-reset-guard';
import { startFlakyUpstream } from './support/flaky-upstream';

/**
 * Stand-in for @nestjs/axios's `HttpService`: only the part this example needs, the
 * underlying instance. `HttpModule.register(config)` creates it from `config`.
 */
export class HttpService {
  readonly axiosRef: AxiosInstance;

  constructor(config: CreateAxiosDefaults = {}) {
    this.axiosRef = axios.create(config);
  }
}

/**
 * The provider that owns the guard. In Nest: `@Injectable()`, `implements OnModuleInit,
 * OnModuleDestroy`, with `HttpService` injected through the constructor.
 */
export class ResetGuardLifecycle {
  private guard: Guard | undefined;

  constructor(
    private readonly http: HttpService,
    private readonly options: GuardOptions = { retries: 3 },
  ) {}

  /** Nest calls this once the module's providers are created, before the app listens. */
  onModuleInit(): void {
    this.guard = attach(this.http.axiosRef, this.options);
  }

  /** Nest calls this on shutdown: removes the interceptor, destroys the guard's agents. */
  onModuleDestroy(): void {
    this.guard?.detach();
    this.guard = undefined;
  }

  /** For a health indicator or a metrics endpoint. */
  stats(): GuardStats | undefined {
    return this.guard?.stats();
  }
}

export interface Product {
  id: string;
  name: string;
}

/** An ordinary service using HttpService: it needs no change for the guard. */
export class CatalogService {
  constructor(private readonly http: HttpService) {}

  async product(id: string): Promise<{ product: Product; attempts: number }> {
    const res = await this.http.axiosRef.get<Product>(`/products/${encodeURIComponent(id)}`);
    return { product: res.data, attempts: attemptOf(res)?.attempt ?? 1 };
  }
}

/**
 * What Nest does for this module, by hand: create the providers, run `onModuleInit` hooks,
 * and on `close()` run `onModuleDestroy` hooks.
 */
export function bootstrap(baseURL: string, options?: GuardOptions) {
  const http = new HttpService({ baseURL, timeout: 5_000 }); // HttpModule.register({ baseURL, timeout })
  const lifecycle = new ResetGuardLifecycle(http, options);
  const catalog = new CatalogService(http);
  lifecycle.onModuleInit();
  return {
    http,
    lifecycle,
    catalog,
    close: (): void => lifecycle.onModuleDestroy(),
  };
}

// ---------------------------------------------------------------------------------------
// Running this file directly: a stand-in catalog service that resets its first request.
// ---------------------------------------------------------------------------------------

export async function main(log: (line: string) => void = console.log): Promise<void> {
  const upstream = await startFlakyUpstream({
    reset: (_req, n) => n === 1,
    answer: (req) => ({ json: { id: req.url?.split('/').pop(), name: 'Espresso cup' } }),
  });
  const app = bootstrap(upstream.url);
  try {
    const { product, attempts } = await app.catalog.product('17');
    log(`product ${product.id} (${product.name}) after ${attempts} attempt(s)`);
    log(`stats: ${JSON.stringify(app.lifecycle.stats(), ['requests', 'attempts', 'retries', 'recovered'])}`);
  } finally {
    app.close(); // app.close() in Nest
    await upstream.close();
  }
}

if (require.main === module) void main();
