/**
 * Every option of the guard: the public shapes, each with its JSDoc `@default` (the
 * values live in `DEFAULTS`, in `normalize.ts`, with the resolved shape and validation).
 */
import type { InternalAxiosRequestConfig } from 'axios';
import type { IAxiosRetryConfig } from 'axios-retry';
import type { RetryBudgetOptions } from './budget';
import type { GiveUpInfo, RetryInfo } from './types';

// Every augmentation of axios's types lives in this block. No type parameters: axios declares
// `AxiosRequestConfig<D = any>` up to 1.18 and `<D = any, P = any>` from 1.19.0, and a merging
// declaration may list fewer parameters than axios's when the rest have defaults, so this one
// merges with both (repeating `<D, P>` breaks every axios before 1.19 under skipLibCheck: false).
declare module 'axios' {
  interface AxiosRequestConfig {
    /** Per-request options of axios-reset-guard, merged over the instance's. */
    resetGuard?: PerRequestOptions;
  }
}

/** Makes the `Idempotency-Key` value of one logical request. */
export type IdempotencyKeyFactory = (config: InternalAxiosRequestConfig) => string;

/**
 * Makes a fresh request body for one attempt: a new file stream, a new `form-data`
 * instance. Called with the attempt's config.
 */
export type BodyFactory = (config: InternalAxiosRequestConfig) => unknown;

