/**
 * HTTP/2 sessions that never came up (issue 22). A stream still pending when its session
 * died never got an id: it is a refused stream only when an established session (TLS and
 * ALPN done, the server's SETTINGS received) refused or lost it. One whose session failed
 * its TLS checks (a certificate that does not match the host) or was reset during the
 * handshake failed as an HTTP/1.1 connection does, and is classified by that cause. Node
 * only (the guard sees sessions on Node 22 and later); the browser entry's classifier
 * stays as it is.
 */
import type { AxiosError } from 'axios';
import { h2StreamOf, sessionOf } from './h2-facts';
import { fullPath } from './redact';
import type { Classification } from './types';

// Whether each session the guard saw connecting has received the server's SETTINGS since.
const established = new WeakMap<object, boolean>();

/** The parts of a `ClientHttp2Session` {@link noteEstablishing} reads. */
export interface H2SessionLike {
  readonly connecting?: unknown;
  once(event: 'remoteSettings', listener: () => void): unknown;
}

/** Watches a session seen while it connects, until the server's SETTINGS arrive. */
export function noteEstablishing(session: H2SessionLike): void {
  if (established.has(session)) return;
  // Seen already connected: its TLS, ALPN and first exchange were done before.
  if (session.connecting !== true) return void established.set(session, true);
  established.set(session, false);
  session.once('remoteSettings', () => established.set(session, true));
}

// Node's and OpenSSL's codes for a TLS handshake that failed its checks: nothing was sent.
const TLS_FAILURE = /^(ERR_TLS_|ERR_SSL_|UNABLE_TO_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT$|SELF_SIGNED_CERT_IN_CHAIN$)/;
const RESET_CODES = new Set(['ECONNRESET', 'EPIPE']);

function causeCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current = error as { code?: unknown; cause?: unknown } | undefined;
  for (let depth = 0; current != null && depth < 8; depth += 1) {
    if (typeof current.code === 'string') codes.push(current.code);
    current = current.cause as typeof current;
  }
  return codes;
}

/**
 * `classification` of an HTTP/2 attempt, corrected when its stream never got an id and its
 * session never came up: `other` with the TLS code for failed checks (not retried, as on
 * HTTP/1.1), `tls-reset` (or `reset` on h2c) for a reset before the server's SETTINGS.
 */
export function handshakeVerdict(error: AxiosError, classification: Classification): Classification {
  if (classification.kind !== 'refused-stream' && classification.kind !== 'session-lost') return classification;
  const stream = h2StreamOf(error.request);
  if (stream === undefined || (stream as { pending?: unknown }).pending !== true) return classification;
  const codes = causeCodes(error);
  const tls = codes.find((code) => TLS_FAILURE.test(code));
  if (tls !== undefined) return Object.freeze({ ...classification, kind: 'other', retryable: false, code: tls });
  const session = sessionOf(stream);
  if (session === undefined || established.get(session) !== false) return classification;
  const reset = codes.find((code) => RESET_CODES.has(code));
  if (reset === undefined) return classification;
  const kind = /^https:/i.test(fullPath(error.config)) ? 'tls-reset' : 'reset';
  return Object.freeze({ ...classification, kind, retryable: true, code: reset });
}
