/**
 * `axios-reset-guard/testing`: for your own tests of code that uses the guard.
 * - Errors shaped exactly as Node's net, tls and http modules make them (class, `code`,
 *   `errno`, `syscall`, `message` and the extra fields), to hand to nock's
 *   `replyWithError(...)` or to throw from a test adapter: the guard classifies them as it
 *   classifies the real ones. A string or a plain object (`replyWithError({ code })`) is not
 *   such an error: nock 14 never settles the plain object, and a string has no `code`.
 * - {@link testingOptions}: options under which every wait between attempts is instant and
 *   deterministic and no timer is armed for it, so a request needing retries completes under
 *   jest's or vitest's fake timers; the waits the guard planned are recorded for assertions.
 * - {@link attemptOf}, re-exported: a response's or an error's attempt number and history.
 *
 * No HTTP/2 refused-stream error is offered: the guard tells a refused stream by the
 * `ClientHttp2Stream` it failed on (its RST_STREAM code, whether it was sent), not by an
 * error's message, and nock cannot intercept axios's HTTP/2 requests. A look-alike error
 * would be classified differently from the real thing; test HTTP/2 against a real `node:http2`
 * server that calls `stream.close(http2.constants.NGHTTP2_REFUSED_STREAM)`.
 * @packageDocumentation
 */
import { getSystemErrorMap } from 'node:util';
import type { GuardOptions } from './options';
import { TEST_SEAMS, type TestSeams } from './seams';

export { attemptOf } from './state';

/** An error as Node's system calls make it (`uvException`): `errno`, `code`, `syscall`, maybe `address` and `port`. */
export interface SystemError extends Error {
  /** Node's negative error number on this platform (`-104` for ECONNRESET on Linux). */
  errno: number;
  /** The error's name, such as `'ECONNRESET'`. */
  code: string;
  /** The system call that failed: `'read'`, `'write'` or `'connect'`. */
  syscall: string;
  /** The remote address, for a failed `connect`. */
  address?: string;
  /** The remote port, for a failed `connect`. */
  port?: number;
}

/** Node's "socket hang up" (http's ClientRequest): `code: 'ECONNRESET'` and no `errno`. */
export interface HangUpError extends Error {
  /** Always `'ECONNRESET'`. */
  code: 'ECONNRESET';
}

/** Node's TLS disconnect before the handshake completed (tls's TLSSocket). */
export interface TlsResetError extends Error {
  /** Always `'ECONNRESET'`. */
  code: 'ECONNRESET';
  /** The socket path of the connection's options (unset for TCP). */
  path: string | undefined;
  /** The host connected to. */
  host: string;
  /** The port connected to. */
  port: number;
  /** The local address of the connection's options (usually unset). */
  localAddress: string | undefined;
}

/** This platform's errno for `code` (negative, as libuv reports it: -104 for ECONNRESET on Linux). */
function errnoOf(code: string): number {
  for (const [errno, [name]] of getSystemErrorMap()) if (name === code) return errno;
  throw new Error(`axios-reset-guard/testing: ${code} is not a system error on this platform`);
}

/** The error as Node's `uvException`/`exceptionWithHostPort` build it: own fields in Node's order. */
function systemError(code: string, syscall: string, address?: string, port?: number): SystemError {
  const where = address === undefined ? '' : ` ${address}:${port}`;
  const error = new Error(`${syscall} ${code}${where}`) as SystemError;
  error.errno = errnoOf(code);
  error.code = code;
  error.syscall = syscall;
  if (address !== undefined && port !== undefined) {
    error.address = address;
    error.port = port;
  }
  return error;
}

/**
 * `Error: read ECONNRESET`: the server (or something on the way) reset the connection
 * while the client was reading, the usual reset of a request on a fresh or pooled socket.
 * Classified `reset` (`stale-socket` on a reused keep-alive socket); retried when the
 * request may be resent.
 * @example
 * nock('http://api.test').get('/items').replyWithError(resetError()).get('/items').reply(200, []);
 */
export function resetError(): SystemError {
  return systemError('ECONNRESET', 'read');
}

/**
 * `Error: socket hang up` with `code: 'ECONNRESET'`, as http's ClientRequest makes it when
 * the connection closed before any response came. Classified like {@link resetError}.
 */
export function hangUpError(): HangUpError {
  return Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' as const });
}

/**
 * `Error: write EPIPE`: the client wrote to a connection the server had closed. Classified
 * as a reset.
 */
