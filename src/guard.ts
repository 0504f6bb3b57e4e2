import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import axios, {
  AxiosError as AxiosErrorClass,
  AxiosHeaders,
  CanceledError,
  getAdapter,
  isAxiosError,
  isCancel,
  type AxiosAdapter,
  type AxiosError,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type CreateAxiosDefaults,
  type InternalAxiosRequestConfig,
} from 'axios';
import axiosRetry from 'axios-retry';
import { agentStatus, createAgent, hintOf, learnedIdleLimit, type AgentStatus } from './agent';
import { isReplayableBody } from './body';
import { RetryBudget, type BudgetStats } from './budget';
import { classifyError } from './classify';
import { ResetGuardAttachError, ResetGuardOptionError } from './errors';
import { logDecision, publishGiveUp, publishReset, publishRetry } from './events';
import {
  mergeRequestOptions,
  normalizeOptions,
  type GuardOptions,
  type RequestOptions,
  type ResolvedOptions,
} from './options';
import { deadlineRefusal, decideRetry, isIdempotentMethod, refusal, type RetryDecision } from './policy';
import { redactErrorJSON, requestLabel, secretNames } from './redact';
import { parseRetryAfter } from './retry-after';
import { isPoolingAgent, nativeRequestOf, purgeIdlePeers, stampOf, trackIdle } from './socket';
import { RequestState, STATE_KEY, stateOf } from './state';
import type { FailureKind, GiveUpInfo, ResetGuardErrorInfo, ResetKind, RetryInfo } from './types';

declare module 'axios' {
  // The type parameters must repeat axios's own names for the merge to apply (its
  // declaration carries the defaults); they are unused here.
  // eslint-disable-next-line @typescript-eslint/no-unused-vars
  interface AxiosRequestConfig<D, P> {
    /** Per-request options of axios-reset-guard, merged over the instance's. */
    resetGuard?: RequestOptions;
  }
}

/** Counters of one guard, from `guard.stats()`. */
export interface GuardStats {
  /** Logical requests sent through the guard. */
  readonly requests: number;
  /** Attempts sent (first tries and retries). */
  readonly attempts: number;
  /** Retries sent after a failed attempt (counted once the wait is over and the retry goes out). */
  readonly retries: number;
  /** Requests that succeeded after at least one retry. */
  readonly recovered: number;
  /** Requests that ended with a transient failure the guard could not (or must not) retry further. */
  readonly gaveUp: number;
  /** Failed attempts by reset kind. */
  readonly resets: Readonly<Record<ResetKind, number>>;
  /** Failed attempts by every kind (resets included). */
  readonly failures: Readonly<Record<FailureKind, number>>;
  /** Stale free sockets destroyed because a socket of the same pool, idle no longer, was found dead. */
  readonly purgedSockets: number;
  /** Idle limits learned from stale-socket resets, in ms, by agent pool (origin). */
  readonly learnedIdleLimits: Readonly<Record<string, number>>;
  /** Per origin, keyed by the agent's pool name (`host:port:...`). */
  readonly origins: Readonly<Record<string, OriginStats>>;
  /** Socket counts of the agents in use (`guard.agents`); `undefined` where there is none. */
  readonly agents: {
    /** The agent for `http:` requests. */
    readonly http: AgentStatus | undefined;
    /** The agent for `https:` requests. */
    readonly https: AgentStatus | undefined;
  };
  /** The retry budget (`undefined` when `retryBudget` is false). */
  readonly budget: BudgetStats | undefined;
}

/** One origin's entry in `guard.stats().origins`. */
export interface OriginStats {
  /** Idle sockets to this origin waiting in the pool for reuse. */
  readonly freeSockets: number;
  /** Sockets to this origin carrying a request now. */
  readonly activeSockets: number;
  /** The idle time a free socket to this origin gets now, on the guard's agents. */
  readonly freeSocketTimeout: number;
  /** Where that value comes from: the option, the server's Keep-Alive hint, or a learned limit. */
  readonly freeSocketTimeoutSource: 'default' | 'hint' | 'learned';
  /** Attempts to this origin that failed on a stale pooled socket. */
  readonly staleResets: number;
}

