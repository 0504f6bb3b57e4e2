/**
 * What the guard knows about each origin (`http://host:port`, the far side of a pool of
 * sockets): when each socket went idle, what the server's Keep-Alive header asked, which
 * idle limits stale-socket resets taught, how many stale resets it saw, and its retry
 * budget. Socket-level facts live in WeakMaps keyed by the socket (`stamps.ts`,
 * `keep-alive.ts`: they go with the socket); per-origin facts in one {@link OriginMemory} per guard, bounded: an origin not heard of
 * for `FORGET_AFTER_MS` is forgotten, and at most `MAX_ORIGINS` are held (`keep-alive.ts`).
 */
import type { Agent } from 'node:http';
import type { Socket } from 'node:net';
import { RetryBudget, type ResolvedRetryBudget } from './budget';
import { monotonicNow, type Clock } from './clock';
import { announceLearned, announcePurge } from './events';
import { hostOf, onSocketFree } from './foreign';
import { originLabel } from './native';
import { purgeIdlePeers, stampOf, stampSockets, type PoolStamp } from './stamps';
import type { OriginFacts, OriginTimeout } from './origin-facts';
import type { IdleLimitEvent } from './types';
import {
  CORROBORATE_MS,
  FORGET_AFTER_MS,
  hintOf,
  learnedIdleLimit,
  MAX_ORIGINS,
  PLAUSIBLE_IDLE_MS,
  RECOVER_AFTER_MS,
} from './keep-alive';

// `heardAt` and every `at` are readings of the memory's monotonic clock (ages, recovery,
// corroboration); `atWall` and `lastResetAt` are wall-clock readings, only ever shown.
interface Entry {
  heardAt: number;
  hint: number | undefined;
  learned: { limit: number; at: number; atWall: number } | undefined;
  shortReset: { idleMs: number; at: number } | undefined;
  staleResets: number;
  lastResetAt: number | undefined;
  budget: RetryBudget | undefined;
}

/** Settings of one guard's {@link OriginMemory}. */
export interface OriginMemorySettings {
  /** The configured free-socket timeout (`freeSocketTimeout`). */
  readonly configuredMs: number;
  /** Learn idle limits from stale resets (`learnIdleLimits`). */
  readonly learn: boolean;
  /** Sizes of each origin's retry budget, or false for none. */
  readonly budget: ResolvedRetryBudget | false;
  /**
   * The clock of every duration (idle times, recovery, forgetting, the budgets): monotonic
   * by default, so a wall-clock step moves none of them. Tests inject one.
   */
  readonly now?: Clock;
  /**
   * The clock of the timestamps `stats()` shows (`lastResetAt`, `lastLearnedAt`): `Date.now`,
   * or the injected `now` when only that is given (a test's one clock stands for both).
   */
  readonly wallNow?: Clock;
}

/** One guard's per-origin knowledge. */
export class OriginMemory {
  /** Stale free sockets destroyed because a peer in their pool was found dead. */
  purgedSockets = 0;
  private readonly entries = new Map<string, Entry>();
  private readonly now: Clock;
  private readonly wallNow: Clock;
  private sweptAt: number;
  // Learned limits apply to the guard's own agents only; the others are only observed.
  private readonly owned = new WeakSet<Agent>();
  // Origins holding a budget: while there are none, a success looks nothing up.
  private budgets = 0;

  constructor(private readonly settings: OriginMemorySettings) {
    this.now = settings.now ?? monotonicNow;
    this.wallNow = settings.wallNow ?? settings.now ?? Date.now;
    this.sweptAt = this.now();
  }

  /**
   * Makes sure `agent`'s sockets are stamped (one shared listener per agent). On an agent
   * the guard owns, also notes the hint and applies the learned limit on every release:
   * this listener runs after agentkeepalive's, so its socket timeout is the one that
   * stands. Returns the undo (nothing to undo on an agent the guard does not own).
   */
  track(agent: Agent, owned: boolean): () => void {
    stampSockets(agent, this.now);
    if (!owned) return () => undefined;
    // Only the guard that owns an agent acts on its releases (hints, learned limits), and
    // it runs after the stamping listener: the stamp is there to read.
    this.owned.add(agent);
    const onFree = (socket: Socket): void => {
      const stamp = stampOf(socket);
      if (stamp !== undefined) this.onOwnedFree(socket, stamp.origin, stamp.since);
    };
    return onSocketFree(agent, onFree);
  }