/** Options that can be set per instance (`attach`) and per request (`config.resetGuard`). */
export interface RequestOptions {
  /**
   * Master switch for retries. `resetGuard: { retry: false }` sends one attempt only.
   * @default true
   */
  retry?: boolean | undefined;
  /**
   * Retries after the first attempt (so at most `retries + 1` attempts).
   * @default 3
   */
  retries?: number | undefined;
  /**
   * Ceiling of the first backoff wait; it doubles per retry. Waits use full jitter:
   * a uniform draw between 0 and the ceiling. Not used for stale sockets (retried at once).
   * @default 200
   */
  baseDelayMs?: number | undefined;
  /**
   * Cap on any single backoff wait.
   * @default 10000
   */
  maxDelayMs?: number | undefined;
  /**
   * Also retry timeouts (`ECONNABORTED` from axios's `timeout`, `ETIMEDOUT`).
   * Off because a request that timed out may still be running on the server.
   * @default false
   */
  retryTimeouts?: boolean | undefined;
  /**
   * Retry non-idempotent methods (POST, PATCH, ...) like idempotent ones, for every
   * retryable failure. Only turn on when the server deduplicates writes.
   * @default false
   */
  retryNonIdempotent?: boolean | undefined;
  /**
   * HTTP statuses retried for idempotent methods (and requests carrying an
   * `Idempotency-Key`), honouring `Retry-After`. 408, 429 and 503 say "try again";
   * 502 and 504 are what a proxy answers when its upstream connection was reset or hung.
   * `[]` retries no status.
   * @default [408, 429, 502, 503, 504]
   */
  retryStatuses?: readonly number[] | undefined;
  /**
   * Bound of each attempt in wall time, in ms (0: none of the guard's own; axios's
   * `timeout` applies to each attempt). Counted by the guard's own timer from the
   * attempt's start until its response is handed over: waiting for a pooled socket, a
   * proxy's CONNECT, an HTTP/2 stream and the whole body are included (with
   * `responseType: 'stream'`, the body is the caller's to read and is not). It ends the
   * attempt with axios's timeout error (`ECONNABORTED`, `ETIMEDOUT` under
   * `transitional.clarifyTimeoutError`), classified `timeout`. Each attempt's axios
   * `timeout` is also set to the shorter of the two, with axios's meaning (in Node's
   * http adapter, socket inactivity).
   * @default 0
   */
  attemptTimeoutMs?: number | undefined;
  /**
   * Overall deadline of a logical request in wall time, in ms (0: none): from the call,
   * across attempts and waits, with what {@link attemptTimeoutMs} covers in each attempt.
   * An attempt is cut by the guard's own timer when the time left runs out (the reason
   * says `deadline of N ms reached after K attempts`), and a wait that would cross the
   * deadline is not started. Your own `beforeRetry`, `onRetry`, `body` and `sleep` are not cut short:
   * the deadline is checked again after them.
   * @default 0
   */
  deadlineMs?: number | undefined;
  /**
   * Send an `Idempotency-Key` header on non-idempotent requests (POST, PATCH, ...) that
   * have none: a random UUID with `true`, or the string your function returns. The same
   * key goes with every attempt of one logical request, which makes such requests
   * retryable like GET: the server is expected to apply a key once. A factory that throws
   * fails the request with its own error, before anything is sent.
   * @default false
   */
  idempotencyKey?: boolean | IdempotencyKeyFactory | undefined;
  /**
   * Header carrying `attempt/maxAttempts` (e.g. `2/4`) on every attempt; `true` means
   * `x-request-attempt`, `false` sends none.
   * @default false
   */
  attemptHeader?: string | boolean | undefined;
  /**
   * Header carrying the stable request id on every attempt; `true` means `x-request-id`,
   * `false` sends none.
   * @default false
   */
  requestIdHeader?: string | boolean | undefined;
  /**
   * Called before each wait, with the planned delay, the failure's classification and the
   * reason (the guard's own hook; `onRetry` is axios-retry's). A hook that throws (or
   * rejects) stops the retries and its error is what the request rejects with.
   * @default undefined
   */
  beforeRetry?: ((info: RetryInfo) => void | Promise<void>) | undefined;
  /**
   * axios-retry's `retryDelay(retryCount, error)`, with its meaning: the wait in ms before
   * retry number `retryCount` (1 for the first). axios-retry's own `exponentialDelay` and
   * `linearDelay()` work as they are. It replaces the guard's backoff; a stale socket is
   * still resent at once, and a status's `Retry-After` still sets the least wait. Without
   * it, the guard's backoff (`baseDelayMs`, `maxDelayMs`, full jitter).
   * @default undefined
   */
  retryDelay?: IAxiosRetryConfig['retryDelay'] | undefined;
  /**
   * axios-retry's `retryCondition(error)`, with its meaning where it is safe: `false` (or
   * a promise of `false`, or one that rejects) stops a retry the guard would send, for any
   * request; `true` asks for a retry the guard's rules would not send (a 500, a timeout,
   * an unknown code), which is granted for idempotent methods, requests with an
   * `Idempotency-Key` and under `retryNonIdempotent`, with a replayable body, within the
   * limits. It never resends a request the guard judges possibly applied: the reason says so.
   * Asked only while attempts remain. Without it, the guard's rules alone decide.
   * @default undefined
   */
  retryCondition?: IAxiosRetryConfig['retryCondition'] | undefined;
  /**
   * axios-retry's `shouldResetTimeout`: `true` gives each attempt the whole axios
   * `timeout`; `false` makes `timeout` one budget for all attempts and waits together (a
   * deadline of `timeout` ms, as `deadlineMs` would be).
   * @default true
   */
  shouldResetTimeout?: boolean | undefined;
  /**
   * axios-retry's `onRetry(retryCount, error, requestConfig)`, called before each wait
   * (after `beforeRetry`). A hook that throws (or rejects) ends the request with its error.
   * @default undefined
   */
  onRetry?: IAxiosRetryConfig['onRetry'] | undefined;
  /**
   * axios-retry's `onMaxRetryTimesExceeded(error, retryCount)`: called when a request
   * fails after all its retries were used (with `retries: 0`, on its first failure). A
   * hook that throws replaces the request's error with its own.
   * @default undefined
   */
  onMaxRetryTimesExceeded?: IAxiosRetryConfig['onMaxRetryTimesExceeded'] | undefined;
  /**
   * axios-retry's `validateResponse(response)`: it decides, instead of `validateStatus`,
   * which responses are a success; any other is a failure of kind `http-status`, retried by
   * `retryStatuses` or `retryCondition`. The request's `validateStatus` is left unused.
   * @default undefined
   */
  validateResponse?: IAxiosRetryConfig['validateResponse'] | undefined;
  /**
   * Called when a transient failure ends the request (limit reached, or a rule forbade
   * another attempt). A hook that throws replaces the request's error with its own.
   * @default undefined
   */
  onGiveUp?: ((info: GiveUpInfo) => void | Promise<void>) | undefined;
  /**
   * The expert knobs: defaults that suit almost every service, fine-tuned here when a
   * measurement says so. Per request, only those of {@link PerRequestExpertOptions}; they
   * merge over the instance's one by one.
   * @default {}
   */
  expert?: PerRequestExpertOptions | undefined;
}