/** The handle `attach()` returns. */
export interface Guard {
  /** The instance-level options, after defaults and validation. */
  readonly options: ResolvedOptions;
  /** The agents in use: the guard's own agentkeepalive agents, or the instance's. */
  readonly agents: {
    /** The agent for `http:` requests, if any. */
    readonly http: Agent | undefined;
    /** The agent for `https:` requests, if any. */
    readonly https: Agent | undefined;
  };
  /** A frozen snapshot of the guard's counters, agents and per-origin state. */
  stats(): GuardStats;
  /** Removes every interceptor the guard added and destroys only the agents it created. Idempotent. */
  detach(): void;
}

/** An Axios instance made by `createClient()`. */
export type GuardedInstance = AxiosInstance & {
  /** The guard attached to this instance. */
  readonly guard: Guard;
};

const GUARD = Symbol.for('axios-reset-guard.guard');
// On the per-request adapter the guard installs: the adapter it stands in for.
const ORIGINAL = Symbol.for('axios-reset-guard.adapter');
const RESET_KINDS: readonly ResetKind[] = ['stale-socket', 'reset', 'reset-mid-response', 'tls-reset'];
const KINDS: readonly FailureKind[] = [...RESET_KINDS, 'refused', 'timeout', 'dns', 'canceled', 'http-status', 'other'];
// The outer request is already transformed once; attempts must send and return raw data.
const IDENTITY = [(data: unknown): unknown => data];

type GuardedError = AxiosError & { resetGuard?: ResetGuardErrorInfo };
type Marked = AxiosInstance & { [GUARD]?: Guard };
type StatefulConfig = InternalAxiosRequestConfig & { [STATE_KEY]?: RequestState };
type UserAdapter = AxiosRequestConfig['adapter'];
type GuardedAdapter = AxiosAdapter & { [ORIGINAL]?: UserAdapter };

/** What the per-attempt steps of one guard share. */
interface GuardContext {
  /** Set by detach(): requests still in flight get no further attempt. */
  detached: boolean;
  /** Aborted by detach(): ends pending waits at once. */
  readonly stop: AbortController;
  readonly counters: Counters;
  readonly budget: RetryBudget | undefined;
  readonly secrets: ReadonlySet<string>;
}

class Counters {
  requests = 0;
  attempts = 0;
  retries = 0;
  recovered = 0;
  gaveUp = 0;
  purgedSockets = 0;
  /** Learned idle limit per agent pool; written on stale resets, read when a socket goes free. */
  readonly learned = new Map<string, number>();
  /** Last Keep-Alive hint seen per pool, and stale resets per pool. */
  readonly hints = new Map<string, number>();
  readonly staleByPool = new Map<string, number>();
  readonly failures = Object.fromEntries(KINDS.map((k) => [k, 0])) as Record<FailureKind, number>;
}

/**
 * Registers the guard on an existing Axios instance: one request interceptor that swaps
 * the request's adapter for the guard's (first attempt straight to your adapter; retries
 * through a private pipeline of per-attempt interceptors + axios-retry), and
 * agentkeepalive agents unless the instance has its own.
 *
 * Your own interceptors keep running exactly once per logical request, whatever order
 * they were added in: retries happen below them.
 * @throws {ResetGuardAttachError} when the instance already has a guard.
 * @throws {ResetGuardOptionError} on an invalid option.
 */
