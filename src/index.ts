export { attach, createClient, failureOf } from './guard';
export type { Guard, GuardStats, GuardedInstance, OriginStats } from './guard';
export { attemptOf, STATE_KEY } from './state';
export { classify } from './classify';
export { DEFAULTS, normalizeOptions } from './options';
export type { GuardOptions, RequestOptions, ResolvedOptions } from './options';
export { decideRetry, isIdempotentMethod } from './policy';
export type { RetryContext, RetryDecision } from './policy';
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
  ResetKind,
  RetryInfo,
} from './types';
