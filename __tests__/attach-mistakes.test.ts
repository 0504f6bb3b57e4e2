/**
 * Mistakes caught at attach: another retry layer on the instance (axios-retry before or
 * after the guard, axios-retry's or retry-axios's options in `defaults`), and the guard on
 * axios's default export, whose defaults `axios.create()` copies. With nock, then on real
 * sockets against a server that resets every request.
 */
import http from 'node:http';
import axios, { type AxiosInstance, type InternalAxiosRequestConfig } from 'axios';
import axiosRetry from 'axios-retry';
import * as rax from 'retry-axios';
import nock from 'nock';
import {
  attach,
  attemptOf,
  isResetGuardError,
  ResetGuardAttachError,
  ResetGuardConflictError,
  type Guard,
} from '../src';
import { nativeRequestOf } from '../src/internals';
import { startHttpServer } from '../testbed';
import { failure } from './support/failure';
import { noWait, useFixtures } from './support/guarded';
import { ORIGIN, reset, useNock } from './support/nock-rig';

/**
 * Request interceptors of the user's own that use the words axios-retry's source uses, each
 * beside an error-only response interceptor (a logger): never taken for axios-retry.
 */
const audit: Record<string, unknown> = {};
const tracker = { getCurrentState: (c: unknown) => c };
const INNOCENT: Record<string, (config: InternalAxiosRequestConfig) => InternalAxiosRequestConfig> = {
  validateResponse: (config) => {
    audit.validateResponse = typeof config.validateStatus;
    return config;
  },
  'getCurrentState(': (config) => {
    tracker.getCurrentState(config);
    return config;
  },
  '.lastRequestTime =': (config) => {
    audit.lastRequestTime = Date.now();
    return config;
  },
};

function withInnocent(instance: AxiosInstance, name: string): AxiosInstance {
  instance.interceptors.request.use(INNOCENT[name]);
  instance.interceptors.response.use(undefined, (error: Error) => Promise.reject(error));
  return instance;
}

/** A library's interceptors re-registered through wrappers, as a copy the guard cannot see (a bundle) would be. */
function wrappedCopy(instance: AxiosInstance, install: (standIn: AxiosInstance) => unknown): void {
  const standIn = axios.create();
  install(standIn);
  type H = { fulfilled?: (v: unknown) => unknown; rejected?: (e: unknown) => unknown } | null;
  for (const kind of ['request', 'response'] as const) {
    const handlers = (standIn.interceptors[kind] as unknown as { handlers: H[] }).handlers;
    for (const h of handlers) {
      if (h === null) continue;
      const f = h.fulfilled;
      const r = h.rejected;
      (instance.interceptors[kind] as unknown as { use(f?: unknown, r?: unknown): number }).use(
        f === undefined || f === null ? undefined : (v: unknown) => f(v),
        r === undefined || r === null ? undefined : (e: unknown) => r(e),
      );
    }
  }
}

/** The agent that carried a response's request. */
const agentOf = (request: unknown): unknown => (nativeRequestOf(request) as { agent?: unknown } | undefined)?.agent;

/** What `fn` throws (`undefined` when it returns). */
function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
}

let guard: Guard | undefined;

