/**
 * Sending the attempts of one logical request. The first goes straight to the user's
 * adapter; a failure the policy retries continues in a private axios instance whose loop
 * is axios-retry's (the only file that knows axios-retry). Each attempt starts with fresh
 * headers, its attempt number and its time bound cut to what the deadline leaves.
 */
import { performance } from 'node:perf_hooks';
import axios, {
  AxiosHeaders,
  getAdapter,
  isAxiosError,
  type AxiosInstance,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry from 'axios-retry';
import type { Counters, GuardContext } from './context';
import { onAttemptFailed } from './decide';
import { traceAttempt, tracingAttempts } from './events';
import { stateOf, type RequestState } from './state';
import { sendBounded } from './time-bounds';
import { freshBody } from './uploads';
import { beforeRetry } from './wait';

// The outer request is already transformed once; attempts must send and return raw data.
const IDENTITY = [(data: unknown): unknown => data];

/** The private instance that sends the retries of one logical request, looped by axios-retry. */
export function createPipeline(ctx: GuardContext): AxiosInstance {
  const pipeline = axios.create();
  // Attempt configs arrive fully merged from the user's instance: add no defaults, not even
  // axios's global ones (auth, per-method headers), or retries would send what the first didn't.
  // (In place: the instance function and its Axios context share this one object.)
  const defaults = pipeline.defaults as unknown as Record<string, unknown>;
  for (const key of Object.keys(defaults)) delete defaults[key];
  defaults.headers = {};

  // Response interceptors run in the order added: classify and decide before axios-retry asks.
  pipeline.interceptors.response.use(undefined, (error: unknown) => {
    onAttemptFailed(error, ctx);
    throw error;
  });
  axiosRetry(pipeline, {
    retries: 0, // replaced per request below
    shouldResetTimeout: true, // each attempt gets the full `timeout`
    retryCondition: (error) => stateOf(error.config)?.decision?.retry === true,
    retryDelay: () => 0, // we wait in onRetry: abortable, injectable, CancelToken-aware
    onRetry: (_count, error, config) => beforeRetry(error, config, ctx),
  });
  // Request interceptors run in reverse order: this one runs before axios-retry reads its options.
  pipeline.interceptors.request.use((config) => {
    const state = stateOf(config) as RequestState;
    config['axios-retry'] = { ...config['axios-retry'], retries: state.maxAttempts - 1 };
    // On the merged config the pipeline dispatches (hooks saw the copy, with the user's adapter).
    config.adapter = (c) => toAdapter(c, state, ctx);
    if (state.options.body !== undefined) freshBody(config, state);
    return onAttemptStart(config, ctx.counters);
  });
  return pipeline;
}

/**
 * Sends every attempt of the request whose state is on `config` and resolves with the
 * response of the one that succeeded; rejects with the error that ended the request.
 */
export async function sendAttempts(
  config: InternalAxiosRequestConfig,
  state: RequestState,
  ctx: GuardContext,
  pipeline: AxiosInstance,
): Promise<AxiosResponse> {
  // The first attempt goes to the adapter on the user's config itself (adapters read
  // neither `adapter` nor the transforms): a copy costs ~1.3 us and ~2 KB per request, and
  // only the retry pipeline needs one. The attempt's time bound is written on the user's
  // config for that attempt, then the user's own comes back.
  const timeout = config.timeout;
  try {
    return await firstAttempt(config, state, ctx);
  } catch (error) {
    // Only a failure the policy will retry enters axios-retry's loop: the wait and the
    // retry count are set exactly as axios-retry's own onRetry/retryCount would be.
    if (!isAxiosError(error) || state.decision?.retry !== true) throw error;
    // The user's adapter (never the guard's own), and no second transform of the data.
    const attemptConfig = copyConfig(config, {
      adapter: state.adapter,
      transformRequest: IDENTITY,
      transformResponse: IDENTITY,
    });
    await beforeRetry(error, attemptConfig, ctx);
    attemptConfig['axios-retry'] = { retryCount: 1 };
    return pipeline.request(attemptConfig);
  } finally {
    if (timeout === undefined) delete config.timeout;
    else config.timeout = timeout;
  }
}

/**
 * A shallow copy of the config's own enumerable properties with `overrides` on top, as a
 * spread makes. axios 1.x
 * builds configs with a null prototype, and V8 spreads such an object several times
 * slower than this loop (4.7 against 0.7 µs for a 16-key config, Node 20).
 */
function copyConfig(
  config: InternalAxiosRequestConfig,
  overrides: Readonly<Record<string, unknown>>,
): InternalAxiosRequestConfig {
  const source = config as unknown as Record<string | symbol, unknown>;
  const copy: Record<string | symbol, unknown> = {};
  for (const key of Object.keys(source)) copy[key] = source[key];
  for (const key of Object.getOwnPropertySymbols(source)) {
    if (Object.prototype.propertyIsEnumerable.call(source, key)) copy[key] = source[key];
  }
  for (const key of Object.keys(overrides)) copy[key] = overrides[key];
  return copy as unknown as InternalAxiosRequestConfig;
}

/**
 * The first attempt goes straight to the adapter: the user's instance has already merged
 * and transformed the config, and a second pass through axios's pipeline would cost about
 * as much as the request itself on a fast network. Retries go through the pipeline.
 */
async function firstAttempt(
  config: InternalAxiosRequestConfig,
  state: RequestState,
  ctx: GuardContext,
): Promise<AxiosResponse> {
  // An AxiosHeaders after the user's instance's transforms (from() returns it as it is).
  config.headers = AxiosHeaders.from(config.headers);
  onAttemptStart(config, ctx.counters);
  try {
    return await toAdapter(config, state, ctx);
  } catch (error) {
    onAttemptFailed(error, ctx);
    throw error;
  }
}

/**
 * One attempt to the user's adapter, marked as the attempt being sent so that the
 * black-hole watch on the guard's agents can ask whether it would be resent.
 */
function toAdapter(config: InternalAxiosRequestConfig, state: RequestState, ctx: GuardContext): Promise<AxiosResponse> {
  // the config lets the fetch adapter pick up a custom `env.fetch`, as axios does
  const adapter = getAdapter(state.adapter ?? axios.defaults.adapter, config);
  // Under attemptTimeoutMs or deadlineMs, in wall time: the guard's own timer (time-bounds.ts).
  if (!tracingAttempts()) return sendBounded(adapter, config, state, ctx);
  const { requestId, attempt, maxAttempts } = state;
  return traceAttempt(config, { requestId, attempt, maxAttempts }, () => sendBounded(adapter, config, state, ctx));
}

function onAttemptStart(config: InternalAxiosRequestConfig, counters: Counters): InternalAxiosRequestConfig {
  const state = stateOf(config) as RequestState;
  state.attempt += 1;
  state.startedAt = Date.now();
  // A number, not eventLoopUtilization()'s object: nothing allocated per attempt.
  state.idleAtStart = performance.nodeTiming.idleTime;
  counters.attempts += 1;
  const remaining = state.remainingMs(state.startedAt);
  if (remaining === undefined) config.timeout = state.attemptTimeout;
  else {
    // No attempt may outlive the deadline (axios treats timeout 0 as "none", hence >= 1).
    const left = Math.max(1, remaining);
    config.timeout = state.attemptTimeout > 0 ? Math.min(state.attemptTimeout, left) : left;
  }
  const { attemptHeader, requestIdHeader } = state.options;
  if (attemptHeader !== false) config.headers.set(attemptHeader, `${state.attempt}/${state.maxAttempts}`);
  if (requestIdHeader !== false) config.headers.set(requestIdHeader, state.requestId);
  return config;
}
