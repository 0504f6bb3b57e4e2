import type { IncomingMessage } from 'node:http';
import { monotonicNow } from './clock';
import { h2ResponseStarted, responseOf } from './foreign';
import { aboveGoaway, H2_REFUSED_STREAM, h2StreamOf, type H2StreamLike } from './h2-facts';
import { NO_ANSWER_CODE, STREAM_CLOSED_CODE, type FailureKind } from './kinds';
import type { Classification } from './types';
import { nativeRequestOf, tlsHandshakeIncomplete } from './native';
import { idleTimerFired, stampOf } from './stamps';
import { DEFAULTS } from './normalize';
import { stateOf } from './state';

// Allowlists: a code not named here is not retryable (unknown failures are not replayed).
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET']);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'ESOCKETTIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const TRANSIENT_DNS = 'EAI_AGAIN';
const KNOWN = new Set([
  ...RESET_CODES,
  ...TIMEOUT_CODES,
  ...DNS_CODES,
  'ECONNREFUSED',
  'ECONNABORTED',
  NO_ANSWER_CODE,
  STREAM_CLOSED_CODE,
]);
// Node's codes for an HTTP/2 session that ended under its streams (with the connection's
// own reset codes): a GOAWAY with an error code, a session error, a stream canceled with it.
const H2_SESSION_CODES = new Set([
  ...RESET_CODES,
  STREAM_CLOSED_CODE,
  'ERR_HTTP2_SESSION_ERROR',
  'ERR_HTTP2_GOAWAY_SESSION',
  'ERR_HTTP2_STREAM_CANCEL',
  'ERR_HTTP2_INVALID_SESSION',
]);
const TLS_DISCONNECT = 'before secure TLS connection was established';

interface ErrorLike {
  code?: unknown;
  message?: unknown;
  cause?: unknown;
  response?: unknown;
  request?: unknown;
  __CANCEL__?: unknown;
}

function asErrorLike(value: unknown): ErrorLike | undefined {
  return typeof value === 'object' && value !== null ? value : undefined;
}

// node:zlib's errors carry a numeric `errno` and a code of its decoders: Z_DATA_ERROR,
// Z_BUF_ERROR (gzip, deflate), ERR__ERROR_FORMAT_... (brotli), ZSTD_error_... (zstd).
const DECODER_CODE = /^(Z_|ERR__ERROR_|ZSTD_)/;

/** Walks `error`, `error.cause`, ... (the fetch adapter nests the socket error) for a known code. */
function findCode(error: ErrorLike): { code: string | undefined; messages: string; decode: boolean } {
  let first: string | undefined;
  let messages = '';
  let decode = false;
  let current: ErrorLike | undefined = error;
  for (let depth = 0; current !== undefined && depth < 8; depth += 1) {
    if (typeof current.message === 'string') messages += `${current.message}\n`;
    if (typeof current.code === 'string') {
      if (KNOWN.has(current.code)) return { code: current.code, messages, decode };
      first ??= current.code;
      decode ||= DECODER_CODE.test(current.code) && typeof (current as { errno?: unknown }).errno === 'number';
    }
    current = asErrorLike(current.cause);
  }
  return { code: first, messages, decode };
}

function result(
  kind: FailureKind,
  retryable: boolean,
  code: string | undefined,
  reusedSocket: boolean,
  responseStarted: boolean,
  idleMs: number | undefined,
  status?: number,
): Classification {
  return Object.freeze({ kind, retryable, reusedSocket, responseStarted, idleMs, code, status });
}

/**
 * axios's words when an HTTP/2 response body ends before its length. Only for HTTP/2: an
 * HTTP/1.1 cut body is recognised by Node's own state, whatever axios says.
 */
const TRUNCATED = 'stream has been aborted';

/** An axios response's `status`, or a Node IncomingMessage's `statusCode`. */
function statusOf(response: unknown): number | undefined {
  const r = asErrorLike(response) as { status?: unknown; statusCode?: unknown } | undefined;
  const status = r?.status ?? r?.statusCode;
  return typeof status === 'number' ? status : undefined;
}

/**
 * axios's own `timeout`: ECONNABORTED (ETIMEDOUT under `clarifyTimeoutError`) with its
 * message, "timeout of N ms exceeded" or the config's `timeoutErrorMessage` when set. The
 * http adapter uses ECONNABORTED for nothing else, the xhr adapter also for "Request aborted".
 */
