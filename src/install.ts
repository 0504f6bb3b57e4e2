/**
 * Installing the guard on an Axios instance: its agents, its origin memory, and one request
 * interceptor that swaps each request's adapter for the guard's. axios calls that adapter
 * after every request interceptor, whatever their order, so the guard sees the final
 * config; the request then goes through the loop in `request.ts`. `stats.ts` reads the
 * counters, the agents and the origin memory; `detach()` undoes all of it.
 */
import { setMaxListeners } from 'node:events';
import type { Agent } from 'node:http';
import axios, {
  type AxiosAdapter,
  type AxiosInstance,
  type AxiosRequestConfig,
  type AxiosResponse,
  type CreateAxiosDefaults,
  type InternalAxiosRequestConfig,
} from 'axios';
import { createAgent, globalAgentOf, retireAgent } from './agent';
import { adapterFor } from './axios-typings';
import { axiosCapabilities } from './capabilities';
import { Counters, type GuardContext } from './context';
import { InterceptorWatch, retryLibraryOn, retryStateOn } from './conflicts';
import { ResetGuardAttachError, ResetGuardConflictError } from './errors';
import { Http2Ledger } from './h2-ledger';
import { isPoolingAgent } from './native';
import { normalizeOptions } from './normalize';
import type { ResolvedOptions } from './normalize';
import type { GuardOptions } from './options';
import { watchForAnswer } from './no-answer';
import { OriginMemory } from './origins';
import { refuseSeams, seamsOf, withSeams } from './seams';
import { secretsOf } from './redact';
import { runRequest } from './request';
import { STATE_KEY, type RequestState } from './state';
import { snapshot, type GuardAgents, type GuardStats } from './stats';

