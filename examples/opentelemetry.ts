/**
 * OpenTelemetry tracing for a guarded Axios instance, with `@opentelemetry/api` only (your
 * app's SDK, NodeSDK or a BasicTracerProvider, does the exporting).
 *
 * The stable HTTP client conventions ask for one CLIENT span per attempt sent over the
 * wire, each resend carrying `http.request.resend_count` (1 on the first resend; absent on
 * the first attempt), and no logical span around them: the attempts of one call are
 * siblings under whatever span is active when the call is made. `traceAttempts(api)` does
 * that, and turns the guard's `diagnostics_channel` messages into what a trace should say
 * about a failed attempt:
 *
 * - `error.type`: the guard's failure kind (`reset`, `stale-socket`, `timeout`, ... one of
 *   `FAILURE_KINDS`), or the status code for an HTTP error status (`"503"`), as the
 *   conventions ask; the span status is `ERROR`;
 * - an `axios_reset_guard.reset` event (`CHANNELS.reset`): which reset, its code, whether
 *   the socket was a reused one and how long it had idled;
 * - an `axios_reset_guard.retry` event (`CHANNELS.retry`): the failure kind, the planned
 *   wait before the next attempt and the policy's reason; or an `axios_reset_guard.give_up`
 *   event (`CHANNELS.giveUp`) when the failure ended the request.
 *
 * The channels say nothing when an attempt starts or succeeds, so the spans are opened
 * and closed by a wrapper around the instance's adapter, which the guard calls once per
 * attempt; `attemptOf(config)` tells it which attempt it is. A failed attempt's span stays
 * open until the guard has said what follows it (microseconds later), so the events land
 * on it. docs/observability-otel.md has the whole picture.
 *
 * Its test, opentelemetry.test.ts next to it, runs it against a server on 127.0.0.1 that
 * resets the first attempt, with the SDK's in-memory exporter.
 */
import { subscribe, unsubscribe } from 'node:diagnostics_channel';
import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Span, type Tracer } from '@opentelemetry/api';
import axios, { getAdapter, isAxiosError, type AxiosAdapter, type AxiosInstance, type AxiosRequestConfig } from 'axios';
import {
  attemptOf,
  CHANNELS,
  failureOf,
  type Classification,
  type GiveUpInfo,
  type ResetEvent,
  type RetryInfo,
} from 'axios-reset-guard';

/** Attribute names of the stable HTTP client span conventions, exactly as they spell them. */
export const SEMCONV = Object.freeze({
  method: 'http.request.method',
  methodOriginal: 'http.request.method_original',
  resendCount: 'http.request.resend_count',
  statusCode: 'http.response.status_code',
  serverAddress: 'server.address',
  serverPort: 'server.port',
  urlFull: 'url.full',
  errorType: 'error.type',
} as const);

/**
 * What the conventions have no name for, under a namespace of this example's own (rename
 * it to your company's if you like); nothing here is an OpenTelemetry name.
 */
export const GUARD_ATTRIBUTES = Object.freeze({
  /** Span attribute: the logical request's id, the same on each of its attempts. */
  requestId: 'axios_reset_guard.request_id',
  /** Event attribute: the guard's failure kind (one of `FAILURE_KINDS`). */
  kind: 'axios_reset_guard.failure.kind',
  /** Event attribute: the socket-level code (`ECONNRESET`, `EPIPE`, ...). */
  code: 'axios_reset_guard.failure.code',
  /** Event attribute: the attempt ran on a keep-alive socket taken from the pool. */
  reusedSocket: 'axios_reset_guard.socket.reused',
  /** Event attribute: how long that socket had idled in the pool, in ms. */
  idleMs: 'axios_reset_guard.socket.idle_ms',
  /** Event attribute: the wait planned before the next attempt, in ms. */
  delayMs: 'axios_reset_guard.retry.delay_ms',
  /** Event attribute: why the guard retries, or why it sends nothing more. */
  reason: 'axios_reset_guard.reason',
} as const);

