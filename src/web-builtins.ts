/**
 * Stand-ins for the three Node built-ins that modules of the browser entry import only
 * incidentally: `state.ts` (`randomUUID` from `node:crypto`, for request ids) and
 * `events.ts` (`channel` and `tracingChannel` from `node:diagnostics_channel`, `debuglog`
 * from `node:util`).
 * Used only by the browser build (`scripts/build-browser.mjs` maps those three specifiers
 * here and refuses every other Node built-in); Node never loads this file. Where the guard
 * is inert nothing subscribes, publishes or logs: a channel without subscribers and a
 * disabled debug log are exactly what Node gives when nobody listens.
 */

/** A version 4 UUID from Web Crypto, which browsers, edge runtimes and Node >= 19 have. */
export function randomUUID(): string {
  const crypto = globalThis.crypto;
  // randomUUID exists only in secure contexts (https, localhost); getRandomValues everywhere.
  if (typeof crypto.randomUUID === 'function') return crypto.randomUUID();
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40; // version 4
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80; // RFC 9562 variant
  const hex = Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The part of a `diagnostics_channel` Channel that `events.ts` uses. */
export interface SilentChannel {
  readonly name: string;
  readonly hasSubscribers: false;
  publish(message: unknown): void;
}

/** A channel nobody can subscribe to: `hasSubscribers` is always false, `publish` drops. */
export function channel(name: string): SilentChannel {
  return Object.freeze({ name, hasSubscribers: false as const, publish: (): void => undefined });
}

/** The part of a `TracingChannel` that `events.ts` uses: five silent channels. */
export interface SilentTracingChannel {
  readonly start: SilentChannel;
  readonly end: SilentChannel;
  readonly asyncStart: SilentChannel;
  readonly asyncEnd: SilentChannel;
  readonly error: SilentChannel;
}

/** A tracing channel nobody can subscribe to: the guard never traces an attempt through it. */
export function tracingChannel(name: string): SilentTracingChannel {
  const part = (event: string): SilentChannel => channel(`tracing:${name}:${event}`);
  return Object.freeze({
    start: part('start'),
    end: part('end'),
    asyncStart: part('asyncStart'),
    asyncEnd: part('asyncEnd'),
    error: part('error'),
  });
}

/** The part of `util.debuglog`'s logger that `events.ts` uses: never enabled. */
export interface SilentDebugLogger {
  (message: string, ...args: unknown[]): void;
  readonly enabled: false;
}

/** A debug logger that is never enabled (there is no `NODE_DEBUG` outside Node). */
export function debuglog(_section: string): SilentDebugLogger {
  return Object.assign((): void => undefined, { enabled: false as const });
}