/**
 * Options of one request (`config.resetGuard`): every {@link RequestOptions} field (with
 * {@link PerRequestExpertOptions} as `expert`), and `body`.
 */
export interface PerRequestOptions extends RequestOptions {
  /**
   * Makes the body of a request whose body is a stream (a file upload, `form-data`) again,
   * for each retry: a stream is consumed by the attempt that sent it, so without a factory
   * such a request is never resent. The first attempt sends `data` when set, else the
   * factory's body. The usual method rules still apply (a POST needs an Idempotency-Key or
   * the stale-socket rule); axios sets the headers of each new body (a new multipart
   * boundary); a `Content-Length` you set must hold for every body. A factory that throws
   * ends the request with its own error.
   * @default undefined
   */
  body?: BodyFactory | undefined;
}

/** Options of `attach()` / `createClient()`. */
export interface GuardOptions extends RequestOptions {
  /**
   * Install agentkeepalive agents as the instance's `httpAgent`/`httpsAgent` when it has none.
   * Agents the user set are used as they are and never destroyed by the guard.
   * @default true
   */
  agents?: boolean | undefined;
  /**
   * How long an idle keep-alive socket stays in the pool (agents the guard creates).
   * One second under the 5 s idle timeout of Node's, Apache's and uvicorn's servers.
   * @default 4000
   */
  freeSocketTimeout?: number | undefined;
  /**
   * Most sockets per origin on the guard's agents (Node's default: no limit).
   * @default Infinity
   */
  maxSockets?: number | undefined;
  /**
   * Extra header names (case-insensitive) whose values never appear in diagnostics, debug
   * lines, hook payloads or the `toJSON()` of final errors. `Authorization`,
   * `Proxy-Authorization`, `Cookie` and `Set-Cookie` are always redacted.
   * @default []
   */
  redactHeaders?: readonly string[] | undefined;
  /**
   * Extra query parameter names (case-insensitive) whose values never appear in
   * diagnostics, debug lines, hook payloads or the `toJSON()` of final errors, in the URL
   * and in `params`. Always redacted: `AWSAccessKeyId`, `Signature`, `sig`, `X-Goog-Signature`
   * (OpenTelemetry's list), `X-Goog-Credential`, `X-Amz-Signature`, `X-Amz-Credential`,
   * `X-Amz-Security-Token`, `access_token`, `refresh_token`, `id_token`, `token`, `api_key`,
   * `apikey`, `key`, `password`, `secret`, `client_secret`, `code`.
   * @default []
   */
  redactQuery?: readonly string[] | undefined;
  /**
   * Source of randomness for backoff jitter, returning [0, 1). For tests.
   * @default Math.random
   */
  random?: (() => number) | undefined;
  /**
   * Waits between attempts; must reject when `signal` aborts. For tests.
   * @default an AbortSignal-aware setTimeout
   */
  sleep?: ((ms: number, signal?: AbortSignal) => Promise<void>) | undefined;
  /**
   * The expert knobs: the stale-socket rule's thresholds, `Retry-After`'s ceiling, black
   * holes, the learning and pooling of keep-alive sockets, the retry budget. Each has a
   * default that suits almost every service: see {@link ExpertOptions}. Resolved flat:
   * `guard.options.staleIdleMs`, `DEFAULTS.staleIdleMs`.
   * @default {}
   */
  expert?: ExpertOptions | undefined;
}

