/**
 * Another retry layer on a guarded instance. axios-retry on the same instance resends each
 * logical request the guard has already retried: one failing call reached the server 16
 * times (4 x 4). The libraries are recognised by what they themselves install, never by
 * words in a user's interceptor (issue 22: an innocent interceptor mentioning
 * `validateResponse` was refused):
 * - on the instance: interceptors identical to the ones the copies of axios-retry and
 *   retry-axios loaded in this process install (captured by letting each install itself on
 *   a stand-in instance), and their options in `defaults` (`'axios-retry'`, `raxConfig`);
 * - on a request: the state each leaves on the config it sends (axios-retry's
 *   `retryCount` and `lastRequestTime` under `'axios-retry'` on every request; retry-axios's
 *   `raxConfig.currentRetryAttempt` on its resends), which catches a copy loaded where the
 *   guard cannot see it (an ES module build, a bundle).
 * A hand-written retry interceptor cannot be told apart from any other interceptor.
 */
import { createRequire } from 'node:module';
import { join } from 'node:path';
import axios, { type AxiosInstance } from 'axios';
import type { RetryLibrary } from './errors';
import { interceptorHandlersOf } from './foreign';

type Handlers = ReturnType<typeof interceptorHandlersOf>;
type Handler = NonNullable<Handlers>[number];

/** The interceptors one loaded copy of a library installs: `[fulfilled, rejected]` per list. */
interface Installed {
  readonly request: (readonly unknown[])[];
  readonly response: (readonly unknown[])[];
}

const LIBRARIES: readonly RetryLibrary[] = ['axios-retry', 'retry-axios'];
const IN_NODE_MODULES = /[\\/]node_modules[\\/](axios-retry|retry-axios)[\\/]/;

function sourceOf(fn: unknown): string | undefined {
  try {
    return typeof fn === 'function' ? Function.prototype.toString.call(fn) : undefined;
  } catch {
    return undefined; // a revoked proxy
  }
}

/** Lets a library install itself on a stand-in instance and keeps what it installed. */
function capture(library: RetryLibrary, exported: unknown): Installed | undefined {
  const installed: Installed = { request: [], response: [] };
  const list = (into: (readonly unknown[])[]) => ({
    use: (fulfilled?: unknown, rejected?: unknown): number => into.push([fulfilled, rejected]),
    eject: () => undefined,
  });
  const standIn = {
    interceptors: { request: list(installed.request), response: list(installed.response) },
    defaults: {},
  };
  const lib = exported as { default?: unknown; attach?: unknown } | null;
  try {
    if (library === 'axios-retry') {
      const install = typeof lib === 'function' ? lib : lib?.default;
      if (typeof install === 'function') (install as (i: unknown) => unknown)(standIn);
    } else if (typeof lib?.attach === 'function') (lib.attach as (i: unknown) => unknown)(standIn);
  } catch {
    return undefined;
  }
  return installed.request.length + installed.response.length > 0 ? installed : undefined;
}

/** The copies of each library loaded in this process (CommonJS), and the one the app would load. */
function loadedCopies(): Map<RetryLibrary, unknown[]> {
  const copies = new Map<RetryLibrary, unknown[]>(LIBRARIES.map((l) => [l, []]));
  const cache = typeof require === 'function' ? require.cache : {};
  for (const [path, mod] of Object.entries(cache)) {
    const library = IN_NODE_MODULES.exec(path)?.[1] as RetryLibrary | undefined;
    if (library !== undefined && mod?.loaded === true) copies.get(library)!.push(mod.exports);
  }
  const fromApp = createRequire(join(process.cwd(), 'noop.js'));
  for (const library of LIBRARIES) {
    try {
      copies.get(library)!.push(fromApp(library));
    } catch {
      // not installed where the app runs
    }
  }
  return copies;
}

let known: { size: number; installed: Map<RetryLibrary, Installed[]> } | undefined;

/** What each library installs, captured again whenever more modules were loaded since. */
function installedByLibraries(): Map<RetryLibrary, Installed[]> {
  const size = typeof require === 'function' ? Object.keys(require.cache).length : 0;
  if (known?.size === size) return known.installed;
  const installed = new Map<RetryLibrary, Installed[]>();
  for (const [library, exports] of loadedCopies()) {
    installed.set(
      library,
      exports.map((e) => capture(library, e)).filter((i): i is Installed => i !== undefined),
    );
  }
  known = { size, installed };
  return installed;
}

