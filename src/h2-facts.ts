/**
 * What an axios HTTP/2 attempt leaves to read: its `ClientHttp2Stream` (axios hands the
 * stream out as `error.request` / `response.request`), the stream's `rstCode`, and the
 * session the guard saw it on. Pure: no Node import, so the classifier stays browser-safe.
 */

/** RFC 9113 §7 error codes the guard reads. */
export const H2_NO_ERROR = 0;
export const H2_REFUSED_STREAM = 7;

/** The parts of a `ClientHttp2Stream` the guard reads. */
export interface H2StreamLike {
  /** The RST_STREAM code it closed with; `undefined` while it is open. */
  readonly rstCode: number | undefined;
  /** The session; `undefined` once the stream is destroyed. */
  readonly session: object | undefined;
  readonly destroyed: boolean;
  close(code?: number): void;
}

/**
 * The HTTP/2 stream behind an axios error's or response's `request`, by shape (the class is
 * not exported by Node): a duplex with `rstCode`, `sentHeaders` and `close(code)`.
 */
export function h2StreamOf(request: unknown): H2StreamLike | undefined {
  if (typeof request !== 'object' || request === null) return undefined;
  const r = request as Partial<Record<'close' | 'sentHeaders' | 'pending', unknown>>;
  if (typeof r.close !== 'function' || !('rstCode' in request) || !('sentHeaders' in r) || !('pending' in r)) {
    return undefined;
  }
  return request as H2StreamLike;
}

// The lowest last stream id of the GOAWAYs each session received, and the session each
// watched stream was opened on (Node detaches a stream from its session once it is
// destroyed, before axios rejects).
const goneAway = new WeakMap<object, number>();
const sessions = new WeakMap<object, object>();

/** Remembers the session `stream` runs on, while both live. */
export function noteSession(stream: object, session: object): void {
  sessions.set(stream, session);
}

/** Marks `session` as going away: it received a GOAWAY naming `lastStreamId`. */
export function noteGoaway(session: object, lastStreamId: unknown): void {
  const last = typeof lastStreamId === 'number' ? lastStreamId : Number.MAX_SAFE_INTEGER;
  goneAway.set(session, Math.min(last, goneAway.get(session) ?? last));
}

/** The session a stream ran on (kept after Node detached it), if the guard saw it. */
export function sessionOf(stream: H2StreamLike): { closed?: unknown; destroyed?: unknown } | undefined {
  return stream.session ?? sessions.get(stream);
}

/**
 * The stream is above the last stream id of a GOAWAY its session received: RFC 9113 §6.8,
 * the server took no action on it, whatever the GOAWAY's error code. Known on Node 22 and
 * later, where the guard sees which session a stream was opened on.
 */
export function aboveGoaway(stream: H2StreamLike): boolean {
  const session = sessionOf(stream);
  const last = session === undefined ? undefined : goneAway.get(session);
  const id = (stream as { id?: unknown }).id;
  return last !== undefined && typeof id === 'number' && id > last;
}

/**
 * True when the stream's session is going away: it received a GOAWAY, or is closed or
 * destroyed. A stream refused then goes to a new session at once; one refused by a live
 * session (a server at its stream limit) waits its backoff.
 */
export function sessionGoingAway(stream: H2StreamLike): boolean {
  const session = sessionOf(stream);
  if (session === undefined) return false;
  return goneAway.has(session) || session.closed === true || session.destroyed === true;
}
