import { monotonicNow, type Clock } from './clock';
import type { FailureKind } from './types';

/** Sizes of the retry budget (a token bucket per guard): see {@link ExpertOptions.retryBudget}. */
export interface RetryBudgetOptions {
  /**
   * Tokens in a full bucket; the bucket starts full.
   * @default 500
   */
  capacity?: number | undefined;
  /**
   * Tokens a retry costs (resets, refused connections, status retries).
   * @default 5
   */
  retryCost?: number | undefined;
  /**
   * Tokens a retry after a stale keep-alive socket costs: the server never saw the request.
   * @default 1
   */
  staleCost?: number | undefined;
  /**
   * Tokens a retry after a timeout costs: the server may still be busy with the first one.
   * @default 10
   */
  timeoutCost?: number | undefined;
  /**
   * Tokens a request that succeeds at its first attempt puts back. A request that succeeds
   * after retries puts back what its last retry cost (as the AWS SDKs do).
   * @default 1
   */
  successRefund?: number | undefined;
}

/** {@link RetryBudgetOptions} after defaults and validation. */
export interface ResolvedRetryBudget {
  /** {@inheritDoc RetryBudgetOptions.capacity} */
  readonly capacity: number;
  /** {@inheritDoc RetryBudgetOptions.retryCost} */
  readonly retryCost: number;
  /** {@inheritDoc RetryBudgetOptions.staleCost} */
  readonly staleCost: number;
  /** {@inheritDoc RetryBudgetOptions.timeoutCost} */
  readonly timeoutCost: number;
  /** {@inheritDoc RetryBudgetOptions.successRefund} */
  readonly successRefund: number;
}

/** `guard.stats().budget`: the retry budget's state. */
export interface BudgetStats {
  /** Tokens in the bucket now. */
  readonly tokens: number;
  /** Tokens in a full bucket. */
  readonly capacity: number;
  /** Retries the budget refused (the request ended with its failure instead). */
  readonly refused: number;
}

/** How an exhausted spell of a {@link RetryBudget} ended, from its `deposit()`. */
export interface BudgetRecovery {
  /** Retries refused during the spell. */
  readonly refused: number;
  /** How long it lasted, in ms. */
  readonly exhaustedMs: number;
}

/**
 * A token bucket shared by every request of one guard, modelled on the AWS SDKs' standard
 * retry quota. Retries withdraw, successes deposit, so the retry rate follows the success
 * rate: during an outage retries stop once the bucket is spent, and they come back as soon
 * as requests succeed again.
 */
export class RetryBudget {
  private tokens: number;
  /** Retries the bucket could not pay for. */
  refused = 0;
  // Since when it has been refusing (`undefined` while it pays), on the monotonic clock (a
  // wall-clock step must not make a spell negative or hours long), and its refusals before that.
  private exhaustedAt: number | undefined;
  private refusedBefore = 0;

  constructor(
    /** The bucket's sizes, resolved. */
    readonly sizes: ResolvedRetryBudget,
    /** The clock of `exhaustedMs`: monotonic; tests inject one. */
    private readonly now: Clock = monotonicNow,
  ) {
    this.tokens = sizes.capacity;
  }

  /** What a retry after a failure of `kind` costs. */
  costOf(kind: FailureKind): number {
    if (kind === 'stale-socket') return this.sizes.staleCost;
    if (kind === 'timeout') return this.sizes.timeoutCost;
    return this.sizes.retryCost;
  }

  /** Tokens in the bucket now. */
  get available(): number {
    return this.tokens;
  }

  /** Takes `cost` tokens; the policy has checked that the bucket can pay. */
  withdraw(cost: number): void {
    this.tokens -= cost;
  }

  /** Counts a retry the bucket could not pay for; true when it starts an exhausted spell. */
  refuse(): boolean {
    this.refused += 1;
    if (this.exhaustedAt !== undefined) return false;
    this.exhaustedAt = this.now();
    this.refusedBefore = this.refused - 1;
    return true;
  }

  /**
   * Puts tokens back, up to capacity. Ends an exhausted spell once the bucket holds half its
   * capacity (at least one retry's cost, at most all of it): then says how it went.
   */
  deposit(amount: number): BudgetRecovery | undefined {
    this.tokens = Math.min(this.sizes.capacity, this.tokens + amount);
    if (this.exhaustedAt === undefined) return undefined;
    const { capacity, retryCost } = this.sizes;
    if (this.tokens < Math.min(capacity, Math.max(retryCost, capacity / 2))) return undefined;
    // Whole ms, as events show them (the monotonic clock reads fractions).
    const exhaustedMs = Math.round(this.now() - this.exhaustedAt);
    const recovery = { refused: this.refused - this.refusedBefore, exhaustedMs };
    this.exhaustedAt = undefined;
    return recovery;
  }

  /**
   * A request succeeded: as in the AWS SDKs, a success after retries returns what its last
   * retry cost, and a first-attempt success puts back `successRefund`.
   */
  onSuccess(lastRetryCost: number): BudgetRecovery | undefined {
    return this.deposit(lastRetryCost > 0 ? lastRetryCost : this.sizes.successRefund);
  }

  /** A frozen snapshot for `guard.stats().budget`. */
  stats(): BudgetStats {
    return Object.freeze({ tokens: this.tokens, capacity: this.sizes.capacity, refused: this.refused });
  }
}
