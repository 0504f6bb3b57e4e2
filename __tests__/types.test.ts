/**
 * The public types, checked by the compiler (ts-jest reports type errors as failures;
 * `npm run typecheck` covers this file too) and, where types and runtime must agree,
 * by running the same calls: an option the types reject is also rejected at runtime.
 * Requests go to a recording adapter, never to the network.
 */
import axios, {
  type AxiosAdapter,
  type AxiosError,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type CreateAxiosDefaults,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry, { linearDelay, type IAxiosRetryConfig } from 'axios-retry';
import { expectTypeOf } from 'expect-type';
import type { Agent } from 'node:http';
import {
  attach,
  attemptOf,
  classify,
  createClient,
  DEFAULTS,
  FAILURE_KINDS,
  failureOf,
  RESET_KINDS,
  isResetGuardError,
  ResetGuardAttachError,
  ResetGuardOptionError,
  type ResetGuardConflictError,
  type AgentStatus,
  type BudgetStats,
  type BudgetSummary,
  type AttemptInfo,
  type Classification,
  type FailureKind,
  type FailureRecord,
  type GiveUpInfo,
  type Guard,
  type GuardedInstance,
  type GuardOptions,
  type GuardStats,
  type OriginStats,
  type Http2Stats,
  type ExpertOptions,
  type PerRequestExpertOptions,
  type PerRequestOptions,
  type RequestOptions,
  type ResetGuardErrorCode,
  type ResetGuardErrorInfo,
  type RetryLibrary,
  type ResetKind,
  type ResolvedOptions,
  type RetryBudgetOptions,
  type RetryInfo,
} from '../src';
import { normalizeOptions } from '../src/internals';
import { SCHEMA, type OptionName, type OptionNames } from '../src/schema';
import { readmeFailureKinds } from './support/kinds';

const calls: InternalAxiosRequestConfig[] = [];
const recording: AxiosAdapter = (config) => {
  calls.push(config);
  return Promise.resolve({ data: 'ok', status: 200, statusText: 'OK', headers: {}, config });
};
const guards: Guard[] = [];

function guarded(options: GuardOptions = {}): AxiosInstance {
  const api = axios.create({ adapter: recording });
  guards.push(attach(api, { agents: false, ...options }));
  return api;
}

beforeEach(() => {
  calls.length = 0;
});

afterEach(() => {
  for (const guard of guards.splice(0)) guard.detach();
});

describe('config.resetGuard (the augmentation of axios)', () => {
  test('is typed on every request config of axios', () => {
    expectTypeOf<AxiosRequestConfig['resetGuard']>().toEqualTypeOf<PerRequestOptions | undefined>();
    expectTypeOf<AxiosRequestConfig<{ id: number }>['resetGuard']>().toEqualTypeOf<PerRequestOptions | undefined>();
    expectTypeOf<InternalAxiosRequestConfig['resetGuard']>().toEqualTypeOf<PerRequestOptions | undefined>();
    expectTypeOf<CreateAxiosDefaults['resetGuard']>().toEqualTypeOf<PerRequestOptions | undefined>();
    // The default export and any instance, not only guarded ones.
    expectTypeOf(axios.get).toBeCallableWith('/orders/42', { resetGuard: { retries: 2 } });
    expectTypeOf(axios.request).toBeCallableWith({ url: '/orders/42', resetGuard: { retry: false } });
    expectTypeOf(axios.create().post).toBeCallableWith('/payments', {}, { resetGuard: { retryNonIdempotent: true } });
  });

  test('a misspelled name or the on/off switch given a count does not compile', () => {
    // @ts-expect-error `retrys` is no option (the compiler suggests `retry`; the runtime check offers both)
    expectTypeOf(axios.get).toBeCallableWith('/a', { resetGuard: { retrys: 2 } });
    // @ts-expect-error `retry` is the on/off switch: a count goes in `retries`
    expectTypeOf(axios.get).toBeCallableWith('/a', { resetGuard: { retry: 2 } });
    const built = { retrys: 2 };
    // @ts-expect-error built apart, it shares no property with RequestOptions (a weak type)
    expectTypeOf(axios.get).toBeCallableWith('/a', { resetGuard: built });
  });

  test('takes every per-request option on every method, and the guard applies it', async () => {
    const api = guarded({ retries: 3 });
    const beforeRetry = (info: RetryInfo): void => {
      expectTypeOf(info.classification.kind).toEqualTypeOf<FailureKind>();
    };
    const responses: AxiosResponse<unknown>[] = [
      await api.get('/a', { resetGuard: { retries: 2 } }),
      await api.delete('/a', { resetGuard: { retries: 0 } }),
      await api.head('/a', { resetGuard: { retry: false } }),
      await api.options('/a', { resetGuard: { retries: 5, baseDelayMs: 10, maxDelayMs: 100 } }),
      await api.post('/a', { n: 1 }, { resetGuard: { retryNonIdempotent: true, retries: 1 } }),
      await api.put('/a', 'text', { resetGuard: { retryTimeouts: true, retries: 4 } }),
      await api.patch('/a', {}, { resetGuard: { expert: { retryStaleNonIdempotent: false, staleIdleMs: 500 } } }),
      await api.request({ url: '/a', resetGuard: { attemptHeader: true, requestIdHeader: 'x-trace-id' } }),
      await api.get('/a', { resetGuard: { beforeRetry, onGiveUp: (info: GiveUpInfo) => void info.reason } }),
      // `undefined` means "not set here" (the options are written for exactOptionalPropertyTypes).
      await api.get('/a', { resetGuard: { retries: undefined } }),
    ];
    expect(responses.map((res) => attemptOf(res)?.maxAttempts)).toEqual([3, 1, 1, 6, 2, 5, 4, 4, 4, 4]);
    expect(calls[7]?.headers['x-request-attempt']).toBe('1/4');
    expect(calls[7]?.headers['x-trace-id']).toBe(attemptOf(responses[7])?.requestId);
  });

  test('a misspelt option is a compile error, and a runtime error before anything is sent', async () => {
    const api = guarded();
    // @ts-expect-error `retires` is not an option (misspelt `retries`)
    const misspelt = api.get('/a', { resetGuard: { retires: 2 } });
    await expect(misspelt).rejects.toThrow(ResetGuardOptionError);
    await expect(misspelt).rejects.toMatchObject({ option: 'resetGuard.retires', value: 2 });
    // @ts-expect-error `agents` is an instance option: it cannot change per request
    await expect(api.get('/a', { resetGuard: { agents: false } })).rejects.toMatchObject({
      option: 'resetGuard.agents',
    });
    expect(calls).toEqual([]);
  });

  test('a wrong value type is a compile error, and a runtime error', async () => {
    const api = guarded();
    const rejected = [
      // @ts-expect-error `retries` is a number
      api.get('/a', { resetGuard: { retries: '2' } }),
      // @ts-expect-error `retry` is a boolean
      api.get('/a', { resetGuard: { retry: 1 } }),
      // @ts-expect-error `attemptHeader` is a boolean or a header name
      api.get('/a', { resetGuard: { attemptHeader: 2 } }),
      // @ts-expect-error `beforeRetry` is a function
      api.get('/a', { resetGuard: { beforeRetry: 'log' } }),
      // @ts-expect-error `resetGuard` is an object of options
      api.get('/a', { resetGuard: 3 }),
      // @ts-expect-error `null` is not "not set": only `undefined` is
      api.get('/a', { resetGuard: { retries: null } }),
    ];
    for (const request of rejected) await expect(request).rejects.toThrow(ResetGuardOptionError);
    expect(calls).toEqual([]);
  });

  test("axios-retry's options are typed from axios-retry's own IAxiosRetryConfig", () => {
    expectTypeOf<RequestOptions['retryDelay']>().toEqualTypeOf<IAxiosRetryConfig['retryDelay'] | undefined>();
    expectTypeOf<RequestOptions['retryCondition']>().toEqualTypeOf<IAxiosRetryConfig['retryCondition'] | undefined>();
    expectTypeOf<RequestOptions['onRetry']>().toEqualTypeOf<IAxiosRetryConfig['onRetry'] | undefined>();
    // axios-retry's helpers fit as they are
    const options: GuardOptions = {
      retryDelay: axiosRetry.exponentialDelay,
      retryCondition: axiosRetry.isNetworkOrIdempotentRequestError,
    };
    expect(() => normalizeOptions(options)).not.toThrow();
    expect(() => normalizeOptions({ retryDelay: linearDelay(50) })).not.toThrow();
  });

  test('hooks get typed arguments', () => {
    // @ts-expect-error `beforeRetry` receives a RetryInfo, not a string
    const wrongHook: RequestOptions = { beforeRetry: (info: string) => void info };
    expectTypeOf<NonNullable<RequestOptions['beforeRetry']>>().parameters.toEqualTypeOf<[info: RetryInfo]>();
    expectTypeOf<NonNullable<RequestOptions['onGiveUp']>>().parameters.toEqualTypeOf<[info: GiveUpInfo]>();
    expectTypeOf<NonNullable<RequestOptions['beforeRetry']>>().returns.toEqualTypeOf<void | Promise<void>>();
    expect(() => normalizeOptions(wrongHook)).not.toThrow(); // a function: the runtime cannot tell
  });
});

describe('the option types match the schema and DEFAULTS', () => {
  // The public interfaces are written by hand (for their JSDoc); the schema is the one list.
  test('names, scope and group of the hand-written interfaces are exactly the schema', () => {
    expectTypeOf<keyof RequestOptions>().toEqualTypeOf<OptionNames<'call', 'top'> | 'expert'>();
    expectTypeOf<keyof PerRequestOptions>().toEqualTypeOf<OptionNames<'call' | 'request', 'top'> | 'expert'>();
    expectTypeOf<keyof GuardOptions>().toEqualTypeOf<OptionNames<'call' | 'instance', 'top'> | 'expert'>();
    expectTypeOf<keyof PerRequestExpertOptions>().toEqualTypeOf<OptionNames<'call', 'expert'>>();
    expectTypeOf<keyof ExpertOptions>().toEqualTypeOf<OptionNames<'call' | 'instance', 'expert'>>();
    expectTypeOf<RequestOptions['expert']>().toEqualTypeOf<PerRequestExpertOptions | undefined>();
    expectTypeOf<PerRequestOptions['expert']>().toEqualTypeOf<PerRequestExpertOptions | undefined>();
    expectTypeOf<GuardOptions['expert']>().toEqualTypeOf<ExpertOptions | undefined>();
    // resolved options are flat: every schema name, no `expert`
    expectTypeOf<keyof ResolvedOptions>().toEqualTypeOf<OptionName>();
    expectTypeOf<GuardOptions>().toExtend<RequestOptions>();
    expectTypeOf(DEFAULTS).toEqualTypeOf<Readonly<ResolvedOptions>>();
    expect(Object.keys(DEFAULTS).sort()).toEqual(Object.keys(SCHEMA).sort());
    for (const [name, spec] of Object.entries(SCHEMA))
      expect([name, DEFAULTS[name as OptionName]]).toEqual([name, spec.default]);
  });

  test('value types', () => {
    expectTypeOf<RequestOptions>().toEqualTypeOf<{
      retry?: boolean | undefined;
      retries?: number | undefined;
      baseDelayMs?: number | undefined;
      maxDelayMs?: number | undefined;
      retryTimeouts?: boolean | undefined;
      retryNonIdempotent?: boolean | undefined;
      retryStatuses?: readonly number[] | undefined;
      attemptTimeoutMs?: number | undefined;
      deadlineMs?: number | undefined;
      idempotencyKey?: boolean | ((config: InternalAxiosRequestConfig) => string) | undefined;
      attemptHeader?: string | boolean | undefined;
      requestIdHeader?: string | boolean | undefined;
      beforeRetry?: ((info: RetryInfo) => void | Promise<void>) | undefined;
      onGiveUp?: ((info: GiveUpInfo) => void | Promise<void>) | undefined;
      // axios-retry's own, typed from its IAxiosRetryConfig
      retryDelay?: ((retryCount: number, error: AxiosError) => number) | undefined;
      retryCondition?: ((error: AxiosError) => boolean | Promise<boolean>) | undefined;
      shouldResetTimeout?: boolean | undefined;
      onRetry?:
        | ((retryCount: number, error: AxiosError, requestConfig: AxiosRequestConfig) => Promise<void> | void)
        | undefined;
      onMaxRetryTimesExceeded?: ((error: AxiosError, retryCount: number) => Promise<void> | void) | undefined;
      validateResponse?: ((response: AxiosResponse) => boolean) | null | undefined;
      expert?: PerRequestExpertOptions | undefined;
    }>();
    expectTypeOf<PerRequestExpertOptions>().toEqualTypeOf<{
      retryStaleNonIdempotent?: boolean | undefined;
      staleIdleMs?: number | undefined;
      staleWindowMs?: number | undefined;
      maxRetryAfterMs?: number | undefined;
    }>();
    expectTypeOf<Omit<ExpertOptions, keyof PerRequestExpertOptions>>().toEqualTypeOf<{
      noAnswerMs?: number | undefined;
      learnIdleLimits?: boolean | undefined;
      keepAliveHints?: boolean | undefined;
      maxFreeSockets?: number | undefined;
      socketLifetime?: number | undefined;
      retryBudget?: RetryBudgetOptions | false | undefined;
    }>();
    expectTypeOf<ResolvedOptions['attemptHeader']>().toEqualTypeOf<string | false>();
    expectTypeOf<ResolvedOptions['retries']>().toEqualTypeOf<number>();
    expectTypeOf(normalizeOptions).toEqualTypeOf<(options?: GuardOptions) => ResolvedOptions>();
  });
});

describe('public functions have the types the README gives them', () => {
  test('attach(instance, options?) returns a Guard', () => {
    expectTypeOf(attach).parameters.toEqualTypeOf<[instance: AxiosInstance, options?: GuardOptions]>();
    expectTypeOf(attach).returns.toEqualTypeOf<Guard>();
    expectTypeOf(attach).toBeCallableWith(axios.create());
    expectTypeOf(attach).toBeCallableWith(axios, { retries: 2, freeSocketTimeout: 3000 });
    // @ts-expect-error the instance comes first
    expectTypeOf(attach).toBeCallableWith({ retries: 2 });
    const guard = attach(axios.create({ adapter: recording }), { agents: false });
    guards.push(guard);
    expect(Object.keys(guard).sort()).toEqual(['agents', 'detach', 'options', 'stats']);
  });

  test('a Guard: stats(), agents, options, detach()', () => {
    expectTypeOf<Guard['stats']>().toEqualTypeOf<() => GuardStats>();
    expectTypeOf<Guard['detach']>().toEqualTypeOf<() => void>();
    expectTypeOf<Guard['options']>().toEqualTypeOf<ResolvedOptions>();
    expectTypeOf<Guard['agents']['http']>().toEqualTypeOf<Agent | undefined>();
    expectTypeOf<GuardStats>().toEqualTypeOf<{
      readonly requests: number;
      readonly attempts: number;
      readonly retries: number;
      readonly recovered: number;
      readonly gaveUp: number;
      readonly resets: Readonly<Record<ResetKind, number>>;
      readonly failures: Readonly<Record<FailureKind, number>>;
      readonly purgedSockets: number;
      readonly learnedIdleLimits: Readonly<Record<string, number>>;
      readonly origins: Readonly<Record<string, OriginStats>>;
      readonly agents: { readonly http: AgentStatus | undefined; readonly https: AgentStatus | undefined };
      readonly budget: BudgetSummary | undefined;
    }>();
    expectTypeOf<BudgetSummary>().toEqualTypeOf<{
      readonly capacity: number;
      readonly refused: number;
      readonly exhausted: readonly string[];
    }>();
    expectTypeOf<OriginStats>().toEqualTypeOf<{
      readonly freeSockets: number;
      readonly activeSockets: number;
      readonly freeSocketTimeout: number;
      readonly freeSocketTimeoutSource: 'default' | 'hint' | 'learned';
      readonly staleResets: number;
      readonly lastResetAt: number | undefined;
      readonly lastLearnedAt: number | undefined;
      readonly budget: BudgetStats | undefined;
      readonly http2?: Http2Stats | undefined;
    }>();
    expectTypeOf<Http2Stats>().toEqualTypeOf<{
      readonly streams: number;
      readonly sessions: number;
      readonly goaways: number;
      readonly refusedStreams: number;
      readonly sessionsLost: number;
    }>();
    const guard = attach(axios.create({ adapter: recording }), { agents: false });
    guards.push(guard);
    const stats = guard.stats();
    expect(Object.keys(stats.failures)).toEqual([...FAILURE_KINDS]);
    expect(Object.keys(stats.resets)).toEqual([...RESET_KINDS]);
    // the one list in src/kinds.ts is the one the README's table documents
    expect([...FAILURE_KINDS].sort()).toEqual(readmeFailureKinds());
    expect(RESET_KINDS).toEqual(['stale-socket', 'reset', 'reset-mid-response', 'tls-reset']);
    expect(Object.isFrozen(FAILURE_KINDS) && Object.isFrozen(RESET_KINDS)).toBe(true);
    expect(stats.agents).toEqual({ http: undefined, https: undefined }); // agents: false, none of the instance's
    expect(() => {
      // @ts-expect-error a stats snapshot is read-only (and frozen)
      stats.requests = 1;
    }).toThrow(TypeError);
  });

  test('createClient(options?, axiosConfig?) returns an axios instance with its guard', async () => {
    expectTypeOf(createClient).parameters.toEqualTypeOf<[options?: GuardOptions, axiosConfig?: CreateAxiosDefaults]>();
    expectTypeOf(createClient).returns.toEqualTypeOf<GuardedInstance>();
    expectTypeOf<GuardedInstance>().toExtend<AxiosInstance>();
    expectTypeOf<GuardedInstance['guard']>().toEqualTypeOf<Guard>();
    const client = createClient(
      { agents: false, retries: 1 },
      { adapter: recording, baseURL: 'http://orders.internal' },
    );
    guards.push(client.guard);
    const res = await client.get<string>('/orders/42', { resetGuard: { retries: 0 } });
    expectTypeOf(res.data).toEqualTypeOf<string>();
    expect(res.data).toBe('ok');
    expect(client.guard.options.retries).toBe(1);
  });

  test('attemptOf(configOrResponseOrError): AttemptInfo | undefined', async () => {
    expectTypeOf(attemptOf).toEqualTypeOf<(value: unknown) => AttemptInfo | undefined>();
    expectTypeOf<AttemptInfo>().toEqualTypeOf<{
      readonly requestId: string;
      readonly attempt: number;
      readonly maxAttempts: number;
      readonly firstStartedAt: number;
      readonly startedAt: number;
      readonly history: readonly FailureRecord[];
    }>();
    const info = attemptOf(await guarded().get('/a'));
    expect(Object.isFrozen(info)).toBe(true);
    expect(Object.keys(info ?? {}).sort()).toEqual([
      'attempt',
      'firstStartedAt',
      'history',
      'maxAttempts',
      'requestId',
      'startedAt',
    ]);
    expect(attemptOf({})).toBeUndefined();
  });

  test('classify(error): a frozen Classification', () => {
    expectTypeOf(classify).toEqualTypeOf<(error: unknown) => Classification>();
    expectTypeOf<Classification>().toEqualTypeOf<{
      readonly kind: FailureKind;
      readonly retryable: boolean;
      readonly reusedSocket: boolean;
      readonly responseStarted: boolean;
      readonly idleMs: number | undefined;
      readonly code: string | undefined;
      readonly status?: number | undefined;
    }>();
    expectTypeOf<FailureKind>().toEqualTypeOf<(typeof FAILURE_KINDS)[number]>();
    expectTypeOf<ResetKind>().toExtend<FailureKind>();
    expectTypeOf<ResetKind>().toEqualTypeOf<'stale-socket' | 'reset' | 'reset-mid-response' | 'tls-reset'>();
    const classification = classify(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' }));
    expect(Object.isFrozen(classification)).toBe(true);
    expect(classification).toEqual({
      kind: 'reset',
      retryable: true,
      reusedSocket: false,
      responseStarted: false,
      idleMs: undefined,
      code: 'ECONNRESET',
    });
  });

  test('failureOf(error): ResetGuardErrorInfo | undefined', () => {
    expectTypeOf(failureOf).toEqualTypeOf<(error: unknown) => ResetGuardErrorInfo | undefined>();
    expectTypeOf<ResetGuardErrorInfo>().toEqualTypeOf<{
      readonly attempt: AttemptInfo;
      readonly classification: Classification;
      readonly reason: string;
    }>();
    expect(failureOf(new Error('not from axios'))).toBeUndefined();
  });

  test('errors: classes with stable codes, and a guard that narrows', () => {
    expectTypeOf<ResetGuardOptionError>().toExtend<TypeError>();
    expectTypeOf<ResetGuardOptionError['code']>().toEqualTypeOf<'ERR_RESET_GUARD_OPTION'>();
    expectTypeOf<ResetGuardOptionError['option']>().toEqualTypeOf<string>();
    expectTypeOf<ResetGuardOptionError['value']>().toBeUnknown();
    expectTypeOf<ResetGuardAttachError['code']>().toEqualTypeOf<'ERR_RESET_GUARD_ATTACHED'>();
    expectTypeOf<ResetGuardConflictError['code']>().toEqualTypeOf<'ERR_RESET_GUARD_CONFLICT'>();
    expectTypeOf<ResetGuardConflictError['library']>().toEqualTypeOf<RetryLibrary>();
    expectTypeOf<RetryLibrary>().toEqualTypeOf<'axios-retry' | 'retry-axios'>();
    expectTypeOf<ResetGuardErrorCode>().toEqualTypeOf<
      'ERR_RESET_GUARD_OPTION' | 'ERR_RESET_GUARD_ATTACHED' | 'ERR_RESET_GUARD_CONFLICT'
    >();
    expectTypeOf(isResetGuardError).guards.toEqualTypeOf<
      ResetGuardOptionError | ResetGuardAttachError | ResetGuardConflictError
    >();
    // not an attach error: code that ignores "already guarded" must not swallow it
    expectTypeOf<ResetGuardConflictError>().not.toExtend<ResetGuardAttachError>();
    const error: unknown = new ResetGuardAttachError();
    if (!isResetGuardError(error)) throw new Error('expected a guard error');
    expectTypeOf(error.code).toEqualTypeOf<ResetGuardErrorCode>();
    expect(error.code).toBe('ERR_RESET_GUARD_ATTACHED');
  });
});
