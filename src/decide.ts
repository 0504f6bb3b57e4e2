/**
 * After a failed attempt: classify it, act on a reset (the socket never goes back to the
 * pool; a stale one teaches the pool memory), and decide, under the policy and the retry
 * budget, whether another attempt goes out. Runs once per failed attempt, first or retry.
 */
import { performance } from 'node:perf_hooks';
import { AxiosError, isAxiosError, type AxiosResponse, type InternalAxiosRequestConfig } from 'axios';
import { OwnError, type Attempt } from './attempt';
import { discardBody, isReplayableBody } from './body';
import type { BudgetRecovery, RetryBudget } from './budget';
import { callerView } from './caller-view';
import { classifyError } from './classify';
import { ResetGuardOptionError } from './errors';
import { monotonicNow } from './clock';
import { announceBudgetExhausted, announceBudgetRestored, logDecision, publishReset } from './events';
import { agentOf } from './foreign';
import { h2StreamOf, sessionGoingAway } from './h2-facts';
import { isResetKind, NO_ANSWER_CODE, type ResetKind } from './kinds';
import { earlierAnswer, isPoolingAgent, nativeRequestOf } from './native';
import { decideRetry, refusal, type RetryContext, type RetryDecision } from './policy';
import { requestLabel } from './redact';
import { parseRetryAfter } from './retry-after';
import { MAX_TIMER_MS } from './sleep';
import { stampOf } from './stamps';
import { stateOf } from './state';
import type { Classification } from './types';

/**
 * Classifies the failed attempt, acts on a reset, and decides whether another attempt goes
 * out; both are recorded on the attempt. `undefined` for an error that is not this
 * request's own axios error (a custom adapter's plain Error, say): it is never retried.
 * Rejects with an {@link OwnError} when the request's `retryCondition` or `retryDelay` threw.
 */
export async function judgeFailure(error: unknown, attempt: Attempt): Promise<RetryDecision | undefined> {
  const { request: state, config } = attempt;
  if (!isAxiosError(error) || stateOf(error.config) !== state) return undefined;
  const ctx = state.guard;
  attempt.failedAt = monotonicNow();
  let classification = classifyError(error, {
    startedAt: attempt.startedAt,
    failedAt: attempt.failedAt,
    // Time this process spent computing (GC, CPU work, building a big body) is not
    // time the network took to answer: only the rest counts against staleWindowMs.
    busyMs: busySince(attempt),
    staleWindowMs: state.options.staleWindowMs,
  });
  // A status the request retries is transient by its own rule: say so (classify() alone cannot know).
  if (classification.status !== undefined && classification.kind === 'http-status') {
    if (state.options.retryStatuses.includes(classification.status)) {
      classification = Object.freeze({ ...classification, retryable: true });
    }
  }
  attempt.classification = classification;
  ctx.counters.failures[classification.kind] += 1;
  const { kind } = classification;
  if (isResetKind(kind)) onReset(error, attempt, kind, classification);
  if (kind === 'refused-stream' || kind === 'session-lost') ctx.http2.noteFailure(state.originOf(), kind);

  const retryAfterMs = classification.kind === 'http-status' ? retryAfterOf(error.response) : undefined;
  // What was sent is read before the user's retryCondition runs: it gets the live config,
  // and whatever it changes there (a key added, the method) may shape the retry but not
  // the judgement of what the server may already have applied.
  const sent = retryContext(attempt, classification, undefined, retryAfterMs, error);
  // The condition may be async: the budget and the time left are read after it, and the
  // budget withdrawn in the same tick as the decision.
  let decision: RetryDecision;
  try {
    const asked = await askCondition(error, classification, attempt);
    const budget = (state.budget ??= ctx.origins.budgetOf(state.originOf()));
    const context = { ...sent, ...asked, remainingMs: state.remainingMs(), ...budgetFacts(budget, classification) };
    decision = ctx.detached ? refusal('the guard was detached while the request was in flight') : decideRetry(context);
  } catch (ownError) {
    // retryCondition or retryDelay threw (or gave no number of ms): its error ends the
    // request, and nobody can read this attempt's streamed body any more.
    discardBody(error.response?.data);
    throw new OwnError(ownError);
  }
  const budget = state.budget;
  const cost = budget?.costOf(classification.kind);
  attempt.decision = decision;
  // Withdrawn in the same tick as the decision, so concurrent failures cannot overdraw.
  if (decision.retry && budget !== undefined && cost !== undefined) {
    budget.withdraw(cost);
    state.lastCost = cost;
  } else if (decision.limit === 'budget') {
    if (budget?.refuse() === true) {
      const { tokens, capacity } = budget.stats();
      announceBudgetExhausted({ origin: state.originOf(), tokens, capacity, cost: cost ?? 0 });
    }
    ctx.counters.budgetRefused += 1;
  }
  logDecision(config, ctx.secrets, attempt.number, state.maxAttempts, classification, decision);
  return decision;
}