/** The handle `attach()` returns. */
export interface Guard {
  /** The instance-level options, after defaults and validation. */
  readonly options: ResolvedOptions;
  /** The agents in use: the guard's own agentkeepalive agents, or the instance's. */
  readonly agents: GuardAgents;
  /** A frozen snapshot of the guard's counters, agents and per-origin state. */
  stats(): GuardStats;
  /**
   * Removes every interceptor the guard added and retires only the agents it created:
   * requests in flight finish (without further retries), then their sockets close.
   * Idempotent.
   */
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

type Marked = AxiosInstance & { [GUARD]?: Guard };
type StatefulConfig = InternalAxiosRequestConfig & { [STATE_KEY]?: RequestState };
type UserAdapter = AxiosRequestConfig['adapter'];
type GuardedAdapter = AxiosAdapter & { [ORIGINAL]?: UserAdapter };

/**
 * Registers the guard on an existing Axios instance: one request interceptor that swaps
 * the request's adapter for the guard's (every attempt goes to your adapter, in the
 * guard's own loop), and
 * agentkeepalive agents unless the instance has its own.
 *
 * Your own interceptors keep running exactly once per logical request, whatever order
 * they were added in: retries happen below them.
 *
 * On axios's default export (`attach(axios)`) the guard's agents are not written into
 * `axios.defaults`, which `axios.create()` copies: they go on each request the guard
 * handles instead, so instances created from it stay plain axios (no guard, no agents of
 * this one). Attach to those instances themselves, or use {@link createClient}.
 * @throws {ResetGuardAttachError} when the instance already has a guard.
 * @throws {ResetGuardConflictError} when the instance already retries with axios-retry
 * (its interceptors or its options in `defaults`) or retry-axios; a request throws it too
 * when axios-retry's interceptors were added after `attach()`.
 * @throws {ResetGuardOptionError} on an invalid option.
 * @example
 * const api = axios.create({ baseURL: 'https://api.example.com' });
 * const guard = attach(api);
 */
export function attach(instance: AxiosInstance, options?: GuardOptions): Guard {
  const marked = instance as Marked;
  if (marked[GUARD] !== undefined) throw new ResetGuardAttachError();
  const library = retryLibraryOn(instance);
  if (library !== undefined) throw new ResetGuardConflictError(library, 'attach');
  refuseSeams(options, '');
  const seams = seamsOf(options);
  const resolved = withSeams(normalizeOptions(options), seams);
  // What the installed axios can do is read once, here: HTTP/2 attempts consult it (h2.ts).
  axiosCapabilities();
  // axios.create() copies the default export's defaults: its agents go on each request instead.
  const shared = isDefaultExport(instance);
  const origins = new OriginMemory({
    configuredMs: resolved.freeSocketTimeout,
    learn: resolved.learnIdleLimits,
    budget: resolved.retryBudget,
  });

  const previous = { http: instance.defaults.httpAgent as unknown, https: instance.defaults.httpsAgent as unknown };
  const owned: Agent[] = [];
  const noAnswer = resolved.noAnswerMs > 0 ? watchForAnswer(resolved.noAnswerMs) : undefined;
  const pick = (protocol: 'http' | 'https', current: unknown): { agent: Agent; install: boolean } | undefined => {
    if (isPoolingAgent(current)) return { agent: current, install: false };
    if (current !== undefined || !resolved.agents) return undefined;
    // What plain axios would use here: Node's global agent, whose settings the user may rely on.
    const global = globalAgentOf(protocol);
    if ('adopt' in global) return isPoolingAgent(global.adopt) ? { agent: global.adopt, install: false } : undefined;
    const agent = createAgent(protocol, resolved, noAnswer, global.inherit);
    owned.push(agent);
    return { agent, install: true };
  };
  const picked = { http: pick('http', previous.http), https: pick('https', previous.https) };
  const agents = Object.freeze({ http: picked.http?.agent, https: picked.https?.agent });
  const perRequest = {
    http: shared && picked.http?.install === true ? agents.http : undefined,
    https: shared && picked.https?.install === true ? agents.https : undefined,
  };
  if (!shared && picked.http?.install === true) instance.defaults.httpAgent = agents.http;
  if (!shared && picked.https?.install === true) instance.defaults.httpsAgent = agents.https;
  const untrack = [agents.http, agents.https]
    .filter((a): a is Agent => a !== undefined)
    .map((a) => origins.track(a, owned.includes(a)));

  const ctx: GuardContext = {
    detached: false,
    stop: new AbortController(),
    counters: new Counters(),
    options: resolved,
    origins,
    secrets: secretsOf(resolved),
    http2: new Http2Ledger(),
    recordDelay: seams?.record,
  };
  // Every request waiting to retry listens on this signal: more than 10 at once is normal
  // under a storm, not a leak (Node would print MaxListenersExceededWarning).
  setMaxListeners(0, ctx.stop.signal);
  // Runs after every request interceptor, whatever the order they were added in, so it
  // sees the final `config.resetGuard`. Each call is a new logical request with fresh state.
  const run = (config: StatefulConfig, adapter: UserAdapter): Promise<AxiosResponse> => {
    if (ctx.detached) {
      // no stale metadata from an earlier trip through the guard
      delete config[STATE_KEY];
      // a request let in before detach() still sends the body its factory makes
      const body = config.resetGuard?.body;
      if (config.data === undefined && typeof body === 'function') config.data = body(config);
      return adapterFor(adapter ?? axios.defaults.adapter, config)(config);
    }
    // A retry library's own state on the config: it sends through the guard (issue 22).
    const layered = retryStateOn(config);
    if (layered !== undefined) return Promise.reject(new ResetGuardConflictError(layered, 'request'));
    // The default export's agents, where the request and axios.defaults name none.
    if (perRequest.http !== undefined && config.httpAgent === undefined) config.httpAgent = perRequest.http;
    if (perRequest.https !== undefined && config.httpsAgent === undefined) config.httpsAgent = perRequest.https;
    return runRequest(config, adapter, ctx);
  };

  const watch = new InterceptorWatch(instance);
  const interceptorId = instance.interceptors.request.use((config: StatefulConfig) => {
    // axios-retry added after attach() would resend what the guard already retried.
    const added = watch.check();
    if (added !== undefined) throw new ResetGuardConflictError(added, 'request');
    // A config re-sent by hand (error.config) carries a guard's adapter: unwrap the one it stands in for.
    const current = config.adapter as GuardedAdapter | UserAdapter;
    const adapter = typeof current === 'function' && ORIGINAL in current ? current[ORIGINAL] : current;
    const guarded: GuardedAdapter = (c) => run(c, adapter);
    guarded[ORIGINAL] = adapter;
    config.adapter = guarded;
    return config;
  });
  // The lists as they are with the guard's own interceptor: only later changes are looked at.
  watch.accept();

  const guard: Guard = Object.freeze({
    options: resolved,
    agents,
    stats: (): GuardStats => snapshot(ctx, agents),
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
      // Requests in flight finish (no further retries); the agents close once idle.
      for (const agent of owned) retireAgent(agent);
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

/** axios's default export (any installed copy): it carries the statics instances lack. */
function isDefaultExport(instance: AxiosInstance): boolean {
  const statics = instance as AxiosInstance & { Axios?: unknown; default?: unknown };
  return instance === axios || (typeof statics.Axios === 'function' && statics.default === instance);
}
