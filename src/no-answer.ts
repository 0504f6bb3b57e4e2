/**
 * Black holes: a firewall or NAT that forgot a pooled connection and drops its packets
 * instead of answering with a reset. A request written on such a socket hears nothing
 * until its timeout. On a socket reused after a long idle (where that is likely), a
 * request that may be resent (idempotent, or keyed) and has had no byte back within
 * `noAnswerMs` of being written is given up on that socket with
 * {@link NO_ANSWER_CODE}; the classifier calls that a stale socket, so it is resent at
 * once on a fresh connection and the origin's idle limit is learned from it.
 */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { stampOf } from './stamps';
import { isIdempotentMethod } from './policy';

/** The code of the error a request gets when it is given up on a silent reused socket. */
export const NO_ANSWER_CODE = 'ERR_RESET_GUARD_NO_ANSWER';

// Node turns longer timers into 1 ms ones.
const MAX_TIMER_MS = 2 ** 31 - 1;

/** What the watch needs to know, from the guard's options. */
export interface NoAnswerSettings {
  /** Only sockets idle at least this long are watched (`staleIdleMs`). */
  readonly idleMs: number;
  /** How long a request may go without a byte back (`noAnswerMs`; 0: off). */
  readonly noAnswerMs: number;
  /** The clock. */
  readonly now?: () => number;
}

/** The agent's reuse hook: starts the watch on a request that got a long-idle pooled socket. */
export function watchForAnswer(settings: NoAnswerSettings): (socket: Socket, request: ClientRequest) => void {
  const now = settings.now ?? Date.now;
  const waitMs = Math.min(settings.noAnswerMs, MAX_TIMER_MS);
  return (socket, request) => {
    const stamp = stampOf(socket);
    if (waitMs <= 0 || stamp === undefined) return;
    const idleMs = now() - stamp.since;
    if (idleMs < settings.idleMs) return;
    // A request that may not be resent keeps waiting: giving it up would only fail it sooner.
    if (!isIdempotentMethod(request.method) && !request.hasHeader('idempotency-key')) return;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      request.off('response', stop);
      request.off('close', stop);
      request.off('finish', start);
    };
    // From when the request is written: a slow upload is not silence from the far side.
    const start = (): void => {
      timer = setTimeout(() => {
        stop();
        if (request.destroyed || socket.bytesRead > stamp.bytesRead) return;
        const error = Object.assign(
          new Error(
            `no answer on a keep-alive connection reused after ${idleMs} ms idle, ${waitMs} ms after the request ` +
              'was written: given up on it (a firewall or NAT that forgot a connection drops its packets)',
          ),
          { code: NO_ANSWER_CODE },
        );
        request.destroy(error);
      }, waitMs);
      timer.unref();
    };
    request.once('response', stop);
    request.once('close', stop);
    if (request.writableFinished) start();
    else request.once('finish', start);
  };
}
