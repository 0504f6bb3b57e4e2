import type { ResolvedRetryBudget } from './options';
import type { FailureKind } from './types';

/** `guard.stats().budget`: the retry budget's state. */
export interface BudgetStats {
  /** Tokens in the bucket now. */
  readonly tokens: number;
  /** Tokens in a full bucket. */
  readonly capacity: number;
  /** Retries the budget refused (the request ended with its failure instead). */
  readonly refused: number;
}

/**
 * A token bucket shared by every request of one guard, modelled on the AWS SDKs' standard
 * retry quota. Retries withdraw, successes deposit, so the retry rate follows the success
 * rate: during an outage retries stop once the bucket is spent, and they come back as soon
 * as requests succeed again.
 */
export class RetryBudget {
  private tokens: number;
  refused = 0;

  constructor(readonly sizes: ResolvedRetryBudget) {
    this.tokens = sizes.capacity;
  }

  /** What a retry after a failure of `kind` costs. */
  costOf(kind: FailureKind): number {
    if (kind === 'stale-socket') return this.sizes.staleCost;
    if (kind === 'timeout') return this.sizes.timeoutCost;
    return this.sizes.retryCost;
  }

  get available(): number {
    return this.tokens;
  }

  /** Takes `cost` tokens; the policy has checked that the bucket can pay. */
  withdraw(cost: number): void {
    this.tokens -= cost;
  }

  /** Counts a retry the bucket could not pay for. */
  refuse(): void {
    this.refused += 1;
  }

  /** Puts tokens back, up to capacity. */
  deposit(amount: number): void {
    this.tokens = Math.min(this.sizes.capacity, this.tokens + amount);
  }

  /**
   * A request succeeded: as in the AWS SDKs, a success after retries returns what its last
   * retry cost, and a first-attempt success puts back `successRefund`.
   */
  onSuccess(lastRetryCost: number): void {
    this.deposit(lastRetryCost > 0 ? lastRetryCost : this.sizes.successRefund);
  }

  stats(): BudgetStats {
    return Object.freeze({ tokens: this.tokens, capacity: this.sizes.capacity, refused: this.refused });
  }
}
