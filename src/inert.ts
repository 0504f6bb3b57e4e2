/**
 * The guard of the browser, edge and React Native entry (`browser.ts`): inert. There the
 * runtime owns the connections (fetch, XMLHttpRequest): no agent to give fresher sockets,
 * no socket to look at, and a request on a stale pooled connection is resent by the
 * browser's network stack itself. So `attach` validates the options and returns a guard of
 * the same shape as on Node, with nothing installed: no interceptor, no agent, no retry.
 */
import axios, { type AxiosInstance, type CreateAxiosDefaults } from 'axios';
import { ResetGuardAttachError } from './errors';
import type { Guard, GuardedInstance } from './install';
import { FAILURE_KINDS, RESET_KINDS, zeroCounts } from './kinds';
import { normalizeOptions, type ResolvedOptions } from './normalize';
import type { GuardOptions } from './options';
import type { GuardStats } from './stats';

// The key Node's guard marks an instance with (`Symbol.for`: one key in every copy), so an
// instance has at most one guard whichever entry attached it.
const GUARD = Symbol.for('axios-reset-guard.guard');

type Marked = AxiosInstance & { [GUARD]?: Guard };

const NO_AGENTS = Object.freeze({ http: undefined, https: undefined });

/** Node's `stats()` fields, each at zero or empty: nothing is counted where nothing is guarded. */
function zeroStats(options: ResolvedOptions): GuardStats {
  const budget = options.retryBudget;
  return Object.freeze({
    requests: 0,
    attempts: 0,
    retries: 0,
    recovered: 0,
    gaveUp: 0,
    resets: Object.freeze(zeroCounts(RESET_KINDS)),
    failures: Object.freeze(zeroCounts(FAILURE_KINDS)),
    purgedSockets: 0,
    learnedIdleLimits: Object.freeze({}),
    origins: Object.freeze({}),
    agents: NO_AGENTS,
    budget:
      budget === false
        ? undefined
        : Object.freeze({ capacity: budget.capacity, refused: 0, exhausted: Object.freeze([]) }),
  });
}

/**
 * The browser, edge and React Native `attach`: validates `options` as on Node (an invalid
 * one throws {@link ResetGuardOptionError}) and returns an inert guard of the same shape.
 * Nothing is added to the instance: no interceptor, no agent, no retry, no attempt
 * metadata (`attemptOf` gives `undefined`); `stats()` keeps every field at zero or empty.
 * The runtime's own network stack resends a request that meets a stale pooled connection.
 * @throws {ResetGuardAttachError} when the instance already has a guard.
 * @throws {ResetGuardOptionError} on an invalid option.
 * @example
 * const api = axios.create({ baseURL: '/api' });
 * const guard = attach(api); // in a browser: inert, same shape as on Node
 */
export function attach(instance: AxiosInstance, options?: GuardOptions): Guard {
  const marked = instance as Marked;
  if (marked[GUARD] !== undefined) throw new ResetGuardAttachError();
  const resolved = normalizeOptions(options);
  let detached = false;
  const guard: Guard = Object.freeze({
    options: resolved,
    agents: NO_AGENTS,
    stats: (): GuardStats => zeroStats(resolved),
    detach: (): void => {
      if (detached) return;
      detached = true;
      if (marked[GUARD] === guard) delete marked[GUARD];
    },
  });
  Object.defineProperty(marked, GUARD, { value: guard, configurable: true, enumerable: false });
  return guard;
}

/**
 * The browser, edge and React Native `createClient`: a plain `axios.create(axiosConfig)`
 * with an inert guard as `client.guard` (see {@link attach}).
 * @example
 * const client = createClient({ retries: 2 }, { baseURL: '/api' });
 */
export function createClient(options?: GuardOptions, axiosConfig?: CreateAxiosDefaults): GuardedInstance {
  const client = axios.create(axiosConfig);
  const guard = attach(client, options);
  return Object.defineProperty(client, 'guard', { value: guard, enumerable: false }) as GuardedInstance;
}
