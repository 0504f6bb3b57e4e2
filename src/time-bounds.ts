/**
 * The guard's own time bounds on an attempt (issue #12): `attemptTimeoutMs` and what
 * `deadlineMs` leaves, in wall time from the attempt's start until its response is handed
 * over, whatever the adapter does meanwhile (queued in the agent, a body dripping in, a
 * proxy that never answers CONNECT, an HTTP/2 stream orphaned by its session). axios's
 * `timeout` is a socket or stream inactivity timer in Node's http adapter, which none of
 * those trips.
 *
 * The adapter is told through `config.cancelToken`, which it already listens to: for the
 * attempt, a token of the guard's own stands there, and passes on the caller's token if
 * there is one. The caller's `signal` stays where it was, so the adapter composes it and
 * the guard's token as it would any signal and token, and a cancellation by the caller is
 * axios's own CanceledError. (A token rather than an AbortController per attempt: a plain
 * object is cheaper than an EventTarget, and nothing has to forward the caller's signal.)
 * The guard's timeout ends the attempt with axios's usual timeout error; an adapter that
 * ignores the token ends anyway, one turn of the event loop later.
 *
 * An HTTP/2 attempt always goes this way: its stream may close under it with no answer and
 * no error (`h2.ts`), and the same token ends it then; a buffered body whose stream closed
 * with an error code is refused here. Nothing is armed for an HTTP/1.1 request without
 * `attemptTimeoutMs` or `deadlineMs`.
 */