/** Span event names of this example. */
export const GUARD_EVENTS = Object.freeze({
  reset: 'axios_reset_guard.reset',
  retry: 'axios_reset_guard.retry',
  giveUp: 'axios_reset_guard.give_up',
} as const);

/** The tracer's name when none is passed. */
export const TRACER_NAME = 'axios-reset-guard-example';

// The methods the conventions call "known" (RFC 9110 and PATCH); others are recorded as _OTHER.
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);
// Query parameters whose values the conventions ask to redact in url.full.
const SECRET_QUERY = ['AWSAccessKeyId', 'Signature', 'sig', 'X-Goog-Signature'];
const OTHER = '_OTHER';

/** A failed attempt whose span waits for the guard's verdict. */
interface Failed {
  readonly span: Span;
  readonly requestId: string | undefined;
  readonly attempt: number;
  readonly status: number | undefined;
}

/**
 * Traces every attempt the instance sends. Call it once, next to `attach()` (in either
 * order); it returns a function that stops tracing and restores the adapter.
 * A request that names its own `adapter` bypasses the wrapper and is not traced.
 */
export function traceAttempts(api: AxiosInstance, tracer: Tracer = trace.getTracer(TRACER_NAME)): () => void {
  // Failed attempts waiting for the guard's verdict, by the error they failed with: the
  // retry and give-up messages carry that same error object.
  const failed = new Map<unknown, Failed>();
  const previous = api.defaults.adapter;

  const traced: AxiosAdapter = async (config) => {
    const attempt = attemptOf(config);
    const resends = attempt === undefined ? 0 : attempt.attempt - 1;
    const method = (config.method ?? 'get').toUpperCase();
    const attributes = requestAttributes(config, method, resends);
    if (attempt !== undefined) attributes[GUARD_ATTRIBUTES.requestId] = attempt.requestId;
    // Parent: the span active where the call was made, as for every attempt of the call.
    const span = tracer.startSpan(KNOWN_METHODS.has(method) ? method : 'HTTP', { kind: SpanKind.CLIENT, attributes });
    const send = getAdapter(previous ?? axios.defaults.adapter, config);
    try {
      // Active during the send: log lines and lower-level spans (http) nest under it. Sent
      // before any await: the guard's black-hole watch needs the socket handed out in this call.
      const response = await context.with(trace.setSpan(context.active(), span), () => send(config));
      span.setAttribute(SEMCONV.statusCode, response.status);
      if (response.status >= 400) {
        // a status the app accepted (validateStatus) is still an error for a client span
        span.setAttribute(SEMCONV.errorType, String(response.status));
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      span.end();
      return response;
    } catch (error) {
      const status = isAxiosError(error) ? error.response?.status : undefined;
      if (status !== undefined) span.setAttribute(SEMCONV.statusCode, status);
      // No description when the status code says it all.
      const message = status === undefined && error instanceof Error ? error.message : undefined;
      span.setStatus(message === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message });
      if (typeof error === 'object' && error !== null) {
        failed.set(error, { span, requestId: attempt?.requestId, attempt: attempt?.attempt ?? 1, status });
      } else {
        end({ span, requestId: undefined, attempt: 1, status }, undefined);
      }
      throw error;
    }
  };

  /** Sets `error.type` from the guard's classification (a status code wins), adds the event, ends. */
  const end = (entry: Failed, classification: Classification | undefined, event?: [string, Attributes]): void => {
    const type = entry.status !== undefined && entry.status >= 400 ? String(entry.status) : classification?.kind;
    entry.span.setAttribute(SEMCONV.errorType, type ?? OTHER);
    if (event !== undefined) entry.span.addEvent(...event);
    entry.span.end();
  };

  const onReset = (message: unknown): void => {
    const reset = message as ResetEvent;
    for (const entry of failed.values()) {
      if (entry.requestId !== reset.requestId || entry.attempt !== reset.attempt) continue;
      entry.span.addEvent(
        GUARD_EVENTS.reset,
        defined({
          [GUARD_ATTRIBUTES.kind]: reset.kind,
          [GUARD_ATTRIBUTES.code]: reset.code,
          [GUARD_ATTRIBUTES.reusedSocket]: reset.reusedSocket,
          [GUARD_ATTRIBUTES.idleMs]: reset.idleMs,
        }),
      );
    }
  };
  const onRetry = (message: unknown): void => {
    const info = message as RetryInfo;
    const entry = failed.get(info.error);
    if (entry === undefined) return; // another instance's request
    failed.delete(info.error);
    end(entry, info.classification, [
      GUARD_EVENTS.retry,
      {
        [GUARD_ATTRIBUTES.kind]: info.classification.kind,
        [GUARD_ATTRIBUTES.delayMs]: info.delayMs,
        [GUARD_ATTRIBUTES.reason]: info.reason,
      },
    ]);
  };
  const onGiveUp = (message: unknown): void => {
    const info = message as GiveUpInfo;
    const entry = failed.get(info.error);
    if (entry === undefined) return;
    failed.delete(info.error);
    end(entry, info.classification, [
      GUARD_EVENTS.giveUp,
      { [GUARD_ATTRIBUTES.kind]: info.classification.kind, [GUARD_ATTRIBUTES.reason]: info.reason },
    ]);
  };
  subscribe(CHANNELS.reset, onReset);
  subscribe(CHANNELS.retry, onRetry);
  subscribe(CHANNELS.giveUp, onGiveUp);

  // A failure the guard publishes nothing about (a 404, a cancel, a guard that is detached)
  // reaches the instance's response interceptors: its span ends there.
  const interceptor = api.interceptors.response.use(undefined, (error: unknown) => {
    const entry = failed.get(error);
    if (entry !== undefined) {
      failed.delete(error);
      end(entry, failureOf(error)?.classification);
    }
    throw error;
  });

  api.defaults.adapter = traced;
  return () => {
    unsubscribe(CHANNELS.reset, onReset);
    unsubscribe(CHANNELS.retry, onRetry);
    unsubscribe(CHANNELS.giveUp, onGiveUp);
    api.interceptors.response.eject(interceptor);
    if (api.defaults.adapter === traced) {
      if (previous === undefined) delete api.defaults.adapter;
      else api.defaults.adapter = previous;
    }
    for (const entry of failed.values()) end(entry, undefined);
    failed.clear();
  };
}