export function pipeError(): SystemError {
  return systemError('EPIPE', 'write');
}

/**
 * `Error: connect ECONNREFUSED 127.0.0.1:<port>`: nothing listens there. Classified
 * `refused`: nothing was sent, so any method may be retried.
 * @param port - The port in the message and the `port` field.
 * @defaultValue port 80
 */
export function refusedError(port = 80): SystemError {
  return systemError('ECONNREFUSED', 'connect', '127.0.0.1', port);
}

/**
 * `Error: connect ETIMEDOUT 127.0.0.1:<port>`: the connection was never established (the
 * kernel gave up on its SYNs). Classified `timeout`, which is retried only with
 * `retryTimeouts: true`.
 * @param port - The port in the message and the `port` field.
 * @defaultValue port 80
 */
export function timedOutError(port = 80): SystemError {
  return systemError('ETIMEDOUT', 'connect', '127.0.0.1', port);
}

/**
 * `Error: Client network socket disconnected before secure TLS connection was established`
 * with `code: 'ECONNRESET'`: the server closed the connection during the TLS handshake.
 * Classified `tls-reset`.
 * @param host - The host connected to.
 * @param port - The port connected to.
 * @defaultValue host `'127.0.0.1'`, port 443
 */
export function tlsResetError(host = '127.0.0.1', port = 443): TlsResetError {
  const error = new Error(
    'Client network socket disconnected before secure TLS connection was established',
  ) as TlsResetError;
  error.code = 'ECONNRESET';
  error.path = undefined;
  error.host = host;
  error.port = port;
  error.localAddress = undefined;
  return error;
}

/** The test seams {@link testingOptions} takes: each replaces the guard's own. */
export interface TestingSeams {
  /**
   * Source of randomness for backoff jitter, returning [0, 1).
   * @defaultValue `() => 0.5`: every planned wait is half its full-jitter ceiling.
   */
  random?: (() => number) | undefined;
  /**
   * Waits between attempts; must reject when `signal` aborts. Called only for a wait longer
   * than 0 ms.
   * @defaultValue a wait that resolves at once, arming no timer
   */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
}

/** What {@link testingOptions} returns: options for `attach()` or `createClient()`, and what they recorded. */
export type TestingOptions = GuardOptions & {
  /**
   * The wait the guard planned before each retry it granted, in order, across every request
   * of the instance (0 for an immediate resend such as a stale socket's). Live: read it after
   * the requests. Not an option: non-enumerable, so `{ ...testingOptions() }` does not copy it
   * (the copy still records into this array).
   */
  readonly plannedDelays: readonly number[];
};

/**
 * Options for a guard under test: `options` (yours, unchanged) plus the test seams, so that
 * every wait between attempts is instant and deterministic (jitter fixed at 0.5 unless you
 * pass `random`) and arms no timer, whatever the retry count; and a record of the waits the
 * guard planned (`plannedDelays`).
 *
 * A `retryDelay` of yours plans its own waits (axios-retry's `exponentialDelay` adds
 * `Math.random()` jitter): they are recorded and instant, not fixed. Pass the result to
 * `attach()` or `createClient()`; a request's `resetGuard` holding its seams is refused.
 *
 * Other timers stay as in production: an axios `timeout`, `attemptTimeoutMs` or `deadlineMs`
 * you set arms one; so does the black-hole watch (`expert.noAnswerMs`), but only on a real
 * keep-alive socket reused after `expert.staleIdleMs` idle (never with nock or a test adapter).
 * @param options - Your options, as you would pass them to `attach()`.
 * @param seams - Your own jitter source or wait, instead of the instant ones.
 * @example
 * const options = testingOptions({ retries: 3 });
 * attach(api, options);
 * // ... a request that met two resets
 * expect(options.plannedDelays).toEqual([100, 200]);
 */
export function testingOptions(options: GuardOptions = {}, seams: TestingSeams = {}): TestingOptions {
  const plannedDelays: number[] = [];
  const given: TestSeams = {
    random: seams.random ?? (() => 0.5),
    sleep: seams.sleep ?? (() => Promise.resolve()),
    record: (delayMs) => void plannedDelays.push(delayMs),
  };
  const out = { ...options, [TEST_SEAMS]: given };
  Object.defineProperty(out, 'plannedDelays', { value: plannedDelays, enumerable: false });
  return out as unknown as TestingOptions;
}
