/**
 * HTTP/2 attempts (axios's `httpVersion: 2`). axios keeps its own session pool and hands
 * the guard no stream until the attempt settles, and in some failures it never settles: a
 * stream whose session closed under it (a FIN, a GOAWAY then close, a RST_STREAM with no
 * error before headers) ends with no 'error' event, which is the only one axios listens
 * to, and axios's `timeout` is a timer on that stream, gone with it.
 *
 * Node (22 and later) publishes every client stream it creates on the diagnostics channel
 * `http2.client.stream.created`, synchronously inside `session.request()`, which axios
 * calls synchronously inside the adapter call. So the watch of the attempt being sent at
 * that moment (`sending.ts`) owns the stream: the guard watches it close, and ends the attempt at once
 * when it closed with no response ({@link STREAM_CLOSED_CODE}). Node 20 publishes nothing
 * there: only the guard's own `attemptTimeoutMs` and `deadlineMs` end such an attempt.
 * (A multipart body whose length axios awaits first opens its stream after the adapter
 * call returned: that attempt is not watched either.)
 */
import { subscribe } from 'node:diagnostics_channel';
import type { Readable } from 'node:stream';
import { AxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import type { Http2Config } from './axios-typings';
import { axiosCapabilities, http2Limit } from './capabilities';
import { announceAxiosLimit } from './events';
import { readableEndedOf } from './foreign';
import { H2_NO_ERROR, h2StreamOf, noteSession, type H2StreamLike } from './h2-facts';
import { noteEstablishing, type H2SessionLike } from './h2-handshake';
import type { Http2Ledger } from './h2-ledger';
import { STREAM_CLOSED_CODE } from './kinds';
import type { OriginMemory } from './origins';
import { attemptBeingSent } from './sending';

/** axios's own `http2Options.sessionTimeout` when none is set. */
const AXIOS_SESSION_TIMEOUT_MS = 1000;

/**
 * axios closes an HTTP/2 session idle for `http2Options.sessionTimeout` (1000 ms unless
 * set). The guard keeps it no longer than the origin's free-socket timeout, as for its
 * agents' sockets, so a session is closed by this side before a server or a middlebox
 * that taught a shorter limit forgets it. Never longer than axios's: a session keeps the
 * process alive while it idles. A request that sets its own keeps it.
 */
export function freshSessions(
  config: Http2Config,
  origin: () => string,
  freeSocketTimeout: number,
  origins: OriginMemory,
): void {
  const own = config.http2Options;
  if (own?.sessionTimeout !== undefined) return;
  // (an origin the memory knows nothing of has the option's timeout: no facts to build)
  if (freeSocketTimeout >= AXIOS_SESSION_TIMEOUT_MS && !origins.knows(origin())) return;
  const limit = origins.factsOf(origin()).timeout.ms;
  if (limit < AXIOS_SESSION_TIMEOUT_MS) config.http2Options = { ...own, sessionTimeout: limit };
}

/** True for a request axios sends over HTTP/2. */
export function isHttp2(config: Http2Config): boolean {
  return config.httpVersion === 2;
}

/**
 * One HTTP/2 attempt's watch: given its stream when Node opens it, it calls `orphaned` when
 * the stream closed with no response and axios did not settle the attempt (checked a turn
 * of the event loop later, once axios's own rejection or cancellation had its chance).
 */
export class H2Watch {
  stream: H2StreamLike | undefined;

  /**
   * The stream closed before its body's end arrived (no END_STREAM: a RST_STREAM, with
   * NO_ERROR too, or the connection gone), as Node 22+ tells the `http2.client.stream.close`
   * channel before it ends the body on the stream's behalf.
   */
  cutShort = false;
  #onCut: (() => void) | undefined;

  constructor(
    private readonly origin: string,
    private readonly ledger: Http2Ledger,
    private readonly orphaned: (error: AxiosError) => void,
    private readonly config: InternalAxiosRequestConfig,
    /** The caller or the guard canceled the attempt: its stream's end is theirs, not a cut. */
    private readonly canceled: () => boolean,
  ) {}

  /**
   * Set when the adapter call opened a second stream (an adapter of the caller's that sends
   * a request of its own first, say): which one is the attempt's is unknown, so neither
   * ends it.
   */
  #ambiguous = false;

  bind(stream: H2StreamLike & NodeJS.EventEmitter): void {
    if (this.stream !== undefined) {
      this.#ambiguous = true;
      return;
    }
    this.stream = stream;
    watched.set(stream, this);
    const session = stream.session;
    if (session !== undefined) {
      noteSession(stream, session);
      noteEstablishing(session as unknown as H2SessionLike);
      shelter(session);
    }
    this.ledger.noteStream(this.origin, stream, session);
    let answered = false;
    stream.once('response', () => {
      answered = true;
    });
    stream.once('close', () => {
      if (answered || this.#ambiguous) return;
      setImmediate(() => {
        if (!this.#ambiguous) this.orphaned(orphanError(this.config, stream));
      });
    });
  }

  /** From the close channel, before Node ends the body itself: was its end received? */
  closing(stream: H2StreamLike): void {
    if (this.#ambiguous || this.canceled()) return;
    if (readableEndedOf(stream) !== false) return;
    this.cutShort = true;
    this.#onCut?.();
  }

  /**
   * The attempt settled: the ledger learns of a stream Node 20 did not publish; a buffered
   * body cut short is the error returned (axios resolved the part it had); a streamed one
   * handed over errs, if its stream is (or gets) cut short, instead of ending as if whole.
   */
  settle(response: AxiosResponse | undefined, error: unknown): AxiosError | undefined {
    const stream =
      this.stream ?? h2StreamOf(response?.request ?? (error as { request?: unknown } | undefined)?.request);
    if (stream === undefined) return undefined;
    if (this.stream === undefined) this.ledger.noteStream(this.origin, stream);
    if (response === undefined) return undefined;
    if (response.config.responseType !== 'stream') {
      const code = stream.rstCode;
      return this.cutShort || (code !== undefined && code !== H2_NO_ERROR) ? cutError(response, stream) : undefined;
    }
    const data = response.data as Readable | undefined;
    if (typeof data?.destroy !== 'function') return undefined;
    const fail = (): void => {
      this.#onCut = undefined;
      if (!data.destroyed && !data.readableEnded && !this.canceled()) data.destroy(cutError(response, stream));
    };
    if (this.cutShort) fail();
    else this.#onCut = fail;
    return undefined;
  }
}

/**
 * axios before 1.20.0 puts no 'error' listener on its HTTP/2 sessions, so a TCP reset under
 * one is an uncaught exception that ends the process, whatever the requests' own handlers
 * do. A listener keeps the process alive and changes nothing else: Node destroys the session
 * and fails its streams with the same error (axios hears those), and axios opens a new session
 * for the next request. A session that has a listener (axios 1.20.0+, the caller's) is left as it is.
 */
function shelter(session: object): void {
  const emitter = session as Partial<NodeJS.EventEmitter>;
  if (typeof emitter.listenerCount !== 'function' || typeof emitter.on !== 'function') return;
  if (emitter.listenerCount('error') === 0) emitter.on('error', ignoreSessionError);
}

function ignoreSessionError(): void {
  // the session's streams carry the error to their requests
}

/** The stream each watch bound (so the close channel finds its watch). */
const watched = new WeakMap<object, H2Watch>();

function orphanError(config: InternalAxiosRequestConfig, stream: H2StreamLike): AxiosError {
  const code = stream.rstCode;
  const why =
    code === undefined || code === H2_NO_ERROR
      ? 'the server ended it with no error and no answer'
      : `it was closed with code ${code}, the session gone under it`;
  return new AxiosError(`HTTP/2 stream closed before its response: ${why}`, STREAM_CLOSED_CODE, config, stream);
}

/** axios's words for a body cut short, with the HTTP/2 stream's code. */
function cutError(response: AxiosResponse, stream: H2StreamLike): AxiosError {
  return new AxiosError(
    `stream has been aborted: the HTTP/2 stream closed with code ${stream.rstCode ?? H2_NO_ERROR} before its body ended`,
    AxiosError.ERR_BAD_RESPONSE,
    response.config,
    stream,
    response,
  );
}

let subscribed = false;

/** Starts listening for Node's HTTP/2 client streams (once per process; Node 22 and later publish). */
export function watchHttp2Streams(): void {
  if (subscribed) return;
  subscribed = true;
  announceAxiosLimit(http2Limit(axiosCapabilities()));
  // Published inside Node's closeStream, before it ends a body whose END_STREAM never came.
  subscribe('http2.client.stream.close', (message) => {
    const stream = (message as { stream?: unknown } | null)?.stream;
    const watch = typeof stream === 'object' && stream !== null ? watched.get(stream) : undefined;
    if (watch !== undefined) watch.closing(stream as H2StreamLike);
  });
  subscribe('http2.client.stream.created', (message) => {
    const stream = (message as { stream?: unknown } | null)?.stream;
    const watch = attemptBeingSent()?.streamWatch;
    if (watch instanceof H2Watch && h2StreamOf(stream) !== undefined) {
      watch.bind(stream as H2StreamLike & NodeJS.EventEmitter);
    }
  });
}