  private onOwnedFree(socket: Socket, origin: string, now: number): void {
    const hint = hintOf(socket);
    let entry = this.entries.get(origin);
    if (entry === undefined && hint === undefined) return;
    entry ??= this.entry(origin, now);
    this.heard(origin, entry, now);
    entry.hint = hint;
    if (!this.settings.learn) return;
    const limit = this.learnedOf(entry, now);
    if (limit !== undefined && (socket.timeout === undefined || socket.timeout === 0 || socket.timeout > limit)) {
      socket.setTimeout(limit);
    }
  }

  /**
   * A socket of `agent`'s pool was found stale after `idleMs` idle: its peers that went
   * idle no later are destroyed (the far side has most likely forgotten them too), and,
   * with learning on and on the guard's own agents, the origin's idle limit drops below
   * what was seen, once the evidence is plausible (see {@link PLAUSIBLE_IDLE_MS}).
   */
  onStaleSocket(agent: Agent, dead: PoolStamp, idleMs: number | undefined, learn = true): void {
    const now = this.now();
    // One wall reading for the event: its reset and what it taught show the same time.
    const wall = this.wallNow();
    const entry = this.entry(dead.origin, now);
    this.heard(dead.origin, entry, now);
    entry.staleResets += 1;
    entry.lastResetAt = wall;
    const purged = purgeIdlePeers(agent, dead);
    if (purged > 0) {
      this.purgedSockets += purged;
      announcePurge(dead.origin, purged, idleMs);
    }
    if (learn) this.learnFrom(agent, entry, dead, idleMs, now, wall, 'stale-socket');
  }

  /** A socket given up for no answer turned out dead (its resend answered in time): learn from it. */
  confirmBlackHole(agent: Agent, dead: PoolStamp, idleMs: number): void {
    const now = this.now();
    const entry = this.entry(dead.origin, now);
    this.learnFrom(agent, entry, dead, idleMs, now, this.wallNow(), 'no-answer');
    // The resend's socket went free before the answer confirmed the black hole: it and
    // its free peers get the new limit now, not at their next release.
    const limit = this.learnedOf(entry, now);
    if (limit === undefined) return;
    for (const socket of agent.freeSockets[dead.pool] ?? []) {
      if (socket.timeout === undefined || socket.timeout === 0 || socket.timeout > limit) socket.setTimeout(limit);
    }
  }

  private learnFrom(
    agent: Agent,
    entry: Entry,
    dead: PoolStamp,
    idleMs: number | undefined,
    now: number,
    wall: number,
    how: 'stale-socket' | 'no-answer',
  ): void {
    if (idleMs === undefined || !this.settings.learn || !this.owned.has(agent)) return;
    let evidence: number | undefined = idleMs;
    let taught: IdleLimitEvent['evidence'] = how;
    if (idleMs < PLAUSIBLE_IDLE_MS) {
      const earlier = entry.shortReset;
      const fresh = earlier === undefined || now - earlier.at > CORROBORATE_MS;
      if (fresh) entry.shortReset = { idleMs, at: now };
      // A second witness must have gone idle after the first was seen: the sockets one
      // restart resets at once are one event, not two.
      if (fresh || dead.since < earlier.at) {
        evidence = undefined;
      } else {
        entry.shortReset = undefined;
        evidence = Math.min(idleMs, earlier.idleMs);
        taught = 'corroborated';
      }
    }
    if (evidence === undefined) return;
    const limit = learnedIdleLimit(evidence);
    const standing = this.learnedOf(entry, now);
    if (standing !== undefined && limit >= standing) {
      entry.learned = { limit: standing, at: now, atWall: wall }; // confirmed: its recovery starts over
      return;
    }
    entry.learned = { limit, at: now, atWall: wall };
    announceLearned({ origin: dead.origin, limitMs: limit, previousMs: standing, idleMs: evidence, evidence: taught });
  }

  /** The origin's retry budget, made full on first use; `undefined` when budgets are off. */
  budgetOf(origin: string): RetryBudget | undefined {
    const sizes = this.settings.budget;
    if (sizes === false) return undefined;
    const now = this.now();
    const entry = this.entry(origin, now);
    this.heard(origin, entry, now);
    if (entry.budget === undefined) {
      entry.budget = new RetryBudget(sizes, this.now);
      this.budgets += 1;
    }
    return entry.budget;
  }

  /** The origin's retry budget if a failure ever made one (a missing one is full). */
  existingBudgetOf(origin: string): RetryBudget | undefined {
    return this.entries.get(origin)?.budget;
  }