describe('with nock', () => {
  useNock(() => guard);

  describe('another retry layer', () => {
    it('refuses an instance with axios-retry, with a typed error that says how to migrate', () => {
      const api = axios.create({ baseURL: ORIGIN });
      axiosRetry(api, { retries: 3 });
      const thrown = thrownBy(() => attach(api));
      expect(thrown).toBeInstanceOf(ResetGuardConflictError);
      expect(thrown).not.toBeInstanceOf(ResetGuardAttachError); // "already guarded" handlers do not swallow it
      expect(isResetGuardError(thrown)).toBe(true);
      const error = thrown as ResetGuardConflictError;
      expect(error).toMatchObject({ code: 'ERR_RESET_GUARD_CONFLICT', library: 'axios-retry' });
      expect(error.message).toContain('already retries with axios-retry');
      expect(error.message).toContain('4 x 4 = 16');
      for (const mapping of [
        'pass the same options to attach()',
        'retryDelay, retryCondition, shouldResetTimeout, onRetry, onMaxRetryTimesExceeded and validateResponse',
        'a request that may have been applied is never resent',
        "config['axios-retry'] -> config.resetGuard",
        'docs/on-call.md',
      ]) {
        expect(error.message).toContain(mapping);
      }
      // nothing was installed
      const handlers = (api.interceptors.request as unknown as { handlers: unknown[] }).handlers;
      expect(handlers.filter(Boolean)).toHaveLength(1); // axios-retry's own
      expect(api.defaults.httpAgent).toBeUndefined();
    });

    it.each(Object.keys(INNOCENT))(
      'never refuses an interceptor of the user’s whose source says %s (before or after attach)',
      async (name) => {
        const before = withInnocent(axios.create({ baseURL: ORIGIN }), name);
        guard = attach(before, noWait);
        nock(ORIGIN).get('/i').replyWithError(reset()).get('/i').reply(200, 'ok');
        expect(attemptOf(await before.get('/i'))).toMatchObject({ attempt: 2 });
        guard.detach();
        const after = axios.create({ baseURL: ORIGIN });
        guard = attach(after, noWait);
        withInnocent(after, name);
        nock(ORIGIN).get('/j').replyWithError(reset()).get('/j').reply(200, 'ok');
        expect(attemptOf(await after.get('/j'))).toMatchObject({ attempt: 2 });
      },
    );

    it("refuses axios-retry's or retry-axios's options in the instance's defaults", () => {
      const configured = axios.create({ 'axios-retry': { retries: 2 } } as never);
      expect(thrownBy(() => attach(configured))).toMatchObject({ library: 'axios-retry' });
      const rax = axios.create();
      (rax.defaults as Record<string, unknown>).raxConfig = { retry: 3 };
      const error = thrownBy(() => attach(rax));
      expect(error).toMatchObject({ library: 'retry-axios' });
      expect((error as Error).message).toContain('statusCodesToRetry -> retryStatuses');
    });

    it('accepts other interceptors, and axios-retry once ejected', () => {
      const api = axios.create({ baseURL: ORIGIN });
      api.interceptors.request.use((config) => {
        config.headers.set('x-trace', 'on');
        return config;
      });
      api.interceptors.response.use(undefined, (error: Error) => Promise.reject(error)); // an error logger
      const { requestInterceptorId, responseInterceptorId } = axiosRetry(api);
      api.interceptors.request.eject(requestInterceptorId);
      api.interceptors.response.eject(responseInterceptorId);
      guard = attach(api, noWait);
      expect(guard.options.retries).toBe(3);
    });

    it('axios-retry added after attach(): a request is refused before anything is sent; ejecting it heals', async () => {
      const api = axios.create({ baseURL: ORIGIN });
      guard = attach(api, noWait);
      api.interceptors.request.use((config) => config); // a later interceptor of the user's: fine
      const scope = nock(ORIGIN).get('/a').reply(200, 'ok');
      expect((await api.get('/a')).data).toBe('ok');

      const ids = axiosRetry(api, { retries: 3 });
      const late = nock(ORIGIN).get('/b').replyWithError(reset()).get('/b').reply(200, 'ok');
      let sent = 0;
      late.on('request', () => (sent += 1));
      const error = await failure(api.get('/b'));
      expect(error).toBeInstanceOf(ResetGuardConflictError);
      expect(error.message).toContain('axios-retry was added to this Axios instance after the guard');
      expect(sent).toBe(0); // nothing reached the server
      expect(guard.stats().requests).toBe(1);

      api.interceptors.request.eject(ids.requestInterceptorId);
      api.interceptors.response.eject(ids.responseInterceptorId);
      const res = await api.get('/b');
      expect(attemptOf(res)).toMatchObject({ attempt: 2 });
      expect(scope.isDone() && late.isDone()).toBe(true);
      expect(sent).toBe(2);
    });
  });

  describe("axios's default export", () => {
    afterEach(() => {
      guard?.detach();
      guard = undefined;
    });

    it('is guarded without writing its agents into axios.defaults, so axios.create() copies none', async () => {
      guard = attach(axios, noWait);
      expect(guard.agents.http).toBeDefined();
      expect(axios.defaults.httpAgent).toBeUndefined();
      const created = axios.create({ baseURL: ORIGIN });
      expect(created.defaults.httpAgent).toBeUndefined();

      nock(ORIGIN).get('/g').replyWithError(reset()).get('/g').reply(200, 'ok');
      const res = await axios.get(`${ORIGIN}/g`);
      expect(attemptOf(res)).toMatchObject({ attempt: 2 });
      expect(res.config.httpAgent).toBe(guard.agents.http);

      // an instance created from it is plain axios: no retry, no agent of the guard's
      nock(ORIGIN).get('/c').replyWithError(reset());
      const error = await failure(created.get('/c'));
      expect(error.code).toBe('ECONNRESET');
      expect(attemptOf(error)).toBeUndefined();
      expect(error.config!.httpAgent).toBeUndefined();

      // an agent named by the request itself is used as it is
      const own = new http.Agent();
      nock(ORIGIN).get('/own').reply(200, 'ok');
      expect((await axios.get(`${ORIGIN}/own`, { httpAgent: own })).config.httpAgent).toBe(own);
      own.destroy();

      guard.detach();
      expect(axios.defaults.httpAgent).toBeUndefined();
      expect((axios.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter(Boolean)).toHaveLength(
        0,
      );
    });
  });
});

describe('on real sockets', () => {
  const { guarded, serve, guards } = useFixtures();

  it('axios-retry with the guard: a failing call reaches the server at most 4 times, whichever came first', async () => {
    const server = await serve(startHttpServer({ resetWhen: () => true, record: false }));

    // axios-retry alone: 4 attempts (the server's count is what the assertions trust)
    const plain = axios.create({ baseURL: server.url });
    axiosRetry(plain, { retries: 3 });
    await failure(plain.get('/plain'));
    expect(server.hits).toBe(4);

    // axios-retry first: attach() refuses; as its message says, remove axios-retry and attach
    const api = axios.create({ baseURL: server.url });
    const ids = axiosRetry(api, { retries: 3 });
    expect(() => attach(api, noWait)).toThrow(ResetGuardConflictError);
    api.interceptors.request.eject(ids.requestInterceptorId);
    api.interceptors.response.eject(ids.responseInterceptorId);
    const migrated = attach(api, { ...noWait, retries: 3 });
    guards.push(migrated);
    const before = server.hits;
    const error = await failure(api.get('/migrated'));
    expect(attemptOf(error)).toMatchObject({ attempt: 4, maxAttempts: 4 });
    expect(server.hits - before).toBe(4);
    expect(migrated.stats()).toMatchObject({ requests: 1, attempts: 4 });

    // axios-retry after the guard: the request is refused before it is sent
    const { api: late, guard } = guarded(server.url);
    axiosRetry(late, { retries: 3 });
    const hitsBefore = server.hits;
    expect(await failure(late.get('/late'))).toBeInstanceOf(ResetGuardConflictError);
    expect(server.hits - hitsBefore).toBe(0);
    expect(guard.stats().attempts).toBe(0);
  });

  it.each([
    ['without raxConfig (it retries by default)', undefined],
    ['with raxConfig', { retry: 3, noResponseRetries: 3 }],
  ])('retry-axios %s: refused at attach, and when added after it', async (_n, raxConfig) => {
    const server = await serve(startHttpServer({ resetWhen: () => true, record: false }));
    const first = axios.create({ baseURL: server.url, ...(raxConfig === undefined ? {} : { raxConfig }) } as never);
    rax.attach(first);
    expect(thrownBy(() => attach(first, noWait))).toMatchObject({ library: 'retry-axios' });

    const { api, guard } = guarded(server.url);
    rax.attach(api);
    const error = await failure(api.get('/late', raxConfig === undefined ? {} : ({ raxConfig } as never)));
    expect(error).toBeInstanceOf(ResetGuardConflictError);
    expect(error).toMatchObject({ library: 'retry-axios' });
    expect(server.hits).toBe(0);
    expect(guard.stats().attempts).toBe(0);
  });

  it('a copy the guard cannot see (wrapped, as a bundle’s): its own state on the request gives it away', async () => {
    const server = await serve(startHttpServer({ resetWhen: () => true, record: false }));
    // axios-retry marks every request it sends: refused before anything is sent
    const { api: withRetry } = guarded(server.url);
    wrappedCopy(withRetry, (i) => axiosRetry(i, { retries: 3 }));
    expect(await failure(withRetry.get('/a'))).toMatchObject({ library: 'axios-retry' });
    expect(server.hits).toBe(0);
    // retry-axios marks its resends: the guard's 4 attempts, then its first resend is refused
    const { api: withRax } = guarded(server.url, { retries: 3 });
    wrappedCopy(withRax, (i) => rax.attach(i));
    const error = await failure(withRax.get('/b'));
    expect(error).toMatchObject({ library: 'retry-axios' });
    expect(server.hits).toBe(4);
  });

  // axios.create() copies the default export's defaults: a library configured globally as its
  // README shows (`axios.defaults.raxConfig`, `rax.attach()`) must not mark every created
  // instance, whose requests it never sees (red team, issue 22).
  it.each([
    ['retry-axios', 'raxConfig', () => rax.attach(), (id: number) => rax.detach(id)],
    [
      'axios-retry',
      'axios-retry',
      () => axiosRetry(axios),
      (ids: ReturnType<typeof axiosRetry>) => {
        axios.interceptors.request.eject(ids.requestInterceptorId);
        axios.interceptors.response.eject(ids.responseInterceptorId);
      },
    ],
  ] as const)(
    '%s on the default export only: an instance created from it, which it never retries, is accepted',
    async (_library, key, install, uninstall) => {
      const server = await serve(startHttpServer({ resetWhen: () => true, record: false }));
      const defaults = axios.defaults as Record<string, unknown>;
      // each library's own option name (the guard reads axios-retry's key as axios-retry options)
      defaults[key] = key === 'raxConfig' ? { retry: 3 } : { retries: 3 };
      const installed = install();
      try {
        const { api, guard } = guarded(server.url, { retries: 3 });
        await failure(api.get('/created'));
        expect(server.hits).toBe(4); // the guard's 4 attempts, no resend of the library's
        expect(guard.stats().attempts).toBe(4);
      } finally {
        (uninstall as (i: unknown) => void)(installed);
        delete defaults[key];
      }
    },
  );

  it("the default export: its requests use the guard's pooled agent and are retried; created instances use neither", async () => {
    const server = await serve(startHttpServer({ resetWhen: (_req, n) => n === 2 })); // the 2nd request dies
    const defaultGuard = attach(axios, noWait);
    guards.push(defaultGuard);
    const created = axios.create({ baseURL: server.url });
    try {
      await axios.get(`${server.url}/one`);
      const res = await axios.get(`${server.url}/two`); // on the pooled socket, reset: resent
      expect(attemptOf(res)!.history.map((h) => h.kind)).toEqual(['stale-socket']);
      expect(agentOf(res.request)).toBe(defaultGuard.agents.http);

      const plain = await created.get('/three');
      expect(attemptOf(plain)).toBeUndefined();
      expect(agentOf(plain.request)).not.toBe(defaultGuard.agents.http);
      expect(defaultGuard.stats().requests).toBe(2);
    } finally {
      defaultGuard.detach();
    }
    expect(axios.defaults.httpAgent).toBeUndefined();
    expect((await created.get<{ ok: boolean }>('/after')).data.ok).toBe(true);
  });
});