function isAxiosTimeout(e: ErrorLike, code: string | undefined): boolean {
  if (code !== 'ECONNABORTED' || typeof e.message !== 'string') return false;
  const custom = (e as { config?: { timeoutErrorMessage?: unknown } }).config?.timeoutErrorMessage;
  return /^timeout (of \d+ ?ms )?exceeded$/i.test(e.message) || (typeof custom === 'string' && e.message === custom);
}

/** When the failed attempt ran, for {@link classifyError}. */
export interface AttemptTiming {
  /**
   * When the attempt started, on the monotonic clock ({@link monotonicNow}) the pool stamps
   * read, never `Date.now()`: makes `idleMs` exact, whatever steps the wall clock takes.
   */
  readonly startedAt?: number | undefined;
  /** When it failed, on the same clock; defaults to now. */
  readonly failedAt?: number | undefined;
  /** Of that time, how long this process was busy computing rather than waiting (see {@link classifyError}). */
  readonly busyMs?: number | undefined;
  /** Longest time from start to failure that still counts as a stale socket. */
  readonly staleWindowMs?: number | undefined;
}

/** undici's message when a fetch response body is cut off. */
const BODY_TERMINATED = /(^|\n)terminated(\n|$)/;

/**
 * Classifies an Axios error (or any error) by what it says about the connection, and
 * about the attempt's timing when known: a reused socket counts as stale only when it
 * failed within `staleWindowMs` of the attempt's start (a dead pooled connection answers
 * the first packet at once; one that fails later was alive and busy).
 */
export function classifyError(error: unknown, timing: AttemptTiming = {}): Classification {
  const e = asErrorLike(error) ?? {};
  const { code, messages, decode } = findCode(e);
  const native = nativeRequestOf(e.request);
  const reusedSocket = native?.reusedSocket === true;
  const stamp = reusedSocket ? stampOf(native?.socket) : undefined;
  const startedAt = timing.startedAt;
  // Whole ms, as events and reasons show them (the monotonic clock reads fractions); rounded
  // down, so a fraction never lifts an idle time to staleIdleMs.
  const idleMs = stamp === undefined ? undefined : Math.floor(Math.max(0, (startedAt ?? monotonicNow()) - stamp.since));
  const window = timing.staleWindowMs ?? DEFAULTS.staleWindowMs;
  // Later than the window, busy time excuses the lateness only when the loop had no chance
  // to notice sooner: a forgotten connection answers within a round trip, so all the idle
  // time must come before that answer (at most a quarter of the window), and never past
  // twice the window. A loop that was idle while a server worked on a POST and then died
  // does not make the failure look early.
  const elapsed = (timing.failedAt ?? monotonicNow()) - (startedAt ?? 0);
  const idle = elapsed - Math.min(timing.busyMs ?? 0, elapsed);
  const failedFast = startedAt === undefined || elapsed <= window || (elapsed <= 2 * window && idle <= window / 4);
  // A reused socket that read bytes since it left the pool had begun to receive an answer,
  // even when Node gave up before a response object existed (a truncated head, a 1xx). On
  // TLS too: a TLSSocket counts decrypted bytes only, so a server's close_notify is not one.
  const socket = native?.socket;
  const bytesSinceReuse = stamp !== undefined && (socket?.bytesRead ?? 0) > stamp.bytesRead;
  // Node's response, once its head was parsed
  const res = native && (responseOf(native) as Partial<IncomingMessage> | undefined);
  const withResponse = e.response != null; // axios attached the response
  const responseStarted = withResponse || res != null || bytesSinceReuse || BODY_TERMINATED.test(messages);

  if (e.__CANCEL__ === true || code === 'ERR_CANCELED') {
    return result('canceled', false, code, reusedSocket, responseStarted, idleMs);
  }
  // A response whose body was cut (FIN or RST mid-body) is a reset, not an HTTP status:
  // axios attaches the partial response to such errors (to ERR_BAD_RESPONSE from 1.16.0).
  // ERR_BAD_RESPONSE for a body cut short by the peer (a FIN or an RST before its end): Node's
  // response never completed and Node destroyed it with its own reset error. axios attaches
  // the response only from 1.16.0 and words it as a maxContentLength overflow in 1.7.0-1.7.7;
  // a real overflow is axios destroying the stream itself, which leaves no such error on it.
  const truncated =
    (withResponse && RESET_CODES.has(code as string)) ||
    (code === 'ERR_BAD_RESPONSE' &&
      ((res?.complete === false && RESET_CODES.has(asErrorLike(res.errored)?.code as string)) ||
        (!native && withResponse && messages.includes(TRUNCATED))));
  // ...unless the socket's idle timer ended it: axios's `timeout` through follow-redirects.
  if (truncated && idleTimerFired(socket)) return result('timeout', true, code, reusedSocket, true, idleMs);
  if (truncated)
    return result('reset-mid-response', true, code, reusedSocket, true, idleMs, statusOf(e.response ?? res));
  // The answer arrived whole but its Content-Encoding does not decode: the same bytes would come again.
  if (decode) return result('decode', false, code, reusedSocket, true, idleMs, statusOf(e.response));
  if (withResponse) return result('http-status', false, code, reusedSocket, true, idleMs, statusOf(e.response));
  // The guard gave the request up on a long-idle pooled socket that stayed silent: the far
  // side forgot the connection and drops its packets (a black hole rather than a reset).
  if (code === NO_ANSWER_CODE && !responseStarted) return result('stale-socket', true, code, true, false, idleMs);
  const stream = native === undefined ? h2StreamOf(e.request) : undefined;
  if (stream !== undefined && !messages.includes(TLS_DISCONNECT)) {
    const h2 = classifyH2(stream, code, responseStarted);
    if (h2 !== undefined) return h2;
  }
  if (code !== undefined && RESET_CODES.has(code)) {
    let kind: FailureKind = 'reset';
    if (responseStarted) kind = 'reset-mid-response';
    else if (messages.includes(TLS_DISCONNECT) || tlsHandshakeIncomplete(native?.socket)) kind = 'tls-reset';
    else if (reusedSocket && failedFast) kind = 'stale-socket';
    return result(kind, true, code, reusedSocket, responseStarted, idleMs);
  }
  if (code === 'ECONNREFUSED') return result('refused', true, code, reusedSocket, false, idleMs);
  if ((code !== undefined && TIMEOUT_CODES.has(code)) || isAxiosTimeout(e, code)) {
    return result('timeout', true, code, reusedSocket, responseStarted, idleMs);
  }
  if (code !== undefined && DNS_CODES.has(code)) {
    return result('dns', code === TRANSIENT_DNS, code, reusedSocket, false, idleMs);
  }
  return result('other', false, code, reusedSocket, responseStarted, idleMs);
}

