import { DEFAULTS, type Classification } from '../src';
import { decideRetry, isIdempotentMethod, isReplayableBody, type RetryContext } from '../src/internals';
import { Readable } from 'node:stream';

const cls = (over: Partial<Classification>): Classification => ({
  kind: 'reset',
  retryable: true,
  reusedSocket: false,
  responseStarted: false,
  idleMs: undefined,
  code: 'ECONNRESET',
  ...over,
});
const stale = (idleMs: number | undefined): Classification => cls({ kind: 'stale-socket', reusedSocket: true, idleMs });
const ctx = (over: Partial<RetryContext>): RetryContext => ({
  classification: cls({}),
  method: 'get',
  hasIdempotencyKey: false,
  bodyReplayable: true,
  attempt: 1,
  staleReplays: 0,
  options: DEFAULTS,
  ...over,
});

describe('decideRetry', () => {
  it('retries every retryable kind for idempotent methods, stale sockets at once', () => {
    for (const method of ['GET', 'head', 'options', 'PUT', 'delete', 'trace', undefined]) {
      expect(isIdempotentMethod(method)).toBe(true);
      for (const kind of ['reset', 'reset-mid-response', 'tls-reset', 'refused'] as const) {
        expect(decideRetry(ctx({ method, classification: cls({ kind }) }))).toMatchObject({
          retry: true,
          immediate: false,
        });
      }
      expect(decideRetry(ctx({ method, classification: stale(5) }))).toMatchObject({ retry: true, immediate: true });
    }
  });

  it('stops at the retry limit and when turned off', () => {
    expect(decideRetry(ctx({ attempt: 3 })).retry).toBe(true);
    expect(decideRetry(ctx({ attempt: 4 }))).toMatchObject({
      retry: false,
      reason: 'retry limit reached after 4 attempts',
    });
    expect(decideRetry(ctx({ options: { ...DEFAULTS, retry: false } })).reason).toMatch(/turned off/);
  });

  it('does not retry unknown, http-status, canceled or dns ENOTFOUND failures (allowlist)', () => {
    expect(
      decideRetry(ctx({ classification: cls({ kind: 'other', retryable: false, code: 'EWHATEVER' }) })).reason,
    ).toBe('an other failure (EWHATEVER) is not retried');
    expect(decideRetry(ctx({ classification: cls({ kind: 'canceled', retryable: false }) })).retry).toBe(false);
  });

  it('retries timeouts only with retryTimeouts', () => {
    const timeout = cls({ kind: 'timeout', code: 'ECONNABORTED' });
    expect(decideRetry(ctx({ classification: timeout })).reason).toMatch(/retryTimeouts/);
    expect(decideRetry(ctx({ classification: timeout, options: { ...DEFAULTS, retryTimeouts: true } })).retry).toBe(
      true,
    );
  });

  it('never resends a stream body, whatever the method', () => {
    const d = decideRetry(ctx({ method: 'put', bodyReplayable: false, classification: stale(5000) }));
    expect(d).toMatchObject({ retry: false });
    expect(d.reason).toMatch(/stream/);
  });

  describe('non-idempotent methods', () => {
    it('are not retried on a fresh-connection reset or a mid-response reset', () => {
      for (const kind of ['reset', 'reset-mid-response'] as const) {
        const d = decideRetry(ctx({ method: 'post', classification: cls({ kind }) }));
        expect(d.retry).toBe(false);
        expect(d.reason).toBe(`POST is not idempotent and a ${kind} failure may have reached the server`);
      }
    });

    it('are retried after a refused connection or a failed TLS handshake: no HTTP byte left', () => {
      for (const kind of ['tls-reset', 'refused'] as const) {
        const d = decideRetry(ctx({ method: 'post', classification: cls({ kind }) }));
        expect(d).toMatchObject({ retry: true, reason: 'POST never reached the server', immediate: false });
      }
    });

    it('are resent once, at once, after a stale socket idle past staleIdleMs', () => {
      expect(decideRetry(ctx({ method: 'post', classification: stale(1000) }))).toMatchObject({
        retry: true,
        immediate: true,
        staleReplay: true,
      });
      expect(decideRetry(ctx({ method: 'patch', classification: stale(999) })).reason).toMatch(/idle only 999 ms/);
      expect(decideRetry(ctx({ method: 'post', classification: stale(undefined) })).reason).toMatch(
        /unknown idle time/,
      );
      expect(decideRetry(ctx({ method: 'post', classification: stale(5000), staleReplays: 1 })).reason).toMatch(
        /already resent once/,
      );
      const off = { ...DEFAULTS, retryStaleNonIdempotent: false };
      expect(decideRetry(ctx({ method: 'post', classification: stale(5000), options: off })).retry).toBe(false);
    });

    it('are retried like GET with an Idempotency-Key or retryNonIdempotent', () => {
      expect(decideRetry(ctx({ method: 'post', hasIdempotencyKey: true })).retry).toBe(true);
      expect(decideRetry(ctx({ method: 'post', options: { ...DEFAULTS, retryNonIdempotent: true } })).retry).toBe(true);
    });
  });
});

