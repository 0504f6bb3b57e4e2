/**
 * The page script of the Chromium test (__tests__/chromium.test.ts). The test bundles it
 * with esbuild for platform browser, with axios and the package resolved by name, as a
 * front end does: the package's `browser` condition gives its browser entry. It calls the
 * server that served the page and leaves its report, a promise, on
 * `window.resetGuardReport`, which the test reads over the DevTools protocol.
 */
import axios, { type AxiosResponse } from 'axios';
import {
  attach,
  attemptOf,
  CHANNELS,
  classify,
  createClient,
  DEFAULTS,
  FAILURE_KINDS,
  failureOf,
  isResetGuardError,
  RESET_KINDS,
  ResetGuardAttachError,
  ResetGuardOptionError,
  type Classification,
  type GuardStats,
} from 'axios-reset-guard';

/** What the page reports (JSON: `undefined` fields are left out). */
export interface PageReport {
  readonly userAgent: string;
  /** `typeof` of Node's globals in the page: all `undefined`, nothing polyfilled them. */
  readonly nodeGlobals: Record<string, string>;
  readonly ok: { status: number; data: unknown; adapter: string; attempt: unknown };
  readonly unavailable: {
    status: number | undefined;
    classification: Classification;
    failure: unknown;
    guardError: boolean;
  };
  /** A request to a closed port: what the browser lets through of a refused connection. */
  readonly refused: { code: unknown; classification: Classification };
  readonly interceptors: { before: number; after: number };
  readonly stats: GuardStats;
  readonly agents: unknown;
  readonly retries: number;
  readonly attachTwice: unknown;
  readonly optionError: unknown;
  readonly reattached: boolean;
  readonly client: { status: number; retries: number };
  readonly constants: unknown;
}

const requestHandlers = (instance: ReturnType<typeof axios.create>): number =>
  (instance.interceptors.request as unknown as { handlers: unknown[] }).handlers.filter((h) => h !== null).length;

const adapterOf = (res: AxiosResponse): string =>
  res.request instanceof XMLHttpRequest ? 'xhr' : typeof res.request === 'object' ? 'fetch' : String(res.request);

function thrown(run: () => unknown): unknown {
  try {
    run();
    return null;
  } catch (error) {
    return error;
  }
}

async function report(): Promise<PageReport> {
  const params = new URLSearchParams(location.search);
  const api = axios.create({ baseURL: location.origin });
  const before = requestHandlers(api);
  const guard = attach(api, { retries: 3 });
  const after = requestHandlers(api);

  const ok = await api.get<unknown>('/api/ok');
  const unavailable = await api.get('/api/unavailable').then(
    () => new Error('a 503 resolved'),
    (error: unknown) => error,
  );
  const refused = await api.get(`http://127.0.0.1:${params.get('closedPort')}/`).then(
    () => new Error('a closed port answered'),
    (error: unknown) => error,
  );

  const twice = thrown(() => attach(api));
  const invalid = thrown(() => attach(axios.create(), { retries: -1 }));
  guard.detach();
  const reattached = thrown(() => attach(api).detach()) === null;

  const client = createClient({ retries: 1 }, { baseURL: location.origin });
  const fromClient = await client.get('/api/ok');
  client.guard.detach();

  return {
    userAgent: navigator.userAgent,
    // Read off globalThis: a bundler may rewrite a bare `typeof require`.
    nodeGlobals: Object.fromEntries(
      ['process', 'require', 'Buffer', 'global', 'setImmediate'].map((name) => [
        name,
        typeof (globalThis as Record<string, unknown>)[name],
      ]),
    ),
    ok: { status: ok.status, data: ok.data, adapter: adapterOf(ok), attempt: attemptOf(ok) },
    unavailable: {
      status: axios.isAxiosError(unavailable) ? unavailable.response?.status : undefined,
      classification: classify(unavailable),
      failure: failureOf(unavailable),
      guardError: isResetGuardError(unavailable),
    },
    refused: {
      code: axios.isAxiosError(refused) ? refused.code : String(refused),
      classification: classify(refused),
    },
    interceptors: { before, after },
    stats: guard.stats(),
    agents: guard.agents,
    retries: guard.options.retries,
    attachTwice:
      twice instanceof ResetGuardAttachError ? { code: twice.code, branded: isResetGuardError(twice) } : String(twice),
    optionError:
      invalid instanceof ResetGuardOptionError
        ? { code: invalid.code, option: invalid.option, branded: isResetGuardError(invalid) }
        : String(invalid),
    reattached,
    client: { status: fromClient.status, retries: client.guard.options.retries },
    constants: { retries: DEFAULTS.retries, CHANNELS, FAILURE_KINDS, RESET_KINDS },
  };
}

(window as Window & { resetGuardReport?: Promise<PageReport> }).resetGuardReport = report();