  /** True when the memory holds anything about `origin` (else its facts are the defaults). */
  knows(origin: string): boolean {
    return this.entries.has(origin);
  }

  /** True once any origin has a retry budget: successes before that need not look theirs up. */
  get hasBudgets(): boolean {
    return this.budgets > 0;
  }

  /** The origin label of a pool of a live agent, for stats(): from a stamped socket, or its address. */
  originOfPool(sockets: readonly Socket[] | undefined): string {
    const stamped = sockets?.find((s) => stampOf(s) !== undefined);
    if (stamped !== undefined) return (stampOf(stamped) as PoolStamp).origin;
    const socket = sockets?.[0] as (Socket & { encrypted?: boolean }) | undefined;
    if (socket === undefined) return 'unknown';
    const host = hostOf(socket) ?? socket.remoteAddress ?? 'unknown';
    return originLabel(socket.encrypted === true ? 'https:' : 'http:', host, socket.remotePort ?? '');
  }

  /** Origins the memory holds, after forgetting the ones not heard of for long. */
  origins(): string[] {
    this.sweep(this.now(), true);
    return [...this.entries.keys()];
  }

  /** What the memory holds about `origin` now. */
  factsOf(origin: string): OriginFacts {
    const now = this.now();
    const entry = this.entries.get(origin);
    const learned = entry === undefined ? undefined : this.learnedOf(entry, now);
    let timeout: OriginTimeout = { ms: this.settings.configuredMs, source: 'default' };
    if (entry?.hint !== undefined && entry.hint < timeout.ms) timeout = { ms: entry.hint, source: 'hint' };
    if (learned !== undefined && learned < timeout.ms) timeout = { ms: learned, source: 'learned' };
    return Object.freeze({
      timeout: Object.freeze(timeout),
      staleResets: entry?.staleResets ?? 0,
      lastResetAt: entry?.lastResetAt,
      lastLearnedAt: learned === undefined ? undefined : entry?.learned?.atWall,
      budget: entry?.budget?.stats(),
    });
  }

  /** Idle limits standing now, by origin, frozen. */
  learnedLimits(): Readonly<Record<string, number>> {
    const now = this.now();
    const out: Record<string, number> = {};
    for (const [origin, entry] of this.entries) {
      const limit = this.learnedOf(entry, now);
      if (limit !== undefined) out[origin] = limit;
    }
    return Object.freeze(out);
  }

  /** The learned limit standing at `now`, grown by its recovery steps; `undefined` once recovered. */
  private learnedOf(entry: Entry, now: number): number | undefined {
    const learned = entry.learned;
    if (learned === undefined) return undefined;
    const steps = Math.floor(Math.max(0, now - learned.at) / RECOVER_AFTER_MS);
    const limit = learned.limit * 2 ** Math.min(steps, 30);
    if (limit < this.settings.configuredMs) return limit;
    entry.learned = undefined;
    return undefined;
  }

  private entry(origin: string, now: number): Entry {
    let entry = this.entries.get(origin);
    if (entry === undefined) {
      this.sweep(now, false);
      if (this.entries.size >= MAX_ORIGINS) {
        const oldest = this.entries.keys().next().value;
        if (oldest !== undefined) this.drop(oldest);
      }
      entry = {
        heardAt: now,
        hint: undefined,
        learned: undefined,
        shortReset: undefined,
        staleResets: 0,
        lastResetAt: undefined,
        budget: undefined,
      };
      this.entries.set(origin, entry);
    }
    return entry;
  }

  /** Marks the origin heard of; moves it to the back of the eviction order now and then. */
  private heard(origin: string, entry: Entry, now: number): void {
    if (now - entry.heardAt > FORGET_AFTER_MS / 10) {
      this.entries.delete(origin);
      this.entries.set(origin, entry);
    }
    entry.heardAt = now;
  }

  /** Forgets origins not heard of for {@link FORGET_AFTER_MS}; at most every tenth of that unless `force`. */
  private sweep(now: number, force: boolean): void {
    if (!force && now - this.sweptAt < FORGET_AFTER_MS / 10) return;
    this.sweptAt = now;
    for (const [origin, entry] of this.entries) {
      if (now - entry.heardAt >= FORGET_AFTER_MS) this.drop(origin);
    }
  }

  private drop(origin: string): void {
    if (this.entries.get(origin)?.budget !== undefined) this.budgets -= 1;
    this.entries.delete(origin);
  }
}
