/**
 * Black holes: a firewall or NAT that forgot a pooled connection and drops its packets
 * instead of answering with a reset. A request written on such a socket hears nothing
 * until its timeout. On a socket reused after a long idle (where that is likely), a
 * request that would be resent (idempotent or keyed, with attempts, budget and time
 * left) and has had no byte back within `noAnswerMs` of being written is given up on
 * that socket with `ERR_RESET_GUARD_NO_ANSWER`; the classifier calls that a stale socket,
 * so it is resent at once on a fresh connection. The origin learns its idle limit from it
 * once the resend answered sooner (a slow server, not a black hole, would not).
 */
import type { ClientRequest } from 'node:http';
import type { Socket } from 'node:net';
import { silenceWouldBeRetried, wouldResendSilence } from './decide';
import { monotonicNow } from './clock';
import { NO_ANSWER_CODE } from './kinds';
import { attemptBeingSent } from './sending';
import { MAX_TIMER_MS } from './sleep';
import { stampOf } from './stamps';

/** The agent's reuse hook: starts the watch on a request that got a long-idle pooled socket. */
export function watchForAnswer(
  noAnswerMs: number,
  now: () => number = monotonicNow, // the pool stamps' clock
): (socket: Socket, request: ClientRequest) => void {
  const waitMs = Math.min(noAnswerMs, MAX_TIMER_MS);
  return (socket, request) => {
    const attempt = attemptBeingSent();
    const stamp = stampOf(socket);
    if (attempt === undefined || waitMs <= 0 || stamp === undefined) return;
    const idleMs = Math.floor(now() - stamp.since);
    // A request that may not be resent keeps waiting: giving it up would only fail it sooner.
    if (idleMs < attempt.request.options.staleIdleMs || !wouldResendSilence(attempt)) return;
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      request.off('response', stop);
      request.off('close', stop);
      request.off('finish', start);
    };
    // From when the request is written: a slow upload is not silence from the far side.
    // (A body larger than the socket's buffers never finishes writing into a black hole:
    // such a request waits for its timeout.)
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
        // A retryCondition of the request's has its say first: if it would not resend this,
        // the attempt keeps waiting (a slow answer may yet come).
        const asked = silenceWouldBeRetried(attempt, error, request);
        if (asked === true) request.destroy(error);
        else if (asked !== false) {
          void asked.then((yes) => {
            if (yes && !request.destroyed && socket.bytesRead <= stamp.bytesRead) request.destroy(error);
          });
        }
      }, waitMs);
      timer.unref();
    };
    request.once('response', stop);
    request.once('close', stop);
    if (request.writableFinished) start();
    else request.once('finish', start);
  };
}
