/**
 * `axios-reset-guard/internals`: the building blocks behind the public API (the pure retry
 * policy, option validation, the classifier's raw form, keep-alive arithmetic, redaction
 * helpers), for tests, tools and the curious. Not under semver: any minor release may
 * change or remove them. Everything a user needs is in the main entry.
 * @packageDocumentation
 */
export { createAgent, type OnReuse } from './agent';
export { backoffDelay, type BackoffOptions } from './backoff';
export { isReplayableBody } from './body';
export { RetryBudget, type BudgetRecovery } from './budget';
export { classifyError, type AttemptTiming } from './classify';
export { monotonicNow, type Clock } from './clock';
export { isResetKind } from './kinds';
export { isPoolingAgent, nativeRequestOf, originLabel, originOfUrl, tlsHandshakeIncomplete } from './native';
export { mergeRequestOptions, normalizeOptions } from './normalize';
export {
  deadlineRefusal,
  decideRetry,
  isIdempotentMethod,
  refusal,
  type RetryContext,
  type RetryDecision,
  type RetryLimit,
} from './policy';
export {
  CORROBORATE_MS,
  FORGET_AFTER_MS,
  hintedFreeSocketTimeout,
  hintOf,
  LEARNED_FLOOR_MS,
  noteHint,
  learnedIdleLimit,
  MAX_ORIGINS,
  parseKeepAlive,
  PLAUSIBLE_IDLE_MS,
  RECOVER_AFTER_MS,
  type KeepAliveHint,
} from './keep-alive';
export type { OriginFacts, OriginTimeout } from './origin-facts';
export { OriginMemory, type OriginMemorySettings } from './origins';
export { stampOf, type PoolStamp } from './stamps';
export {
  redactErrorJSON,
  redactHeaders,
  redactUrl,
  secretsOf,
  SECRET_HEADERS,
  SECRET_QUERY,
  type Secrets,
} from './redact';
export { parseRetryAfter } from './retry-after';
export { MAX_TIMER_MS, sleep } from './sleep';
export { STATE_KEY } from './state';
