import { channel } from 'node:diagnostics_channel';
import { debuglog } from 'node:util';
import type { RetryDecision } from './policy';
import { requestLabel } from './redact';
import type { Classification, GiveUpInfo, ResetEvent, RetryInfo } from './types';

/**
 * `node:diagnostics_channel` names the guard publishes on. Subscribers receive the same
 * frozen payloads as the hooks: redacted summaries, with the raw `error` (and, for
 * retries, `config`) as non-enumerable properties, so logging a payload leaks no secret.
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
} as const);

const retryChannel = channel(CHANNELS.retry);
const giveUpChannel = channel(CHANNELS.giveUp);
const resetChannel = channel(CHANNELS.reset);

// NODE_DEBUG=axios-reset-guard prints one line per retry decision on stderr.
const debug = debuglog('axios-reset-guard');

export function publishRetry(info: RetryInfo): void {
  if (retryChannel.hasSubscribers) retryChannel.publish(info);
}

export function publishGiveUp(info: GiveUpInfo): void {
  if (giveUpChannel.hasSubscribers) giveUpChannel.publish(info);
}

/** `build` runs only when someone subscribes: resets can be frequent, the event is not free. */
export function publishReset(build: () => ResetEvent): void {
  if (resetChannel.hasSubscribers) resetChannel.publish(build());
}

/** One debug line per retry decision, under NODE_DEBUG=axios-reset-guard. */
export function logDecision(
  config: Parameters<typeof requestLabel>[0],
  attempt: number,
  maxAttempts: number,
  classification: Classification,
  decision: RetryDecision,
): void {
  if (!debug.enabled) return;
  const { method, url } = requestLabel(config);
  const what = `${classification.kind}${classification.code === undefined ? '' : ` ${classification.code}`}`;
  const status = classification.status === undefined ? '' : ` ${classification.status}`;
  const next = decision.retry ? `retry in ${decision.delayMs} ms` : 'no retry';
  debug(
    '%s %s attempt %d/%d failed (%s%s): %s, %s',
    method,
    url,
    attempt,
    maxAttempts,
    what,
    status,
    next,
    decision.reason,
  );
}
