/**
 * The attempt whose adapter call is running now. Node hands a pooled socket to a request
 * synchronously inside `http.request()`, which axios's adapter calls before its first
 * await, so the agents' reuse hook (`no-answer.ts`) can ask which attempt a socket went
 * to. A request made later (a redirect hop, after a body was read, on the agent directly)
 * finds no attempt here: whether it could be resent is unknown, so it is not the guard's.
 * The loop sets it around the adapter call and restores the outer one (a guarded request
 * made from inside an adapter) when the call returns.
 */
import type { AxiosAdapter, AxiosResponse } from 'axios';
import type { Attempt } from './attempt';

let current: Attempt | undefined;

/** Calls `adapter` with the attempt's config, as the attempt being sent. */
export function sendingAs(attempt: Attempt, adapter: AxiosAdapter): Promise<AxiosResponse> {
  const outer = current;
  current = attempt;
  try {
    return adapter(attempt.config);
  } finally {
    current = outer;
  }
}

/** The attempt whose adapter call is running now, if any. */
export function attemptBeingSent(): Attempt | undefined {
  return current;
}