/**
 * What the user's axios-retry options say about this failure, as the policy reads them:
 * `retryCondition`'s answer (asked only while attempts remain, never for a cancel; as in
 * axios-retry, a promise that rejects means no, one that resolves to anything but `false`
 * yes, and a throw ends the request) and `retryDelay` bound to the failure.
 */
async function askCondition(
  error: AxiosError,
  classification: Classification,
  attempt: Attempt,
): Promise<Pick<RetryContext, 'retryCondition' | 'retryDelay'>> {
  const { retryCondition, retryDelay, retry } = attempt.request.options;
  // axios-retry's functions read the error as the caller would: its body transformed.
  const delay =
    retryDelay === undefined ? undefined : (): number => delayFrom(retryDelay(attempt.number, callerView(error)));
  if (retryCondition === undefined || !retry || classification.kind === 'canceled') return { retryDelay: delay };
  if (attempt.number >= attempt.request.maxAttempts) return { retryDelay: delay };
  return { retryCondition: await verdictOf(retryCondition(callerView(error))), retryDelay: delay };
}

/**
 * A `retryCondition`'s answer, read as axios-retry reads it: a promise that resolves to
 * anything but `false` is yes, one that rejects is no; any other value by its truth.
 */
function verdictOf(answer: unknown): boolean | Promise<boolean> {
  if (typeof answer !== 'object' || answer === null) return Boolean(answer);
  return Promise.resolve(answer as unknown).then(
    (value) => value !== false,
    () => false,
  );
}

/** A `retryDelay` result as a wait: whole ms, at most Node's longest timer. */
function delayFrom(value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ResetGuardOptionError('retryDelay', value, 'a function returning a number of ms >= 0');
  }
  return Math.min(Math.round(value), MAX_TIMER_MS);
}

/** What the policy reads about a failed attempt of this request. */
function retryContext(
  attempt: Attempt,
  classification: Classification,
  budget: RetryBudget | undefined,
  retryAfterMs?: number,
  error?: AxiosError,
): RetryContext {
  const { request: state, config } = attempt;
  return {
    classification,
    method: config.method,
    hasIdempotencyKey: sendsIdempotencyKey(config),
    // a body factory makes any body again, a stream included
    bodyReplayable: state.options.body !== undefined || isReplayableBody(config.data),
    attempt: attempt.number,
    staleReplays: state.staleReplays,
    retryAfterMs,
    answeredBefore: error === undefined ? undefined : earlierAnswer(error.request),
    tlsBareReset: error !== undefined && classification.kind === 'stale-socket' && bareTlsReset(error),
    sessionGoingAway: classification.kind === 'refused-stream' && goingAway(error?.request),
    remainingMs: state.remainingMs(),
    ...budgetFacts(budget, classification),
    options: state.options,
  };
}

/** What the policy reads of the origin's retry budget. */
function budgetFacts(
  budget: RetryBudget | undefined,
  classification: Classification,
): Pick<RetryContext, 'budgetTokens' | 'budgetCost'> {
  return { budgetTokens: budget?.available, budgetCost: budget?.costOf(classification.kind) };
}

/**
 * Whether the request goes out with an `Idempotency-Key`: a header set to `false` or `null`
 * (axios's way to say "do not send it") is present in AxiosHeaders but never sent.
 */
function sendsIdempotencyKey(config: InternalAxiosRequestConfig): boolean {
  const value: unknown = config.headers?.get?.('idempotency-key');
  return (typeof value === 'string' && value.trim() !== '') || typeof value === 'number';
}

/**
 * A TLS socket reset by the peer with no close first (a read ECONNRESET): a TLSSocket
 * counts decrypted bytes only, so half a record of an answer would leave no trace.
 */
function bareTlsReset(error: AxiosError): boolean {
  const socket = nativeRequestOf(error.request)?.socket as { encrypted?: unknown } | null | undefined;
  if (socket?.encrypted !== true) return false;
  let current: unknown = error;
  for (let depth = 0; typeof current === 'object' && current !== null && depth < 8; depth += 1) {
    const e = current as { code?: unknown; syscall?: unknown; cause?: unknown };
    if (e.code === 'ECONNRESET' && e.syscall === 'read') return true;
    current = e.cause;
  }
  return false;
}

