/** What the phases of one guard share: its counters, budget, pool memory and detach state. */
import type { RetryBudget } from './budget';
import { FAILURE_KINDS, zeroCounts, type FailureKind } from './kinds';
import type { PoolMemory } from './pool-memory';

/** Request-level counters of one guard (socket-level ones live in {@link PoolMemory}). */
export class Counters {
  requests = 0;
  attempts = 0;
  retries = 0;
  recovered = 0;
  gaveUp = 0;
  readonly failures: Record<FailureKind, number> = zeroCounts(FAILURE_KINDS);
}

/** Handed to every phase of a request (attempt, decide, wait, settle). */
export interface GuardContext {
  /** Set by detach(): requests still in flight get no further attempt. */
  detached: boolean;
  /** Aborted by detach(): ends pending waits at once. */
  readonly stop: AbortController;
  readonly counters: Counters;
  readonly budget: RetryBudget | undefined;
  readonly pools: PoolMemory;
  /** Lower-case header names whose values never leave the guard. */
  readonly secrets: ReadonlySet<string>;
}