export function attach(instance: AxiosInstance, options?: GuardOptions): Guard {
  const marked = instance as Marked;
  if (marked[GUARD] !== undefined) throw new ResetGuardAttachError();
  const resolved = normalizeOptions(options);
  const counters = new Counters();

  const previous = { http: instance.defaults.httpAgent as unknown, https: instance.defaults.httpsAgent as unknown };
  const owned: Agent[] = [];
  const pick = (protocol: 'http' | 'https', current: unknown): Agent | undefined => {
    if (isPoolingAgent(current)) return current;
    if (current !== undefined || !resolved.agents) return undefined;
    const agent = createAgent(protocol, resolved);
    owned.push(agent);
    return agent;
  };
  const agents = Object.freeze({ http: pick('http', previous.http), https: pick('https', previous.https) });
  if (agents.http !== undefined && previous.http === undefined) instance.defaults.httpAgent = agents.http;
  if (agents.https !== undefined && previous.https === undefined) instance.defaults.httpsAgent = agents.https;
  // Learned limits shorten free sockets on the guard's own agents only: this listener runs
  // after agentkeepalive's, so its socket timeout is the one that stands.
  const applyLearned = (socket: Socket, pool: string): void => {
    const hint = hintOf(socket);
    if (hint === undefined) counters.hints.delete(pool);
    else counters.hints.set(pool, hint);
    if (!resolved.learnIdleLimits) return;
    const limit = counters.learned.get(pool);
    if (limit !== undefined && (socket.timeout === undefined || socket.timeout === 0 || socket.timeout > limit)) {
      socket.setTimeout(limit);
    }
  };
  const untrack = [agents.http, agents.https]
    .filter((a): a is Agent => a !== undefined)
    .map((a) => trackIdle(a, owned.includes(a) ? applyLearned : undefined));

  const ctx: GuardContext = {
    detached: false,
    stop: new AbortController(),
    counters,
    budget: resolved.retryBudget === false ? undefined : new RetryBudget(resolved.retryBudget),
    secrets: secretNames(resolved.redactHeaders),
  };
  const pipeline = createPipeline(ctx);
  // Runs after every request interceptor, whatever the order they were added in, so it
  // sees the final `config.resetGuard`. Each call is a new logical request with fresh state.
  const run = async (config: StatefulConfig, adapter: UserAdapter): Promise<AxiosResponse> => {
    if (ctx.detached) {
      // no stale metadata from an earlier trip through the guard
      delete config[STATE_KEY];
      return getAdapter(adapter ?? axios.defaults.adapter, config)(config);
    }
    const state = new RequestState(randomUUID(), mergeRequestOptions(resolved, config.resetGuard), Date.now());
    state.adapter = adapter;
    state.attemptTimeout = attemptTimeoutOf(state.options.attemptTimeoutMs, config.timeout);
    config[STATE_KEY] = state;
    counters.requests += 1;
    addIdempotencyKey(config, state);
    const attemptConfig = {
      ...config,
      adapter,
      transformRequest: IDENTITY,
      transformResponse: IDENTITY,
    } as InternalAxiosRequestConfig;
    try {
      const response = await firstAttempt(attemptConfig, state, ctx).catch(async (error: unknown) => {
        // Only a failure the policy will retry enters axios-retry's loop: the wait and the
        // retry count are set exactly as axios-retry's own onRetry/retryCount would be.
        if (!isAxiosError(error) || state.decision?.retry !== true) throw error;
        await beforeRetry(error, attemptConfig, ctx);
        attemptConfig['axios-retry'] = { retryCount: 1 };
        return pipeline.request(attemptConfig);
      });
      if (state.attempt > 1) counters.recovered += 1;
      ctx.budget?.onSuccess(state.lastCost);
      response.config = config;
      return response;
    } catch (error) {
      throw await settleFailure(error, config, state, ctx);
    }
  };

  const interceptorId = instance.interceptors.request.use((config: StatefulConfig) => {
    // A config re-sent by hand (error.config) carries a guard's adapter: unwrap the one it stands in for.
    const current = config.adapter as GuardedAdapter | UserAdapter;
    const adapter = typeof current === 'function' && ORIGINAL in current ? current[ORIGINAL] : current;
    const guarded: GuardedAdapter = (c) => run(c, adapter);
    guarded[ORIGINAL] = adapter;
    config.adapter = guarded;
    return config;
  });

  const guard: Guard = Object.freeze({
    options: resolved,
    agents,
    stats: (): GuardStats => snapshot(ctx, agents, resolved.freeSocketTimeout),
    detach: (): void => {
      if (ctx.detached) return;
      ctx.detached = true;
      ctx.stop.abort();
      instance.interceptors.request.eject(interceptorId);
      if (previous.http === undefined && instance.defaults.httpAgent === agents.http)
        delete instance.defaults.httpAgent;
      if (previous.https === undefined && instance.defaults.httpsAgent === agents.https)
        delete instance.defaults.httpsAgent;
      for (const undo of untrack) undo();
      for (const agent of owned) agent.destroy();
      delete marked[GUARD];
    },
  });
  Object.defineProperty(marked, GUARD, { value: guard, configurable: true, enumerable: false });
  return guard;
}

