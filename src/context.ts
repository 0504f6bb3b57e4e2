/** What the phases of one guard share: its counters, origin memory and detach state. */
import { FAILURE_KINDS, zeroCounts, type FailureKind } from './kinds';
import type { ResolvedOptions } from './normalize';
import type { OriginMemory } from './origins';
import type { Http2Ledger } from './h2-ledger';
import type { Secrets } from './redact';

/** Request-level counters of one guard (per-origin ones live in {@link OriginMemory}). */
export class Counters {
  requests = 0;
  attempts = 0;
  retries = 0;
  recovered = 0;
  gaveUp = 0;
  /** Retries a retry budget refused, all origins together. */
  budgetRefused = 0;
  readonly failures: Record<FailureKind, number> = zeroCounts(FAILURE_KINDS);
}

/** Handed to every phase of a request (attempt, decide, wait, settle). */
export interface GuardContext {
  /** Set by detach(): requests still in flight get no further attempt. */
  detached: boolean;
  /** Aborted by detach(): ends pending waits at once. */
  readonly stop: AbortController;
  readonly counters: Counters;
  /** The guard's options, resolved. */
  readonly options: ResolvedOptions;
  /** Per-origin knowledge: idle stamps, hints, learned limits, stale counts, retry budgets. */
  readonly origins: OriginMemory;
  /** Lower-case header and query parameter names whose values never leave the guard. */
  readonly secrets: Secrets;
  /** What the guard saw of HTTP/2 origins: streams, sessions, GOAWAYs, refused and lost streams. */
  readonly http2: Http2Ledger;
}