/**
 * The expert knobs a request may set too, in `config.resetGuard.expert`: the stale-socket
 * rule and `Retry-After`'s ceiling. Unset ones keep the instance's values.
 */
export interface PerRequestExpertOptions {
  /**
   * Resend a non-idempotent request once when it failed on a reused keep-alive socket
   * before any response byte, and that socket had idled at least `staleIdleMs`:
   * the far side had forgotten the connection, so the request never reached the application.
   * @default true
   */
  retryStaleNonIdempotent?: boolean | undefined;
  /**
   * Idle time a reused socket must have spent in the pool for `retryStaleNonIdempotent`
   * to apply. A socket that died sooner more likely means the server crashed mid-request.
   * @default 1000
   */
  staleIdleMs?: number | undefined;
  /**
   * A failure on a reused socket counts as a stale socket only when it came within this
   * many ms of the attempt's start: a connection the far side had dropped answers the first
   * packet at once (one round trip), while one that fails later was alive and busy, so the
   * server may have acted on the request. Later failures are plain resets. Only the time
   * the process spent waiting counts: time its event loop was busy (GC, CPU work, building
   * a large body) is subtracted.
   * @default 500
   */
  staleWindowMs?: number | undefined;
  /**
   * Longest `Retry-After` the guard waits for. A response asking for longer comes back
   * at once, as the request's error, instead of holding the caller.
   * @default 60000
   */
  maxRetryAfterMs?: number | undefined;
}

/**
 * The expert knobs of `attach()` (`expert: { ... }`): those a request may set too, and the
 * instance's agents, black-hole detection and retry budget. Until 0.2.0 they were top-level options.
 */
export interface ExpertOptions extends PerRequestExpertOptions {
  /**
   * Black holes: on the guard's agents, a GET (any idempotent method) or a request with an
   * `Idempotency-Key`, sent on a socket reused after at least `staleIdleMs` of idle, that
   * has received no byte this many ms after it was written is given up on that socket and
   * resent at once on a fresh connection: a firewall or NAT that forgot the connection and
   * drops its packets would otherwise hold it until its timeout. The guard learns the
   * origin's idle limit from it as from a reset. Other requests wait as before. 0: off.
   * @default 2000
   */
  noAnswerMs?: number | undefined;
  /**
   * Learn from stale-socket resets: when a pooled socket to some origin turns out forgotten
   * after T ms idle, the guard's agents keep that origin's free sockets under 0.75 x T
   * (never under 250 ms). A reset after less than 500 ms idle counts only when a second
   * one agrees; a learned limit doubles back every 2 minutes without a stale reset.
   * @default true
   */
  learnIdleLimits?: boolean | undefined;
  /**
   * Follow the server's `Keep-Alive: timeout=N, max=M` hint on the guard's agents: a socket
   * idles at most N-1 s, and `max` counts the requests it may still carry (`max=0` retires it).
   * @default true
   */
  keepAliveHints?: boolean | undefined;
  /**
   * Most free sockets kept per origin on the guard's agents (Node's default).
   * @default 256
   */
  maxFreeSockets?: number | undefined;
  /**
   * Maximum lifetime of a socket in ms (0: none): an older socket is closed when it goes
   * free, so connections rotate across DNS-balanced endpoints.
   * @default 0
   */
  socketLifetime?: number | undefined;
  /**
   * A token bucket that keeps retries from turning an outage into a storm: retries spend
   * tokens, successes put them back. When the bucket cannot pay for a retry, requests
   * still go out once but are not retried, and the error's reason says the budget is
   * exhausted. `false` turns it off.
   * @default { capacity: 500, retryCost: 5, staleCost: 1, timeoutCost: 10, successRefund: 1 }
   */
  retryBudget?: RetryBudgetOptions | false | undefined;
}