/**
 * `axios.create(axiosConfig)` with a guard attached; the guard is `client.guard`.
 * @example
 * const client = createClient({ retries: 2 }, { baseURL: 'http://api.internal' });
 */
export function createClient(options?: GuardOptions, axiosConfig?: CreateAxiosDefaults): GuardedInstance {
  const client = axios.create(axiosConfig);
  const guard = attach(client, options);
  return Object.defineProperty(client, 'guard', { value: guard, enumerable: false }) as GuardedInstance;
}

/** The private instance that sends the retries of one logical request, looped by axios-retry. */
function createPipeline(ctx: GuardContext): AxiosInstance {
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
    retries: 0, // replaced per request by onAttemptStart
    shouldResetTimeout: true, // each attempt gets the full `timeout`
    retryCondition: (error) => stateOf(error.config)?.decision?.retry === true,
    retryDelay: () => 0, // we wait in onRetry: abortable, injectable, CancelToken-aware
    onRetry: (_count, error, config) => beforeRetry(error, config, ctx),
  });
  // Request interceptors run in reverse order: this one runs before axios-retry reads its options.
  pipeline.interceptors.request.use((config) => {
    const state = stateOf(config) as RequestState;
    config['axios-retry'] = { ...config['axios-retry'], retries: state.maxAttempts - 1 };
    return onAttemptStart(config, ctx.counters);
  });
  return pipeline;
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
  // Each attempt gets its own headers object: adapters add to it (Content-Length, ...).
  config.headers = AxiosHeaders.from(config.headers);
  onAttemptStart(config, ctx.counters);
  try {
    // the config lets the fetch adapter pick up a custom `env.fetch`, as axios does
    return await getAdapter(state.adapter ?? axios.defaults.adapter, config)(config);
  } catch (error) {
    onAttemptFailed(error, ctx);
    throw error;
  }
}

/** The shorter of `attemptTimeoutMs` and axios's `timeout`, where 0 means none. */
function attemptTimeoutOf(attemptTimeoutMs: number, timeout: number | undefined): number {
  const axiosTimeout = timeout ?? 0;
  if (attemptTimeoutMs > 0 && axiosTimeout > 0) return Math.min(attemptTimeoutMs, axiosTimeout);
  return attemptTimeoutMs > 0 ? attemptTimeoutMs : axiosTimeout;
}

