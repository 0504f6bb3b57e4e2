import { channel, tracingChannel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { AxiosResponse, InternalAxiosRequestConfig } from 'axios';
import type { RetryDecision } from './policy';
import { requestLabel, type Secrets } from './redact';
import type {
  AttemptContext,
  BudgetExhaustedEvent,
  BudgetRestoredEvent,
  Classification,
  FailureRecord,
  GiveUpInfo,
  IdleLimitEvent,
  LateHookEvent,
  PurgeEvent,
  RecoveredEvent,
  ResetEvent,
  RetryInfo,
} from './types';

/**
 * `node:diagnostics_channel` names the guard publishes on. Subscribers receive frozen
 * payloads (the same as the hooks, for `retry` and `giveUp`): redacted summaries, origin
 * labels (`https://host:443`, never a pool name), with any raw `error` (and, for retries,
 * `config`) as non-enumerable properties, so logging a payload leaks no secret. Nothing is
 * built for a channel nobody subscribes to.
 * @example
 * import { subscribe } from 'node:diagnostics_channel';
 * subscribe(CHANNELS.retry, (info) => logger.warn(info, 'retrying'));
 */
export const CHANNELS = Object.freeze({
  /** Before each wait: {@link RetryInfo}. */
  retry: 'axios-reset-guard:retry',
  /** A transient failure ended a request: {@link GiveUpInfo}. */
  giveUp: 'axios-reset-guard:give-up',
  /** An attempt failed with a reset (any {@link ResetKind}): {@link ResetEvent}. */
  reset: 'axios-reset-guard:reset',
  /** A request succeeded after at least one retry: {@link RecoveredEvent}. */
  recovered: 'axios-reset-guard:recovered',
  /** An origin's idle limit was learned, or lowered, from stale sockets: {@link IdleLimitEvent}. */
  learned: 'axios-reset-guard:learned',
  /** Idle pooled sockets were destroyed because a peer idle as long was found dead: {@link PurgeEvent}. */
  purge: 'axios-reset-guard:purge',
  /**
   * An origin's retry budget refused a retry, the first refusal since it last had enough
   * tokens: {@link BudgetExhaustedEvent}. Retries to that origin stop until it refills.
   */
  budgetExhausted: 'axios-reset-guard:budget-exhausted',
  /**
   * An origin whose budget had run out refilled to half its capacity (at least one
   * retry's cost): {@link BudgetRestoredEvent}.
   */
  budgetRestored: 'axios-reset-guard:budget-restored',
  /**
   * A hook of an ended request (`onGiveUp`, `onMaxRetryTimesExceeded`) settled after the
   * deadline, which the request had kept by rejecting with its own error: {@link LateHookEvent}.
   */
  lateHook: 'axios-reset-guard:late-hook',
  /**
   * A `TracingChannel` name (Node >= 18.19): every attempt, first or retry, as the guard
   * hands it to the adapter. `start` (with stores bound by `runStores`, so a span made
   * there is active while the adapter sends), `end`, then `error` on failure and
   * `asyncStart`/`asyncEnd` when it settles; the context is an {@link AttemptContext}.
   * Nothing is allocated per attempt while nobody subscribes.
   * @example
   * // tracingChannel from node:diagnostics_channel
   * tracingChannel(CHANNELS.attempt).subscribe({ start(c) {}, end() {}, asyncStart() {}, asyncEnd(c) {}, error(c) {} });
   */
  attempt: 'axios-reset-guard:attempt',
} as const);

const retryChannel = channel(CHANNELS.retry);
const giveUpChannel = channel(CHANNELS.giveUp);
const resetChannel = channel(CHANNELS.reset);
const recoveredChannel = channel(CHANNELS.recovered);
const learnedChannel = channel(CHANNELS.learned);
const purgeChannel = channel(CHANNELS.purge);
const exhaustedChannel = channel(CHANNELS.budgetExhausted);
const restoredChannel = channel(CHANNELS.budgetRestored);
// Node 18 before 18.19 has no tracing channels: attempts are then not traced.
const attemptTrace = typeof tracingChannel === 'function' ? tracingChannel(CHANNELS.attempt) : undefined;

// NODE_DEBUG=axios-reset-guard: one line per retry decision on a transient failure, and per
// event above. NODE_DEBUG=axios-reset-guard-verbose adds the failures the guard leaves
// alone (a 404, a cancel, an unknown error), and alone prints everything.
const debug = debuglog('axios-reset-guard');
const verbose = debuglog('axios-reset-guard-verbose');

/** True when a debug line would be printed (to skip building it otherwise). */
function debugging(): boolean {
  return debug.enabled || verbose.enabled;
}

/** A line of the default output: under either section, printed once. */
function line(format: string, ...args: unknown[]): void {
  if (debug.enabled) debug(format, ...args);
  else if (verbose.enabled) verbose(format, ...args);
}

export function publishRetry(info: RetryInfo): void {
  if (retryChannel.hasSubscribers) retryChannel.publish(info);
}

export function publishGiveUp(info: GiveUpInfo): void {
  if (giveUpChannel.hasSubscribers) giveUpChannel.publish(info);
}

/** A hook settled after its request's deadline: published, and one debug line. */
export function announceLateHook(event: LateHookEvent): void {
  // Looked up when used (rare): a module-level channel would weigh on the browser bundle.
  const late = channel(CHANNELS.lateHook);
  if (late.hasSubscribers) late.publish(event);
  const error = (event as { error?: unknown }).error;
  const why = event.outcome === 'rejected' ? `: ${String(error)}` : '';
  line('%s %s: %s %s after the deadline%s', event.method, event.url, event.hook, event.outcome, why);
}

const limitsTold = new Set<string>();

/** A limit of the installed axios that the guard cannot make up for: one debug line per process. */
export function announceAxiosLimit(text: string | undefined): void {
  if (text === undefined || !debugging() || limitsTold.has(text)) return;
  limitsTold.add(text);
  line('%s', text);
}

/** `build` runs only when someone subscribes: resets can be frequent, the event is not free. */
export function publishReset(build: () => ResetEvent): void {
  if (resetChannel.hasSubscribers) resetChannel.publish(build());
}

/**
 * One debug line per retry decision. A failure that is not transient (a status outside
 * `retryStatuses`, a cancel, an unknown error) only under NODE_DEBUG=axios-reset-guard-verbose:
 * it is the application's answer, not something the guard did or could not do.
 */
export function logDecision(
  config: Parameters<typeof requestLabel>[0],
  secrets: Secrets,
  attempt: number,
  maxAttempts: number,
  classification: Classification,
  decision: RetryDecision,
): void {
  if (decision.transient ? !debugging() : !verbose.enabled) return;
  const { method, url } = requestLabel(config, secrets);
  const what = `${classification.kind}${classification.code === undefined ? '' : ` ${classification.code}`}`;
  const status = classification.status === undefined ? '' : ` ${classification.status}`;
  const next = decision.retry ? `retry in ${decision.delayMs} ms` : 'no retry';
  const args = [method, url, attempt, maxAttempts, what, status, next, decision.reason];
  const format = '%s %s attempt %d/%d failed (%s%s): %s, %s';
  if (decision.transient) line(format, ...args);
  else verbose(format, ...args);
}

/** A request succeeded at attempt `attempts` > 1, after the failures in `failures`. */
export function announceRecovered(
  config: InternalAxiosRequestConfig,
  secrets: Secrets,
  requestId: () => string,
  attempts: number,
  maxAttempts: number,
  failures: readonly FailureRecord[],
  durationMs: number,
): void {
  const subscribed = recoveredChannel.hasSubscribers;
  if (!subscribed && !debugging()) return;
  const { method, url } = requestLabel(config, secrets);
  if (subscribed) {
    recoveredChannel.publish(
      Object.freeze<RecoveredEvent>({
        requestId: requestId(),
        method,
        url,
        attempts,
        failures: Object.freeze([...failures]),
        durationMs,
      }),
    );
  }
  const after = failures.map((f) => `${f.kind}${f.code === undefined ? '' : ` ${f.code}`}`).join(', ');
  line('%s %s recovered at attempt %d/%d after %s, in %d ms', method, url, attempts, maxAttempts, after, durationMs);
}

const EVIDENCE: Readonly<Record<IdleLimitEvent['evidence'], (idleMs: number) => string>> = {
  'stale-socket': (ms) => `a pooled socket was found dead after ${ms} ms idle`,
  corroborated: (ms) => `two pooled sockets were found dead after ${ms} ms idle or less, within a minute`,
  'no-answer': (ms) => `a pooled socket idle ${ms} ms got no answer, its resend on a fresh one did`,
};

/** An origin's idle limit was learned or lowered. */
export function announceLearned(event: IdleLimitEvent): void {
  if (learnedChannel.hasSubscribers) learnedChannel.publish(Object.freeze(event));
  if (!debugging()) return;
  const before = event.previousMs === undefined ? '' : ` (was ${event.previousMs} ms)`;
  line(
    'learned an idle limit of %d ms for %s%s: %s',
    event.limitMs,
    event.origin,
    before,
    EVIDENCE[event.evidence](event.idleMs),
  );
}

/** `purged` idle sockets to `origin` were destroyed after a peer idle `idleMs` was found dead. */
export function announcePurge(origin: string, purged: number, idleMs: number | undefined): void {
  if (purgeChannel.hasSubscribers) purgeChannel.publish(Object.freeze<PurgeEvent>({ origin, purged, idleMs }));
  const peer = idleMs === undefined ? 'a peer' : `a peer idle ${idleMs} ms`;
  if (debugging()) line('purged %d idle socket(s) to %s: %s was found dead', purged, origin, peer);
}

/** An origin's retry budget refused its first retry since it last had enough tokens. */
export function announceBudgetExhausted(event: BudgetExhaustedEvent): void {
  if (exhaustedChannel.hasSubscribers) exhaustedChannel.publish(Object.freeze(event));
  if (!debugging()) return;
  line(
    'retry budget exhausted for %s: %d of %d tokens left, a retry costs %d; no retries there until requests succeed',
    event.origin,
    event.tokens,
    event.capacity,
    event.cost,
  );
}

/** An exhausted retry budget refilled to its restore level. */
export function announceBudgetRestored(event: BudgetRestoredEvent): void {
  if (restoredChannel.hasSubscribers) restoredChannel.publish(Object.freeze(event));
  if (!debugging()) return;
  line(
    'retry budget restored for %s: %d of %d tokens after %d ms; %d retries refused meanwhile',
    event.origin,
    event.tokens,
    event.capacity,
    event.exhaustedMs,
    event.refused,
  );
}

/** True when someone listens on {@link CHANNELS.attempt}: five reads, nothing allocated. */
export function tracingAttempts(): boolean {
  const t = attemptTrace;
  return (
    t !== undefined &&
    (t.start.hasSubscribers ||
      t.end.hasSubscribers ||
      t.asyncStart.hasSubscribers ||
      t.asyncEnd.hasSubscribers ||
      t.error.hasSubscribers)
  );
}

/**
 * Sends one attempt under {@link CHANNELS.attempt}, as `TracingChannel.tracePromise` would,
 * except that the context's `result` and `error` are non-enumerable (they hold the config,
 * headers and all) and its summary fields read-only. Call only when {@link tracingAttempts}.
 */
export function traceAttempt(
  config: InternalAxiosRequestConfig,
  secrets: Secrets,
  summary: Omit<AttemptContext, 'method' | 'url' | 'config' | 'result' | 'error'>,
  send: () => Promise<AxiosResponse>,
): Promise<AxiosResponse> {
  const t = attemptTrace as NonNullable<typeof attemptTrace>;
  const context: Record<string, unknown> = {};
  for (const [key, value] of Object.entries({ ...summary, ...requestLabel(config, secrets) })) {
    Object.defineProperty(context, key, { value, enumerable: true, writable: false });
  }
  Object.defineProperty(context, 'config', { value: config, enumerable: false });
  const set = (key: 'result' | 'error', value: unknown): void =>
    void Object.defineProperty(context, key, { value, enumerable: false, configurable: true });
  return t.start.runStores(context, () => {
    try {
      return send().then(
        (result) => {
          set('result', result);
          t.asyncStart.publish(context);
          t.asyncEnd.publish(context);
          return result;
        },
        (error: unknown) => {
          set('error', error);
          t.error.publish(context);
          t.asyncStart.publish(context);
          t.asyncEnd.publish(context);
          throw error;
        },
      );
    } catch (error) {
      set('error', error);
      t.error.publish(context);
      throw error;
    } finally {
      t.end.publish(context);
    }
  });
}
