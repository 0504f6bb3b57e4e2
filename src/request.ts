/**
 * The loop of one logical request, first attempt and retries on the same path.
 *
 * A request through a guarded instance: axios runs the user's request interceptors and
 * transforms once, then calls the guard's adapter (`install.ts`), which calls
 * {@link runRequest} with the final config. There:
 * 1. The request's state is made (`state.ts`: id, options, deadline, history, budget) and
 *    the things that must hold for every attempt are set once: an Idempotency-Key, the
 *    first body of a body factory, the HTTP/2 session bound.
 * 2. Each attempt is an {@link Attempt} object: `begin` gives it a new body (body factory,
 *    retries only), fresh headers carrying its number and the request id, and its time
 *    bound cut to what the deadline leaves; `send` hands the user's config to the user's
 *    adapter under the guard's own bounds (`time-bounds.ts`), as the attempt being sent.
 * 3. It answers: the success is learned from (recovered, black hole confirmed, budget
 *    refilled) and the response handed up to axios.
 * 4. It fails: `judgeFailure` (`decide.ts`) classifies it, destroys a reset's socket and
 *    teaches the origin, and decides under the pure policy, the budget and the deadline.
 *    A refusal ends the loop. A retry goes through `waitToRetry` (`wait.ts`): history,
 *    the `beforeRetry` and `onRetry` hooks, the wait (no timer at all when it is 0), the
 *    deadline re-checked; then the next attempt.
 * 5. The request ends in failure: the last body made is closed and `settleFailure`
 *    (`settle.ts`) presents the error (user's config, metadata, reason, redacted JSON) and
 *    fires `onGiveUp`. An error a hook, the sleep or the body factory threw passes as it is.
 */
import axios, {
  AxiosHeaders,
  isAxiosError,
  type AxiosAdapter,
  type AxiosError,
  type AxiosRequestConfig,
  type AxiosResponse,
  type InternalAxiosRequestConfig,
} from 'axios';
import { Attempt, OwnError } from './attempt';
import { adapterFor } from './axios-typings';
import { discardBody } from './body';
import { transformed } from './caller-view';
import { monotonicNow } from './clock';
import type { GuardContext } from './context';
import { judgeFailure, onBudgetRecovery } from './decide';
import { announceRecovered, traceAttempt, tracingAttempts } from './events';
import { freshSessions, isHttp2 } from './h2';
import { addIdempotencyKey } from './idempotency-key';
import type { ResolvedOptions } from './normalize';
import { attemptTimeoutOf, optionsOf } from './request-options';
import { describeAttempt, settleFailure } from './settle';
import { RequestState, STATE_KEY, stateOf } from './state';
import { sendBounded } from './time-bounds';
import { dropUpload, firstBody, freshBody, giveBackData } from './uploads';
import { giveBack, waitToRetry } from './wait';

type StatefulConfig = InternalAxiosRequestConfig & { [STATE_KEY]?: RequestState };

/** Sends the attempts of one logical request; resolves with the answer, or rejects with the error that ended it. */
export async function runRequest(
  config: StatefulConfig,
  adapter: AxiosRequestConfig['adapter'],
  ctx: GuardContext,
): Promise<AxiosResponse> {
  const request = new RequestState(optionsOf(config, ctx), ctx, config, adapter);
  const { options } = request;
  request.attemptTimeout = attemptTimeoutOf(options.attemptTimeoutMs, config.timeout);
  config[STATE_KEY] = request;
  ctx.counters.requests += 1;
  // A factory that throws rejects the request with its own error, before anything is sent.
  addIdempotencyKey(config, options.idempotencyKey);
  if (ctx.options.agents && isHttp2(config)) {
    freshSessions(config, () => request.originOf(), ctx.options.freeSocketTimeout, ctx.origins);
  }
  if (options.body !== undefined) request.upload = firstBody(config, options.body);
  const lent = lend(config, options);
  try {
    const response = await attempts(request);
    giveBackConfig(request, lent);
    return response;
  } catch (error) {
    giveBackConfig(request, lent);
    dropUpload(request.upload);
    // A hook's, the sleep's, the body factory's or a condition's own error passes as it is.
    const own = error instanceof OwnError;
    throw await settleFailure(own ? error.error : error, request, own);
  }
}

/** The attempts, until one is answered or the decision on a failure says no more. */
async function attempts(request: RequestState): Promise<AxiosResponse> {
  for (let number = 1; ; number += 1) {
    const attempt = begin(request, number);
    let failure: unknown;
    try {
      const response = await send(attempt);
      return succeed(response, attempt);
    } catch (error) {
      failure = error;
    }
    // axios-retry's validateResponse may take the "failed" answer for a success.
    const answer = acceptedAnswer(failure, request);
    if (answer !== undefined) return succeed(answer, attempt);
    const decision = await judgeFailure(failure, attempt);
    if (decision?.retry !== true) throw failure;
    // Resolves with a refusal when the deadline or a detach overtook the hooks or the wait.
    if ((await waitToRetry(failure as AxiosError, attempt)) !== undefined) throw failure;
  }
}