// RFC 9110 field-value: visible characters, inner spaces or tabs only (no CR, LF, NUL, no edge spaces).
const HEADER_VALUE = /^[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?$/;

/** Gives a non-idempotent request its `Idempotency-Key`, once per logical request. */
function addIdempotencyKey(config: InternalAxiosRequestConfig, state: RequestState): void {
  const factory = state.options.idempotencyKey;
  if (factory === false || isIdempotentMethod(config.method)) return;
  const headers = AxiosHeaders.from(config.headers);
  if (headers.has('idempotency-key')) return;
  const key: unknown = factory === true ? randomUUID() : factory(config);
  if (typeof key !== 'string' || !HEADER_VALUE.test(key)) {
    throw new ResetGuardOptionError('idempotencyKey', key, 'a function returning a non-empty header value');
  }
  headers.set('Idempotency-Key', key);
  config.headers = headers;
}

function onAttemptStart(config: InternalAxiosRequestConfig, counters: Counters): InternalAxiosRequestConfig {
  const state = stateOf(config) as RequestState;
  state.attempt += 1;
  state.startedAt = Date.now();
  state.loopAtStart = performance.eventLoopUtilization();
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

function onAttemptFailed(error: unknown, ctx: GuardContext): void {
  if (!isAxiosError(error) || error.config === undefined) return;
  const state = stateOf(error.config);
  if (state === undefined) return;
  const { counters, budget } = ctx;
  const config = error.config;
  state.failedAt = Date.now();
  const classification = classifyError(error, {
    startedAt: state.startedAt,
    failedAt: state.failedAt,
    // Time this process spent computing (GC, CPU work, building a big body) is not
    // time the network took to answer: only the rest counts against staleWindowMs.
    busyMs: state.loopAtStart === undefined ? 0 : performance.eventLoopUtilization(state.loopAtStart).active,
    staleWindowMs: state.options.staleWindowMs,
  });
  state.classification = classification;
  counters.failures[classification.kind] += 1;
  if (RESET_KINDS.includes(classification.kind as ResetKind)) {
    const native = nativeRequestOf(error.request);
    const socket = native?.socket;
    const agent = (native as { agent?: unknown } | undefined)?.agent;
    const stamp = stampOf(socket);
    // A socket that saw a reset is never handed out again.
    if (socket && !socket.destroyed) socket.destroy();
    publishReset(() =>
      Object.freeze({
        requestId: state.requestId,
        attempt: state.attempt,
        ...requestLabel(config),
        kind: classification.kind as ResetKind,
        code: classification.code,
        reusedSocket: classification.reusedSocket,
        idleMs: classification.idleMs,
        pool: stamp?.pool,
      }),
    );
    if (classification.kind === 'stale-socket' && stamp !== undefined && isPoolingAgent(agent)) {
      counters.purgedSockets += purgeIdlePeers(agent, stamp);
      counters.staleByPool.set(stamp.pool, (counters.staleByPool.get(stamp.pool) ?? 0) + 1);
      if (classification.idleMs !== undefined && state.options.learnIdleLimits) {
        const limit = learnedIdleLimit(classification.idleMs);
        counters.learned.set(stamp.pool, Math.min(limit, counters.learned.get(stamp.pool) ?? limit));
      }
    }
  }
  const cost = budget?.costOf(classification.kind);
  const decision: RetryDecision = ctx.detached
    ? refusal('the guard was detached while the request was in flight')
    : decideRetry({
        classification,
        method: config.method,
        hasIdempotencyKey: config.headers?.has?.('idempotency-key') === true,
        bodyReplayable: isReplayableBody(config.data),
        attempt: state.attempt,
        staleReplays: state.staleReplays,
        retryAfterMs: classification.kind === 'http-status' ? retryAfterOf(error.response) : undefined,
        remainingMs: state.remainingMs(),
        budgetTokens: budget?.available,
        budgetCost: cost,
        options: state.options,
      });
  state.decision = decision;
  // Withdrawn in the same tick as the decision, so concurrent failures cannot overdraw.
  if (decision.retry && budget !== undefined && cost !== undefined) {
    budget.withdraw(cost);
    state.lastCost = cost;
  } else if (decision.limit === 'budget') budget?.refuse();
  logDecision(config, state.attempt, state.maxAttempts, classification, decision);
}

function retryAfterOf(response: AxiosResponse | undefined): number | undefined {
  const headers = response?.headers as (Record<string, unknown> & { get?: (name: string) => unknown }) | undefined;
  if (headers === undefined || headers === null) return undefined;
  // AxiosHeaders looks names up case-insensitively; a plain object from a custom adapter may not.
  if (typeof headers.get === 'function') return parseRetryAfter(headers.get('retry-after'));
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'retry-after');
  return name === undefined ? undefined : parseRetryAfter(headers[name]);
}

function discard(data: unknown): void {
  const stream = data as { destroy?: unknown; cancel?: unknown } | null | undefined;
  if (typeof stream?.destroy === 'function') (stream.destroy as () => void).call(stream);
  else if (typeof stream?.cancel === 'function')
    void (stream.cancel as () => Promise<void>).call(stream).catch(() => {});
}

/** A frozen payload whose enumerable fields are safe to log; `raw` fields are non-enumerable. */
function payload<T extends object>(summary: Omit<T, 'error' | 'config'>, raw: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(raw)) Object.defineProperty(summary, key, { value, enumerable: false });
  return Object.freeze(summary) as T;
}

