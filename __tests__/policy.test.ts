import {
  decideRetry,
  isIdempotentMethod,
  isReplayableBody,
  DEFAULTS,
  type Classification,
  type RetryContext,
} from '../src';
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
    ).toBe('a other failure (EWHATEVER) is not retried');
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
    it('are not retried on a fresh-connection reset, mid-response reset or refusal', () => {
      for (const kind of ['reset', 'reset-mid-response', 'tls-reset', 'refused'] as const) {
        const d = decideRetry(ctx({ method: 'post', classification: cls({ kind }) }));
        expect(d.retry).toBe(false);
        expect(d.reason).toBe(`POST is not idempotent and a ${kind} failure may have reached the server`);
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
