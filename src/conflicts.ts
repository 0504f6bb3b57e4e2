/**
 * Another retry layer on a guarded instance. axios-retry on the same instance resends each
 * logical request the guard has already retried: one failing call reached the server 16
 * times (4 x 4). `attach()` looks for what such a library leaves on the instance; a
 * guarded request looks again whenever the instance's interceptor lists changed since.
 *
 * What axios-retry leaves: a request interceptor whose source names its own state
 * (`getCurrentState`/`lastRequestTime` in 3.x, `setCurrentState` and `validateResponse`
 * in 4.x; the property names survive minifiers), always together with a response
 * interceptor that only handles errors; and, when the user configured it on the instance,
 * its `'axios-retry'` key in `defaults`. retry-axios is recognized by its `raxConfig` key.
 * A hand-written retry interceptor cannot be told apart from any other interceptor.
 */
import type { AxiosInstance } from 'axios';
import type { RetryLibrary } from './errors';
import { interceptorHandlersOf } from './foreign';

type Handlers = ReturnType<typeof interceptorHandlersOf>;

/** Words of axios-retry's request interceptor, in every published build (3.x, 4.x; cjs, esm). */
const AXIOS_RETRY_REQUEST = /\b[gs]etCurrentState\s*\(|\.lastRequestTime\s*=|\bvalidateResponse\b/;

function sourceOf(fn: unknown): string {
  try {
    return typeof fn === 'function' ? Function.prototype.toString.call(fn) : '';
  } catch {
    return ''; // a revoked proxy
  }
}

/** axios-retry's pair: a request interceptor with its words, and an error-only response interceptor. */
function hasAxiosRetryInterceptors(instance: AxiosInstance): boolean {
  const requests = interceptorHandlersOf(instance.interceptors?.request) ?? [];
  const responses = interceptorHandlersOf(instance.interceptors?.response) ?? [];
  const errorOnly = responses.some((h) => h != null && h.fulfilled == null && typeof h.rejected === 'function');
  return errorOnly && requests.some((h) => h != null && AXIOS_RETRY_REQUEST.test(sourceOf(h.fulfilled)));
}

/** The retry library found on `instance`, if any (`undefined` for none). */
export function retryLibraryOn(instance: AxiosInstance): RetryLibrary | undefined {
  const defaults = instance.defaults as Record<string, unknown> | undefined;
  if (defaults?.['axios-retry'] != null || hasAxiosRetryInterceptors(instance)) return 'axios-retry';
  if (defaults?.raxConfig != null) return 'retry-axios';
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
    this.found = hasAxiosRetryInterceptors(this.instance) ? 'axios-retry' : undefined;
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
