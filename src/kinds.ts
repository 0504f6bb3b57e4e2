/**
 * The one list of failure kinds. Every type, counter and stats record is derived from it,
 * so a new kind is added here and nowhere else.
 */

/**
 * The reset kinds, in the order `stats().resets` lists them:
 * - `stale-socket`: reset, EPIPE or "socket hang up" on a reused keep-alive socket before any response byte;
 * - `reset`: the same on a fresh connection;
 * - `reset-mid-response`: reset after response bytes arrived (headers, or part of them);
 * - `tls-reset`: reset before the TLS handshake completed.
 */
export const RESET_KINDS = Object.freeze(['stale-socket', 'reset', 'reset-mid-response', 'tls-reset'] as const);

/**
 * Every kind of failure the guard tells apart: the reset kinds first, then the others.
 * Two are HTTP/2's own:
 * - `refused-stream`: the server refused the stream (`REFUSED_STREAM`), or it was above the
 *   last stream id of a GOAWAY: RFC 9113 §8.7 says it was not processed;
 * - `session-lost`: the session ended under the stream before its response (GOAWAY with an
 *   error code, the connection closed or reset): it may have been processed.
 */
export const FAILURE_KINDS = Object.freeze([
  ...RESET_KINDS,
  'refused',
  'refused-stream',
  'session-lost',
  'timeout',
  'dns',
  'canceled',
  'http-status',
  'decode',
  'other',
] as const);

/** What kind of failure an attempt met: one of {@link FAILURE_KINDS}. */
export type FailureKind = (typeof FAILURE_KINDS)[number];

/** The reset kinds among {@link FailureKind}: one of {@link RESET_KINDS}. */
export type ResetKind = (typeof RESET_KINDS)[number];

const RESETS: ReadonlySet<string> = new Set(RESET_KINDS);

/** True for the kinds that mean the connection was reset. */
export function isResetKind(kind: FailureKind): kind is ResetKind {
  return RESETS.has(kind);
}

/**
 * The code of the error a request gets when the guard gives it up on a long-idle reused
 * socket that stayed silent (`noAnswerMs`): classified `stale-socket`.
 */
export const NO_ANSWER_CODE = 'ERR_RESET_GUARD_NO_ANSWER';

/**
 * The code of the error an HTTP/2 attempt gets when its stream closed with no response and
 * no error (the session closed under it): axios would wait for it forever. `session-lost`.
 */
export const STREAM_CLOSED_CODE = 'ERR_RESET_GUARD_STREAM_CLOSED';

/** "a reset failure", "an other failure": a kind in a sentence of a reason. */
export function aFailureOf(kind: FailureKind): string {
  return `${/^[aeiou]/.test(kind) ? 'an' : 'a'} ${kind} failure`;
}

/**
 * What a failure with no error code lacks, for its reason: a test's mock often throws such
 * an error (nock's `replyWithError('socket hang up')` is an Error with that message and no
 * code) where Node's own carry one. The guard never classifies by message text.
 */
export const NO_CODE_HINT =
  "this error has no `code`; Node's resets carry `code: 'ECONNRESET'`: in a nock mock use " +
  '`replyWithError(resetError())` of axios-reset-guard/testing';

/** A record with a zero for every kind in `kinds`. */
export function zeroCounts<K extends string>(kinds: readonly K[]): Record<K, number> {
  const out = {} as Record<K, number>;
  for (const kind of kinds) out[kind] = 0;
  return out;
}
