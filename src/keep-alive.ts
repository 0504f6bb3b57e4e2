/**
 * Keep-alive arithmetic: the server's `Keep-Alive` hint (parsed, remembered per socket,
 * turned into a free-socket timeout) and the idle limits the guard learns from stale
 * resets (how low, on what evidence, how fast they recover, how long they are kept).
 */
import type { Duplex } from 'node:stream';
import { pendingResponseOf } from './foreign';

/** A server's `Keep-Alive: timeout=N, max=M` response header, parsed. */
export interface KeepAliveHint {
  /** `timeout=N`: seconds the server keeps an idle connection. */
  readonly timeoutSeconds: number | undefined;
  /** `max=M`: requests the connection may still carry after this response. */
  readonly max: number | undefined;
}

/** Parses a `Keep-Alive` header value; unknown or malformed parameters are ignored. */
export function parseKeepAlive(value: unknown): KeepAliveHint {
  let timeoutSeconds: number | undefined;
  let max: number | undefined;
  if (typeof value === 'string') {
    for (const part of value.split(',')) {
      const [key, raw] = part.split('=').map((x) => x.trim().toLowerCase());
      const n = raw !== undefined && /^\d{1,9}$/.test(raw) ? Number(raw) : undefined;
      if (key === 'timeout' && n !== undefined) timeoutSeconds = n;
      if (key === 'max' && n !== undefined) max = n;
    }
  }
  return { timeoutSeconds, max };
}

/**
 * How long a free socket may idle given the server's hint: one second under the
 * announced timeout (the margin undici and Node's own agent keep, for clock skew and a
 * request already in flight), never above the configured value. Node's agent already
 * refuses to reuse a socket whose hint is 1 s or less.
 */
export function hintedFreeSocketTimeout(configuredMs: number, timeoutSeconds: number | undefined): number {
  if (timeoutSeconds === undefined) return configuredMs;
  return Math.max(0, Math.min(configuredMs, timeoutSeconds * 1000 - 1000));
}

const hinted = new WeakMap<Duplex, number>();
// A server sends the same Keep-Alive value on every response (`timeout=5`): parse it once.
let lastValue: unknown;
let lastHint: KeepAliveHint = parseKeepAlive(undefined);

/**
 * Notes the last response's Keep-Alive hint for a socket going back to the pool.
 * Returns false when the server's `max` says no request may follow: `max` counts the
 * requests the connection may still carry (Apache counts it down, 100, 99, ...).
 */
export function noteHint(socket: Duplex, configuredMs: number): boolean {
  const value = pendingResponseOf(socket)?.headers['keep-alive'];
  if (value !== lastValue) {
    lastValue = value;
    lastHint = parseKeepAlive(value);
  }
  const hint = lastHint;
  if (hint.timeoutSeconds === undefined) hinted.delete(socket);
  else hinted.set(socket, hintedFreeSocketTimeout(configuredMs, hint.timeoutSeconds));
  return hint.max === undefined || hint.max > 0;
}

/** The free-socket timeout the last Keep-Alive hint asked of this socket, if any. */
export function hintOf(socket: Duplex): number | undefined {
  return hinted.get(socket);
}

/** Learned idle limits are never set below this: a far side that forgets faster is broken. */
export const LEARNED_FLOOR_MS = 250;
/**
 * Real idle timeouts are a second or more (Node 5 s, gunicorn 2 s, nginx 75 s, load
 * balancers 60 s and up). A stale reset after a shorter idle is as likely a restart or an
 * overload: it is learned only when a second one, within {@link CORROBORATE_MS}, agrees.
 */
export const PLAUSIBLE_IDLE_MS = 500;
/** How long a lone implausibly short stale reset waits for a second one. */
export const CORROBORATE_MS = 60_000;
/**
 * A learned limit doubles after each such span without a stale reset at that origin, up
 * to the configured value, where it is dropped: the far side may have been fixed, and a
 * step too far costs one stale reset, resent at once on a fresh connection.
 */
export const RECOVER_AFTER_MS = 120_000;
/** An origin not heard of (no socket freed, no failure, no budget use) for this long is forgotten. */
export const FORGET_AFTER_MS = 600_000;
/** The most origins one guard remembers; the least recently heard of goes first. */
export const MAX_ORIGINS = 1000;

/**
 * The idle limit learned from a stale-socket reset after `idleMs` of idle: the far side
 * forgot the connection somewhere before that, so stay a quarter below it.
 */
export function learnedIdleLimit(idleMs: number): number {
  return Math.max(LEARNED_FLOOR_MS, Math.floor(idleMs * 0.75));
}
