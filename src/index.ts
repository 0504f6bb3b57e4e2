export { attach, createClient, failureOf } from './guard';
export type { Guard, GuardStats, GuardedInstance, OriginStats } from './guard';
export { attemptOf, STATE_KEY } from './state';
export { classify } from './classify';
export { DEFAULTS, normalizeOptions } from './options';
export type {
  GuardOptions,
  IdempotencyKeyFactory,
  RequestOptions,
  ResolvedOptions,
  ResolvedRetryBudget,
  RetryBudgetOptions,
} from './options';
export { decideRetry, isIdempotentMethod } from './policy';
export type { RetryContext, RetryDecision, RetryLimit } from './policy';
export { parseRetryAfter } from './retry-after';
export type { BudgetStats } from './budget';
export { CHANNELS } from './events';
export { redactHeaders, redactUrl, SECRET_HEADERS } from './redact';
export { backoffDelay } from './backoff';
export type { BackoffOptions } from './backoff';
export { isReplayableBody } from './body';
export { sleep } from './sleep';
export { ResetGuardOptionError, ResetGuardAttachError, isResetGuardError } from './errors';
export type { ResetGuardErrorCode } from './errors';
export type { AgentStatus } from './agent';
export type {
  AttemptInfo,
  Classification,
  FailureKind,
  FailureRecord,
  GiveUpInfo,
  ResetGuardErrorInfo,
  ResetEvent,
  ResetKind,
  RetryInfo,
} from './types';