describe('isReplayableBody', () => {
  it('accepts values rebuilt per attempt and refuses streams', () => {
    for (const body of [
      undefined,
      null,
      'text',
      Buffer.from('x'),
      new Uint8Array(2),
      new URLSearchParams('a=1'),
      { a: 1 },
      new Blob(['x']),
      new FormData(),
    ]) {
      expect(isReplayableBody(body)).toBe(true);
    }
    async function* gen(): AsyncGenerator<string> {
      yield await Promise.resolve('x');
    }
    for (const body of [Readable.from(['x']), new ReadableStream(), gen()]) {
      expect(isReplayableBody(body)).toBe(false);
    }
  });
});

describe('decideRetry: statuses, Retry-After, deadline, budget', () => {
  const status = (code: number): Classification =>
    cls({ kind: 'http-status', retryable: false, responseStarted: true, code: 'ERR_BAD_RESPONSE', status: code });
  const half = { ...DEFAULTS, random: () => 0.5 };

  it.each([408, 429, 502, 503, 504])('retries status %d for idempotent methods with backoff', (code) => {
    expect(decideRetry(ctx({ classification: status(code), options: half }))).toMatchObject({
      retry: true,
      delayMs: 100, // attempt 1: half of baseDelayMs 200
      transient: true,
    });
  });

  it('does not retry other statuses, nor listed ones for POST without a key', () => {
    expect(decideRetry(ctx({ classification: status(500) }))).toMatchObject({ retry: false, transient: false });
    expect(decideRetry(ctx({ classification: status(404) })).reason).toBe('a status 404 is not retried');
    expect(decideRetry(ctx({ method: 'post', classification: status(503) })).reason).toBe(
      'POST is not idempotent and the server answered 503',
    );
    expect(
      decideRetry(ctx({ method: 'post', hasIdempotencyKey: true, classification: status(503), options: half })),
    ).toMatchObject({
      retry: true,
      reason:
        'status 503 is in retryStatuses; POST carries an Idempotency-Key header; waiting 100 ms of backoff (no Retry-After)',
    });
    expect(decideRetry(ctx({ classification: status(503), options: { ...DEFAULTS, retryStatuses: [] } })).retry).toBe(
      false,
    );
  });

  it('waits what Retry-After asks, up to maxRetryAfterMs, and returns at once beyond it', () => {
    expect(decideRetry(ctx({ classification: status(429), retryAfterMs: 3000 }))).toMatchObject({
      retry: true,
      delayMs: 3000,
      reason: 'status 429 is in retryStatuses; GET is idempotent; waiting 3000 ms as Retry-After asks',
    });
    expect(decideRetry(ctx({ classification: status(503), retryAfterMs: 0 }))).toMatchObject({ delayMs: 0 });
    const over = decideRetry(ctx({ classification: status(503), retryAfterMs: 120_000 }));
    expect(over).toMatchObject({ retry: false, limit: 'retry-after', transient: true });
    expect(over.reason).toBe('Retry-After asks for 120 s, over expert.maxRetryAfterMs (60000 ms)');
    expect(decideRetry(ctx({ classification: status(503), retryAfterMs: Infinity })).reason).toMatch(/forever/);
    // Retry-After only applies to status retries
    expect(decideRetry(ctx({ retryAfterMs: 5000, options: half })).delayMs).toBe(100);
  });

  it('does not start a wait that would cross the deadline, and says after how many attempts', () => {
    const options = { ...DEFAULTS, deadlineMs: 1000, random: () => 1 };
    expect(decideRetry(ctx({ attempt: 2, remainingMs: 500, options }))).toMatchObject({
      retry: true,
      delayMs: 400,
    });
    const crossing = decideRetry(ctx({ attempt: 2, remainingMs: 399, options }));
    expect(crossing).toMatchObject({ retry: false, limit: 'deadline' });
    expect(crossing.reason).toBe('deadline of 1000 ms reached after 2 attempts: a 400 ms wait would cross it');
    expect(decideRetry(ctx({ remainingMs: 0, options })).reason).toBe('deadline of 1000 ms reached after 1 attempt');
    // a stale socket is retried at once while any time is left
    expect(decideRetry(ctx({ classification: stale(2000), remainingMs: 1, options })).retry).toBe(true);
  });

  it('refuses a retry the budget cannot pay for', () => {
    expect(decideRetry(ctx({ budgetTokens: 5, budgetCost: 5 })).retry).toBe(true);
    const d = decideRetry(ctx({ budgetTokens: 4, budgetCost: 5 }));
    expect(d).toMatchObject({ retry: false, limit: 'budget', transient: true });
    expect(d.reason).toBe('retry budget exhausted (4 tokens left, this retry costs 5)');
  });
});
