/**
 * axios-reset-guard: attempt metadata, keep-alive agents that stay fresher than the server,
 * and safe retries of resets, for an Axios instance on Node.js. This entry is the public
 * API under semver; `axios-reset-guard/internals` holds the building blocks, without that promise.
 * @packageDocumentation
 */
export { attach, createClient } from './install';
export type { Guard, GuardedInstance } from './install';
export { attemptOf } from './state';
export { classify } from './classify';
export { failureOf } from './settle';
export { DEFAULTS } from './normalize';
export type {
  BodyFactory,
  ExpertOptions,
  GuardOptions,
  IdempotencyKeyFactory,
  PerRequestExpertOptions,
  PerRequestOptions,
  RequestOptions,
} from './options';
export type { ResolvedOptions } from './normalize';
export type { BudgetStats, ResolvedRetryBudget, RetryBudgetOptions } from './budget';
export { CHANNELS } from './events';
export { FAILURE_KINDS, RESET_KINDS } from './kinds';
export { ResetGuardOptionError, ResetGuardAttachError, ResetGuardConflictError, isResetGuardError } from './errors';
export type { ResetGuardErrorCode, RetryLibrary } from './errors';
export type { BudgetSummary, GuardAgents, GuardStats, OriginStats } from './stats';
export type { AgentStatus } from './agent';
export type { Http2Stats, TimeoutSource } from './origin-facts';
export type {
  AttemptContext,
  AttemptInfo,
  BudgetExhaustedEvent,
  BudgetRestoredEvent,
  Classification,
  FailureKind,
  FailureRecord,
  GiveUpInfo,
  IdleLimitEvent,
  LateHookEvent,
  PurgeEvent,
  RecoveredEvent,
  ResetGuardErrorInfo,
  ResetEvent,
  ResetKind,
  RetryInfo,
} from './types';