/**
 * An HTTP/2 stream's failure, by what Node left on the stream (its RST_STREAM code, whether
 * it was ever sent, whether response headers came), or `undefined` for the general rules
 * (a refused connection, a timeout, DNS). RFC 9113 §8.7: a refused stream, or one above a
 * GOAWAY's last stream id (Node resets those with REFUSED_STREAM as well), was not processed;
 * so was a stream still pending when its session died (it never got an id, so never left).
 */
function classifyH2(
  stream: H2StreamLike,
  code: string | undefined,
  responseStarted: boolean,
): Classification | undefined {
  const answered = responseStarted || h2ResponseStarted(stream);
  const lost = code !== undefined && H2_SESSION_CODES.has(code);
  // A refusal is this stream's own reset (a stream error) with REFUSED_STREAM; a session
  // destroyed by a GOAWAY gives every stream the GOAWAY's code as its rstCode, so a session
  // error refuses only what lay above the last stream id, or was never sent.
  const refusedItself = code === 'ERR_HTTP2_STREAM_ERROR' && stream.rstCode === H2_REFUSED_STREAM;
  const unprocessed = lost && (aboveGoaway(stream) || (stream as { pending?: unknown }).pending === true);
  if (!answered && (refusedItself || unprocessed)) {
    return result('refused-stream', true, code, false, false, undefined);
  }
  if (lost) return result(answered ? 'reset-mid-response' : 'session-lost', true, code, false, answered, undefined);
  // A RST_STREAM with another code: the server reset this stream alone.
  if (code === 'ERR_HTTP2_STREAM_ERROR') {
    return result(answered ? 'reset-mid-response' : 'reset', true, code, false, answered, undefined);
  }
  return undefined;
}

/**
 * Classifies a failed Axios request: the kind of failure, whether it is transient,
 * whether it ran on a reused keep-alive socket, and whether response bytes had arrived.
 * @example
 * catch (err) { if (classify(err).kind === 'stale-socket') metrics.stale++; }
 */
export function classify(error: unknown): Classification {
  const state = stateOf(error);
  if (state === undefined) return classifyError(error);
  // The verdict made when the attempt failed (its timing included) stands.
  const last = state.last;
  if (last?.classification !== undefined && last.failedAt > 0) return last.classification;
  return classifyError(error, { startedAt: last?.startedAt, staleWindowMs: state.options.staleWindowMs });
}