/** The attributes the conventions want at span start: method, server, URL, resend count. */
function requestAttributes(config: AxiosRequestConfig, method: string, resends: number): Attributes {
  const attributes: Attributes = { [SEMCONV.method]: KNOWN_METHODS.has(method) ? method : OTHER };
  if (!KNOWN_METHODS.has(method)) attributes[SEMCONV.methodOriginal] = method;
  const url = absoluteUrl(config);
  if (url !== undefined) {
    attributes[SEMCONV.urlFull] = url.href;
    attributes[SEMCONV.serverAddress] = url.hostname.replace(/^\[(.*)\]$/, '$1');
    attributes[SEMCONV.serverPort] = Number(url.port) || (url.protocol === 'https:' ? 443 : 80);
  }
  // "Recommended if and only if request was retried": the first attempt has none.
  if (resends > 0) attributes[SEMCONV.resendCount] = resends;
  return attributes;
}

/** baseURL + url + params, with credentials and signed-URL secrets redacted as the conventions ask. */
function absoluteUrl(config: AxiosRequestConfig): URL | undefined {
  let url: URL;
  try {
    url = new URL(axios.getUri(config));
  } catch {
    return undefined; // a relative URL without baseURL: nothing to report
  }
  if (url.username !== '' || url.password !== '') {
    url.username = 'REDACTED';
    url.password = 'REDACTED';
  }
  for (const key of SECRET_QUERY) if (url.searchParams.has(key)) url.searchParams.set(key, 'REDACTED');
  return url;
}

/** The attributes whose value is known (an absent value is left out, not recorded as undefined). */
function defined(attributes: Attributes): Attributes {
  return Object.fromEntries(Object.entries(attributes).filter(([, value]) => value !== undefined));
}