/** What the attempts write on the user's config, and the caller's own values to give back. */
interface Lent {
  readonly timeout: number | undefined;
  readonly validateStatus: InternalAxiosRequestConfig['validateStatus'];
}

function lend(config: InternalAxiosRequestConfig, options: ResolvedOptions): Lent {
  const lent = { timeout: config.timeout, validateStatus: config.validateStatus };
  // As axios-retry does: every answer comes back as a failure, for validateResponse to judge.
  if (options.validateResponse !== undefined) config.validateStatus = () => false;
  return lent;
}

/** The request is over: the config holds the caller's own values again. */
function giveBackConfig(request: RequestState, lent: Lent): void {
  const { config } = request;
  if (lent.timeout === undefined) delete config.timeout;
  else config.timeout = lent.timeout;
  if (request.options.validateResponse !== undefined) {
    if (lent.validateStatus === undefined) delete config.validateStatus;
    else config.validateStatus = lent.validateStatus;
  }
  if (request.upload !== undefined) giveBackData(config, request.upload);
}

/** The answer of a failed attempt that the request's `validateResponse` accepts, if any. */
function acceptedAnswer(failure: unknown, request: RequestState): AxiosResponse | undefined {
  const validate = request.options.validateResponse;
  if (validate == null || !isAxiosError(failure) || failure.response === undefined) return undefined;
  if (stateOf(failure.config) !== request) return undefined;
  let valid: boolean;
  try {
    valid = validate(transformed(failure.response));
  } catch (error) {
    // Its error ends the request: nobody can read this attempt's streamed body any more.
    discardBody(failure.response.data);
    throw new OwnError(error);
  }
  return valid ? failure.response : undefined;
}

/** Starts attempt `number`: its body (retries of a body factory), headers and time bound. */
function begin(request: RequestState, number: number): Attempt {
  const { config, options } = request;
  if (number > 1 && request.upload !== undefined) {
    // Fresh headers first: the new body's length must not land on the last attempt's.
    config.headers = new AxiosHeaders(config.headers);
    try {
      freshBody(config, request.upload, options.body as NonNullable<typeof options.body>);
    } catch (factoryError) {
      // The retry this body would have fed costs nothing; the factory's error ends the request.
      giveBack(request);
      throw new OwnError(factoryError);
    }
  } else {
    // The first attempt sends the headers axios made; each retry a copy, so that a
    // response or error of an earlier attempt keeps describing what that one sent.
    config.headers = number === 1 ? AxiosHeaders.from(config.headers) : new AxiosHeaders(config.headers);
  }
  const attempt = new Attempt(request, config, number);
  request.last = attempt;
  request.guard.counters.attempts += 1;
  const remaining = request.remainingMs(attempt.startedAt);
  if (remaining === undefined) config.timeout = request.attemptTimeout;
  else {
    // No attempt may outlive the deadline (axios treats timeout 0 as "none", hence >= 1).
    const left = Math.max(1, remaining);
    config.timeout = request.attemptTimeout > 0 ? Math.min(request.attemptTimeout, left) : left;
  }
  const { attemptHeader, requestIdHeader } = options;
  if (attemptHeader !== false) config.headers.set(attemptHeader, `${number}/${request.maxAttempts}`);
  if (requestIdHeader !== false) config.headers.set(requestIdHeader, request.requestId);
  return attempt;
}

/** One attempt to the user's adapter, under the guard's bounds, traced when someone listens. */
function send(attempt: Attempt): Promise<AxiosResponse> {
  const { request, config } = attempt;
  // the config lets the fetch adapter pick up a custom `env.fetch`, as axios does
  const adapter: AxiosAdapter = adapterFor(request.adapter ?? axios.defaults.adapter, config);
  if (!tracingAttempts()) return sendBounded(adapter, attempt);
  const summary = { requestId: request.requestId, attempt: attempt.number, maxAttempts: request.maxAttempts };
  return traceAttempt(config, request.guard.secrets, summary, () => sendBounded(adapter, attempt));
}

/** What an answer teaches: a recovery, a black hole confirmed, a budget refilled. */
function succeed(response: AxiosResponse, attempt: Attempt): AxiosResponse {
  const { request, config } = attempt;
  const ctx = request.guard;
  if (attempt.number > 1) {
    ctx.counters.recovered += 1;
    const took = Math.round(monotonicNow() - request.firstStartedAt);
    announceRecovered(
      config,
      ctx.secrets,
      () => request.requestId,
      attempt.number,
      request.maxAttempts,
      request.history,
      took,
    );
  }
  // A black hole is learned once the resend on a fresh connection answered in time.
  const hole = request.blackHole;
  if (hole !== undefined && monotonicNow() - attempt.startedAt < ctx.options.noAnswerMs) {
    ctx.origins.confirmBlackHole(hole.agent, hole.stamp, hole.idleMs);
  }
  // An origin that never failed has a full budget (or none yet): nothing to look up.
  const budget =
    request.budget ?? (ctx.origins.hasBudgets ? ctx.origins.existingBudgetOf(request.originOf()) : undefined);
  if (budget !== undefined) onBudgetRecovery(request.originOf(), budget, budget.onSuccess(request.lastCost));
  response.config = describeAttempt(config, response.config);
  return response;
}