/** The failed HTTP/2 stream's session was going away. */
function goingAway(request: unknown): boolean {
  const stream = h2StreamOf(request);
  return stream !== undefined && sessionGoingAway(stream);
}

/** How a request given up for no answer is classified (`classify.ts` says the same). */
const SILENCE: Classification = Object.freeze({
  kind: 'stale-socket',
  retryable: true,
  reusedSocket: true,
  responseStarted: false,
  idleMs: undefined,
  code: NO_ANSWER_CODE,
});

/**
 * Asked by the black-hole watch when the current attempt met a long-idle pooled socket:
 * would the policy resend it if it were given up for no answer? (The same rules, budget
 * and deadline as a real failure; nothing is withdrawn.)
 */
export function wouldResendSilence(attempt: Attempt): boolean {
  const state = attempt.request;
  if (state.guard.detached) return false;
  const budget = state.budget ?? state.guard.origins.existingBudgetOf(state.originOf());
  return decideRetry(retryContext(attempt, SILENCE, budget)).retry;
}

/**
 * Asked by the black-hole watch before it gives an attempt up for silence: what the
 * request's `retryCondition` says of the error that would end the attempt (`true` at once
 * when it has none). A condition that throws or rejects says no.
 */
export function silenceWouldBeRetried(attempt: Attempt, cause: Error, request: unknown): boolean | Promise<boolean> {
  const condition = attempt.request.options.retryCondition;
  if (condition === undefined) return true;
  try {
    return verdictOf(condition(AxiosError.from(cause, NO_ANSWER_CODE, attempt.config, request)));
  } catch {
    return false;
  }
}

/** A reset: the socket is destroyed, subscribers told, and a stale one's pool purged and taught. */
function onReset(error: AxiosError, attempt: Attempt, kind: ResetKind, classification: Classification): void {
  const { request: state, config } = attempt;
  const ctx = state.guard;
  const native = nativeRequestOf(error.request);
  const socket = native?.socket;
  const stamp = stampOf(socket);
  // A socket that saw a reset is never handed out again.
  if (socket && !socket.destroyed) socket.destroy();
  publishReset(() =>
    Object.freeze({
      requestId: state.requestId,
      attempt: attempt.number,
      ...requestLabel(config, ctx.secrets),
      kind,
      code: classification.code,
      reusedSocket: classification.reusedSocket,
      idleMs: classification.idleMs,
      origin: stamp?.origin,
    }),
  );
  const agent = native === undefined ? undefined : agentOf(native);
  if (kind === 'stale-socket' && stamp !== undefined && isPoolingAgent(agent)) {
    // Silence may be a slow server: learn only once the resend answered (install.ts).
    const silent = classification.code === NO_ANSWER_CODE;
    ctx.origins.onStaleSocket(agent, stamp, classification.idleMs, !silent);
    if (silent && classification.idleMs !== undefined) {
      // (the socket was destroyed above: its stamp will not change)
      state.blackHole = { agent, stamp, idleMs: classification.idleMs };
    }
  }
}

/** How long the event loop was busy (not idle) since the attempt started, in ms. */
function busySince(attempt: Attempt): number {
  const elapsed = attempt.failedAt - attempt.startedAt;
  return Math.max(0, elapsed - (performance.nodeTiming.idleTime - attempt.idleAtStart));
}

/** Announces the end of an exhausted spell of an origin's budget, when a deposit ended one. */
export function onBudgetRecovery(origin: string, budget: RetryBudget, recovery: BudgetRecovery | undefined): void {
  if (recovery === undefined) return;
  const { tokens, capacity } = budget.stats();
  announceBudgetRestored({ origin, tokens, capacity, ...recovery });
}

function retryAfterOf(response: AxiosResponse | undefined): number | undefined {
  const headers = response?.headers as (Record<string, unknown> & { get?: (name: string) => unknown }) | undefined;
  if (headers === undefined || headers === null) return undefined;
  // AxiosHeaders looks names up case-insensitively; a plain object from a custom adapter may not.
  if (typeof headers.get === 'function') return parseRetryAfter(headers.get('retry-after'));
  const name = Object.keys(headers).find((key) => key.toLowerCase() === 'retry-after');
  return name === undefined ? undefined : parseRetryAfter(headers[name]);
}