async function beforeRetry(error: AxiosError, config: AxiosRequestConfig, ctx: GuardContext): Promise<void> {
  const state = stateOf(config) as RequestState;
  const classification = state.classification;
  const decision = state.decision;
  if (classification === undefined || decision === undefined) return;
  const { options } = state;
  const { delayMs } = decision;
  if (decision.staleReplay) state.staleReplays += 1;
  state.history.push(
    Object.freeze({
      attempt: state.attempt,
      code: classification.code,
      kind: classification.kind,
      reusedSocket: classification.reusedSocket,
      idleMs: classification.idleMs,
      durationMs: Math.max(0, state.failedAt - state.startedAt),
      delayMs,
    }),
  );
  const info = payload<RetryInfo>(
    {
      requestId: state.requestId,
      ...requestLabel(config),
      attempt: state.attempt,
      nextAttempt: state.attempt + 1,
      maxAttempts: state.maxAttempts,
      delayMs,
      classification,
      reason: decision.reason,
    },
    { error, config },
  );
  publishRetry(info);
  const giveBack = (): void => ctx.budget?.deposit(state.lastCost);
  // The hook and the wait take time: the retry must still fit the deadline, and the guard be attached.
  const lateness = (waitMs: number): RetryDecision | undefined =>
    ctx.detached
      ? refusal('the guard was detached while the request was waiting to retry')
      : deadlineRefusal(options.deadlineMs, state.attempt, state.remainingMs(), waitMs);
  const refuse = (late: RetryDecision): never => {
    giveBack();
    state.decision = late;
    throw error;
  };
  try {
    await options.onRetry?.(info);
  } catch (reason) {
    // No retry will be sent: its tokens go back, and a hook's error ends the request as it is.
    giveBack();
    state.hookError = reason;
    throw reason;
  }
  const beforeWait = lateness(delayMs);
  if (beforeWait !== undefined) refuse(beforeWait);
  try {
    await waitBeforeRetry(delayMs, config, options.sleep, ctx.stop.signal);
  } catch (reason) {
    giveBack();
    if (!isCancel(reason)) state.hookError = reason;
    throw reason;
  }
  const afterWait = lateness(0);
  if (afterWait !== undefined) refuse(afterWait);
  // Only now is the retry certain: a streamed body it replaces is dropped, or its socket
  // would stay out of the pool for good (and, with maxSockets, starve the retry itself).
  discard(error.response?.data);
  ctx.counters.retries += 1;
}

interface Subscribable {
  reason?: unknown;
  subscribe?: (listener: () => void) => void;
  unsubscribe?: (listener: () => void) => void;
}

/** Sleeps `ms`, rejecting at once with axios's CanceledError if the signal or CancelToken fires. */
async function waitBeforeRetry(
  ms: number,
  config: AxiosRequestConfig,
  sleep: (ms: number, signal?: AbortSignal) => Promise<void>,
  stop: AbortSignal,
): Promise<void> {
  const signal = config.signal;
  const token = config.cancelToken as Subscribable | undefined;
  const canceled = (): unknown => token?.reason ?? new CanceledError(undefined, config as InternalAxiosRequestConfig);
  if (signal?.aborted === true || token?.reason !== undefined) throw canceled();
  if (ms <= 0 || stop.aborted) return;
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  signal?.addEventListener?.('abort', abort);
  token?.subscribe?.(abort);
  // detach() ends the wait early; the caller then sees the guard detached and sends nothing.
  stop.addEventListener('abort', abort);
  try {
    await sleep(ms, controller.signal);
  } catch (error) {
    if (stop.aborted) return;
    throw controller.signal.aborted ? canceled() : error;
  } finally {
    signal?.removeEventListener?.('abort', abort);
    token?.unsubscribe?.(abort);
    stop.removeEventListener('abort', abort);
  }
}

/**
 * Puts the user's config, the attempt metadata and the reason on the final error, makes
 * its `toJSON()` redacted, and fires onGiveUp. A hook's own error is passed on untouched.
 */