import { finished, type Readable } from 'node:stream';
import { AxiosError, type AxiosAdapter, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { Attempt } from './attempt';
import { discardBody } from './body';
import { H2Watch, isHttp2, watchHttp2Streams } from './h2';
import { sendingAs } from './sending';
import { MAX_TIMER_MS } from './sleep';

type Listener = (reason?: unknown) => void;

/** The caller's CancelToken, as far as the guard uses it. */
interface CallerToken {
  subscribe?: (listener: Listener) => void;
  unsubscribe?: (listener: Listener) => void;
}

/**
 * What the attempt's adapter reads as `config.cancelToken`, in the shape axios's own
 * adapters use: `subscribe`/`unsubscribe` (http, xhr), `toAbortSignal` (fetch), `reason`
 * and `throwIfRequested`.
 */
class AttemptToken {
  /** The error the attempt ends with once canceled: the caller's reason, or the guard's timeout. */
  reason: unknown = undefined;
  /** Set once the attempt settled: the last listener leaving means the adapter is done. */
  onIdle: (() => void) | undefined;
  // What listeners are called with. None for the guard's timeout: axios's adapters then
  // make their CanceledError, which carries the native request the guard classifies.
  #passed: unknown = undefined;
  #listeners: Listener[] | undefined;

  subscribe(listener: Listener): void {
    if (this.reason !== undefined) listener(this.#passed);
    else (this.#listeners ??= []).push(listener);
  }

  unsubscribe(listener: Listener): void {
    const index = this.#listeners?.indexOf(listener) ?? -1;
    if (index >= 0) this.#listeners?.splice(index, 1);
    if (this.#listeners?.length === 0) this.onIdle?.();
  }

  throwIfRequested(): void {
    // whatever the caller's token was canceled with, as axios's CancelToken throws it
    // eslint-disable-next-line @typescript-eslint/only-throw-error
    if (this.reason !== undefined) throw this.reason;
  }

  /** As axios's CancelToken does it: the fetch adapter composes this signal with the caller's. */
  toAbortSignal(): AbortSignal {
    const controller = new AbortController();
    const abort = (): void => controller.abort(this.reason);
    this.subscribe(abort);
    (controller.signal as AbortSignal & { unsubscribe?: () => void }).unsubscribe = () => this.unsubscribe(abort);
    return controller.signal;
  }

  cancel(reason: unknown, passed: unknown): void {
    if (this.reason !== undefined) return;
    this.reason = reason;
    this.#passed = passed;
    const listeners = this.#listeners;
    this.#listeners = undefined;
    if (listeners !== undefined) for (const listener of listeners) listener(passed);
  }

  get listening(): boolean {
    return this.#listeners !== undefined && this.#listeners.length > 0;
  }
}

/** axios's timeout error, as its adapters make it: `ECONNABORTED`, `ETIMEDOUT` under `clarifyTimeoutError`. */
function timeoutError(config: InternalAxiosRequestConfig, ms: number): AxiosError {
  const custom = config.timeoutErrorMessage;
  const message = typeof custom === 'string' && custom !== '' ? custom : `timeout of ${ms}ms exceeded`;
  const code = config.transitional?.clarifyTimeoutError === true ? AxiosError.ETIMEDOUT : AxiosError.ECONNABORTED;
  return new AxiosError(message, code, config);
}

const isNodeStream = (data: unknown): data is Readable =>
  typeof (data as { pipe?: unknown } | null | undefined)?.pipe === 'function' &&
  typeof (data as { on?: unknown }).on === 'function';

const isWebStream = (data: unknown): boolean =>
  typeof (data as { getReader?: unknown } | null | undefined)?.getReader === 'function';

/**
 * Sends one attempt to `adapter` under the guard's bound: `attemptTimeoutMs`, cut to what
 * `deadlineMs` leaves, and for HTTP/2 under the watch of its stream. Without either bound,
 * an HTTP/1.1 attempt goes to the adapter as it is, and nothing is allocated. The
 * caller's `config.cancelToken` is back on the config by the time the attempt settles.
 */
export function sendBounded(adapter: AxiosAdapter, attempt: Attempt): Promise<AxiosResponse> {
  const { request: state, config } = attempt;
  const { attemptTimeoutMs } = state.options;
  const remaining = state.remainingMs();
  const h2 = isHttp2(config);
  const bounded = attemptTimeoutMs > 0 || remaining !== undefined;
  if (!bounded && !h2) return sendingAs(attempt, adapter);
  // The deadline cuts this attempt when it leaves less than attemptTimeoutMs.
  const left = remaining === undefined ? Infinity : Math.max(1, remaining);
  const byDeadline = attemptTimeoutMs <= 0 || left <= attemptTimeoutMs;
  const ms = Math.min(byDeadline ? left : attemptTimeoutMs, MAX_TIMER_MS);

  const callerToken = config.cancelToken as CallerToken | undefined;
  // An unbounded HTTP/2 attempt the caller cannot cancel needs no token (it costs axios's
  // h2 path ~15 us): an orphaned stream is ended by settling, and axios's own pending
  // promise goes with the closed stream. With a caller's token or signal, axios is told,
  // so that it lets go of them.
  const token = bounded || callerToken !== undefined || config.signal != null ? new AttemptToken() : undefined;
  const forward: Listener = (reason) => token?.cancel(reason, reason);
  let settled = false;
  // The error the guard ended the attempt with: its timeout, or an orphaned HTTP/2 stream.
  let ending: AxiosError | undefined;
  let timer: NodeJS.Timeout | undefined;
  let fallback: NodeJS.Immediate | undefined;
  // The HTTP/2 attempt's watch over its stream (Node 22 and later).
  let watch: H2Watch | undefined;
  // The caller's token is followed as long as the adapter may act on it: for a streamed
  // response, until the stream is done (the caller may still cancel it), else until now.
  const release = (): void => {
    if (token !== undefined) token.onIdle = undefined;
    callerToken?.unsubscribe?.(forward);
  };

  return new Promise<AxiosResponse>((resolve, reject) => {
    const settle = (answer: AxiosResponse | undefined, failure: unknown): void => {
      let response = answer;
      let error = failure;
      if (settled) {
        // An adapter that ignored the cancellation answered after all: nobody reads it.
        if (response !== undefined) discardBody(response.data);
        return;
      }
      settled = true;
      clearTimeout(timer);
      clearImmediate(fallback);
      if (token !== undefined) {
        if (callerToken === undefined) delete config.cancelToken;
        else config.cancelToken = callerToken as NonNullable<InternalAxiosRequestConfig['cancelToken']>;
      }
      if (watch !== undefined) {
        const cut = watch.settle(response, error);
        if (cut !== undefined) {
          response = undefined;
          error = cut;
        }
      }
      if (response === undefined) {
        release();
        // the adapter's own rejection, as it is
        // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
        reject(ending === undefined ? error : withRequestOf(ending, error));
        return;
      }
      const data: unknown = response.data;
      if (callerToken !== undefined) {
        if (isNodeStream(data)) finished(data, release);
        else if (isWebStream(data) && token?.listening === true) token.onIdle = release;
        else release();
      }
      resolve(response);
    };
    // Ends the attempt with `error`, unless the caller canceled first and the adapter has
    // yet to act on it. axios's adapters reject at once; one that ignored the token ends
    // here a turn later.
    const end = (error: AxiosError): void => {
      if (settled) return;
      if (token === undefined) {
        ending = error;
        settle(undefined, error);
        return;
      }
      if (token.reason === undefined) {
        ending = error;
        token.cancel(error, undefined);
      }
      if (!settled) fallback ??= setImmediate(() => settle(undefined, token.reason));
    };
    if (bounded) {
      timer = setTimeout(() => {
        if (token?.reason === undefined && byDeadline) state.deadlineReached = true;
        end(timeoutError(config, ms));
      }, ms);
    }
    if (h2) {
      watchHttp2Streams();
      const signal = config.signal as { aborted?: unknown } | undefined;
      watch = new H2Watch(
        state.originOf(),
        state.guard.http2,
        end,
        config,
        () => token?.reason !== undefined || signal?.aborted === true,
      );
    }

    if (token !== undefined) {
      config.cancelToken = token as unknown as NonNullable<InternalAxiosRequestConfig['cancelToken']>;
      callerToken?.subscribe?.(forward);
    }
    let pending: Promise<AxiosResponse>;
    try {
      attempt.streamWatch = watch;
      pending = sendingAs(attempt, adapter);
    } catch (error) {
      settle(undefined, error);
      return;
    }
    pending.then(
      (response) => settle(response, undefined),
      (error: unknown) => settle(undefined, error),
    );
  });
}

/** The guard's error, with the native request of the adapter's own error when it has one. */
function withRequestOf(ending: AxiosError, adapterError: unknown): AxiosError {
  const request = (adapterError as { request?: unknown } | null | undefined)?.request;
  if (ending.request === undefined && request !== undefined) ending.request = request;
  return ending;
}
