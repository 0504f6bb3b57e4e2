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
import type { AxiosAdapter, AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import { monotonicNow } from './clock';
import type { GuardContext } from './context';
import { wouldResendSilence } from './decide';
import { NO_ANSWER_CODE } from './kinds';
import type { RequestState } from './state';
import { stampOf } from './stamps';

// Node turns longer timers into 1 ms ones.
const MAX_TIMER_MS = 2 ** 31 - 1;

// The attempt whose adapter call is running now. Node hands a pooled socket to a request
// synchronously inside `http.request()`, which the adapter calls before its first await;
// a request made later (a redirect hop, after a body was read, on the agent directly) is
// not the guard's to give up, since whether it could be resent is unknown. Three plain
// references, not an object: nothing is allocated per attempt.
let sendingConfig: InternalAxiosRequestConfig | undefined;
let sendingState: RequestState | undefined;
let sendingCtx: GuardContext | undefined;

/** Calls `adapter(config)` as the attempt the agents' reuse hook sees. */
export function sendWatched(
  adapter: AxiosAdapter,
  config: InternalAxiosRequestConfig,
  state: RequestState,
  ctx: GuardContext,
): Promise<AxiosResponse> {
  const outerConfig = sendingConfig;
  const outerState = sendingState;
  const outerCtx = sendingCtx;
  sendingConfig = config;
  sendingState = state;
  sendingCtx = ctx;
  try {
    return adapter(config);
  } finally {
    sendingConfig = outerConfig;
    sendingState = outerState;
    sendingCtx = outerCtx;
  }
}

/** The state of the attempt whose adapter call is running now, if any. */
export function currentState(): RequestState | undefined {
  return sendingState;
}

/** The agent's reuse hook: starts the watch on a request that got a long-idle pooled socket. */
export function watchForAnswer(
  noAnswerMs: number,
  now: () => number = monotonicNow, // the pool stamps' clock
): (socket: Socket, request: ClientRequest) => void {
  const waitMs = Math.min(noAnswerMs, MAX_TIMER_MS);
  return (socket, request) => {
    const config = sendingConfig;
    const state = sendingState;
    const ctx = sendingCtx;
    const stamp = stampOf(socket);
    if (config === undefined || state === undefined || ctx === undefined || waitMs <= 0 || stamp === undefined) return;
    const idleMs = now() - stamp.since;
    // A request that may not be resent keeps waiting: giving it up would only fail it sooner.
    if (idleMs < state.options.staleIdleMs || !wouldResendSilence(config, state, ctx)) return;
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