async function settleFailure(
  error: unknown,
  config: InternalAxiosRequestConfig,
  state: RequestState,
  ctx: GuardContext,
): Promise<unknown> {
  if (error === state.hookError) {
    // A hook's own error passes untouched; the attempt's error rethrown by a hook still
    // gets the user's config back and a redacted toJSON.
    if (isAxiosError(error) && stateOf(error.config) === state) present(error, config, ctx.secrets);
    return error;
  }
  if (!isAxiosError(error)) return error;
  present(error, config, ctx.secrets);
  if (isCancel(error)) return error;
  const classification = state.classification ?? classifyError(error, { startedAt: state.startedAt });
  const reason = state.decision?.reason ?? `a ${classification.kind} failure is not retried`;
  const info: ResetGuardErrorInfo = Object.freeze({ attempt: state.snapshot(), classification, reason });
  (error as GuardedError).resetGuard = info;
  if (state.decision?.transient ?? classification.retryable) {
    ctx.counters.gaveUp += 1;
    const giveUp = payload<GiveUpInfo>(
      {
        requestId: state.requestId,
        ...requestLabel(config),
        attempts: state.attempt,
        classification,
        reason,
      },
      { error },
    );
    publishGiveUp(giveUp);
    await state.options.onGiveUp?.(giveUp);
  }
  return error;
}

/** Gives the final error the user's config and a `toJSON()` that redacts secrets. */
function present(error: AxiosError, config: InternalAxiosRequestConfig, secrets: ReadonlySet<string>): void {
  error.config = config;
  if (error.response !== undefined) error.response.config = config;
  Object.defineProperty(error, 'toJSON', {
    configurable: true,
    writable: true,
    value(this: AxiosError): unknown {
      const json = redactErrorJSON(AxiosErrorClass.prototype.toJSON.call(this), secrets) as Record<string, unknown>;
      const info = (this as GuardedError).resetGuard;
      return info === undefined ? json : { ...json, resetGuard: info };
    },
  });
}

function originStats(counters: Counters, agents: Guard['agents'], configured: number): Record<string, OriginStats> {
  const count = (pools: NodeJS.ReadOnlyDict<readonly unknown[]>, name: string): number => pools[name]?.length ?? 0;
  const live = [agents.http, agents.https].filter((a): a is Agent => a !== undefined);
  const names = new Set<string>([
    ...live.flatMap((a) => [...Object.keys(a.freeSockets), ...Object.keys(a.sockets)]),
    ...counters.learned.keys(),
    ...counters.staleByPool.keys(),
  ]);
  const out: Record<string, OriginStats> = {};
  for (const name of names) {
    let freeSocketTimeout = configured;
    let source: OriginStats['freeSocketTimeoutSource'] = 'default';
    const hint = counters.hints.get(name);
    if (hint !== undefined && hint < freeSocketTimeout) [freeSocketTimeout, source] = [hint, 'hint'];
    const learned = counters.learned.get(name);
    if (learned !== undefined && learned < freeSocketTimeout) [freeSocketTimeout, source] = [learned, 'learned'];
    out[name] = Object.freeze({
      freeSockets: live.reduce((n, a) => n + count(a.freeSockets, name), 0),
      activeSockets: live.reduce((n, a) => n + count(a.sockets, name), 0),
      freeSocketTimeout,
      freeSocketTimeoutSource: source,
      staleResets: counters.staleByPool.get(name) ?? 0,
    });
  }
  return out;
}

function snapshot(ctx: GuardContext, agents: Guard['agents'], configured: number): GuardStats {
  const { counters } = ctx;
  const failures = Object.freeze({ ...counters.failures });
  return Object.freeze({
    requests: counters.requests,
    attempts: counters.attempts,
    retries: counters.retries,
    recovered: counters.recovered,
    gaveUp: counters.gaveUp,
    resets: Object.freeze(Object.fromEntries(RESET_KINDS.map((k) => [k, failures[k]])) as Record<ResetKind, number>),
    failures,
    purgedSockets: counters.purgedSockets,
    learnedIdleLimits: Object.freeze(Object.fromEntries(counters.learned)),
    origins: Object.freeze(originStats(counters, agents, configured)),
    agents: Object.freeze({
      http: agents.http === undefined ? undefined : agentStatus(agents.http),
      https: agents.https === undefined ? undefined : agentStatus(agents.https),
    }),
    budget: ctx.budget?.stats(),
  });
}

/**
 * What the guard concluded about a request's final error: its attempt metadata, the
 * classification of the last failure and why no further attempt was sent.
 * Also readable as `error.resetGuard`.
 */
export function failureOf(error: unknown): ResetGuardErrorInfo | undefined {
  return isAxiosError(error) ? (error as GuardedError).resetGuard : undefined;
}