/** Same function, or one made by the same code (a closure the library made for another instance). */
function same(mine: unknown, theirs: unknown): boolean {
  if (mine == null || theirs == null) return mine == null && theirs == null;
  return mine === theirs || (sourceOf(mine) !== undefined && sourceOf(mine) === sourceOf(theirs));
}

function holds(handlers: Handlers, pairs: readonly (readonly unknown[])[]): boolean {
  const present = (handlers ?? []).filter((h): h is NonNullable<Handler> => h != null);
  return pairs.every(([fulfilled, rejected]) =>
    present.some((h) => same(h.fulfilled, fulfilled) && same(h.rejected, rejected)),
  );
}

/** The library whose own interceptors are all on `instance`, if any. */
function libraryInterceptorsOn(instance: AxiosInstance): RetryLibrary | undefined {
  const requests = interceptorHandlersOf(instance.interceptors?.request);
  const responses = interceptorHandlersOf(instance.interceptors?.response);
  if (!(requests?.some((h) => h != null) || responses?.some((h) => h != null))) return undefined;
  for (const [library, copies] of installedByLibraries()) {
    if (copies.some((c) => holds(requests, c.request) && holds(responses, c.response))) return library;
  }
  return undefined;
}

/** Equal as axios.create() copies defaults: functions and primitives kept, objects and arrays copied. */
function copied(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keys = Object.keys(a);
  if (keys.length !== Object.keys(b).length) return false;
  return keys.every((k) => copied((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * A library's options in the instance's own defaults. Those an instance made by
 * `axios.create()` copied from the default export's are not: a library set up globally (as
 * retry-axios's README shows) retries the default export's requests, never this instance's.
 */
function ownOption(instance: AxiosInstance, key: string): boolean {
  const value = (instance.defaults as Record<string, unknown> | undefined)?.[key];
  if (value == null) return false;
  if (instance === axios) return true;
  return !copied(value, (axios.defaults as Record<string, unknown>)[key]);
}

/** The retry library found on `instance`, if any (`undefined` for none). */
export function retryLibraryOn(instance: AxiosInstance): RetryLibrary | undefined {
  if (ownOption(instance, 'axios-retry')) return 'axios-retry';
  if (ownOption(instance, 'raxConfig')) return 'retry-axios';
  return libraryInterceptorsOn(instance);
}

/** The retry library whose own state is on a config about to be sent, if any. */
export function retryStateOn(config: object): RetryLibrary | undefined {
  const c = config as { 'axios-retry'?: { retryCount?: unknown; lastRequestTime?: unknown }; raxConfig?: unknown };
  const state = c['axios-retry'];
  if (typeof state?.retryCount === 'number' && typeof state.lastRequestTime === 'number') return 'axios-retry';
  const rax = c.raxConfig as { currentRetryAttempt?: unknown } | undefined;
  if (typeof rax?.currentRetryAttempt === 'number' && rax.currentRetryAttempt > 0) return 'retry-axios';
  return undefined;
}

/**
 * Notices, per request and without allocating, when an instance's interceptor lists
 * changed since the last look (`use()` pushes, `clear()` replaces the array): only then
 * is it searched again.
 */
export class InterceptorWatch {
  private requests: Handlers;
  private requestCount = 0;
  private responses: Handlers;
  private responseCount = 0;
  private found: RetryLibrary | undefined;

  constructor(private readonly instance: AxiosInstance) {
    this.accept();
  }

  /**
   * The retry library on the instance's interceptors now, or `undefined`: a few reads when
   * nothing changed since the last look (once one was found, every call looks again, so
   * ejecting it is noticed).
   */
  check(): RetryLibrary | undefined {
    const requests = interceptorHandlersOf(this.instance.interceptors.request);
    const responses = interceptorHandlersOf(this.instance.interceptors.response);
    if (
      this.found === undefined &&
      requests === this.requests &&
      (requests?.length ?? 0) === this.requestCount &&
      responses === this.responses &&
      (responses?.length ?? 0) === this.responseCount
    ) {
      return undefined;
    }
    this.accept();
    this.found = libraryInterceptorsOn(this.instance);
    return this.found;
  }

  /** Takes the lists as they are now as seen (the guard's own interceptor was just added). */
  accept(): void {
    this.requests = interceptorHandlersOf(this.instance.interceptors.request);
    this.requestCount = this.requests?.length ?? 0;
    this.responses = interceptorHandlersOf(this.instance.interceptors.response);
    this.responseCount = this.responses?.length ?? 0;
  }
}
