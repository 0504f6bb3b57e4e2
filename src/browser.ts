/**
 * axios-reset-guard in browsers, edge runtimes (Vercel's `edge-light`, Cloudflare's
 * `workerd`) and React Native: the package's `browser`, `edge-light`, `workerd` and
 * `react-native` export conditions lead here. The same names as the Node entry, so code
 * shared between server and client compiles and runs against either; but `attach` and
 * `createClient` give an inert guard (same shape, nothing installed), since the runtime
 * owns the connections there. `classify`, `attemptOf`, `failureOf`, the constants and the
 * errors are the Node entry's own code. Built into one ES module with no Node built-in.
 * @packageDocumentation
 */
export { attach, createClient } from './inert';
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
