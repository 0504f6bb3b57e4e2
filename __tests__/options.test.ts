import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS, ResetGuardOptionError, isResetGuardError } from '../src';
import { MAX_TIMER_MS, normalizeOptions, sleep } from '../src/internals';
import { mergeRequestOptions } from '../src/internals';

describe('DEFAULTS and normalizeOptions', () => {
  it('is frozen and normalizeOptions() equals it', () => {
    expect(Object.isFrozen(DEFAULTS)).toBe(true);
    expect(normalizeOptions()).toBe(DEFAULTS);
    expect(normalizeOptions({})).toEqual(DEFAULTS);
  });

  it('agrees with every @default tag in the JSDoc', () => {
    // the options, and the retry budget's sizes (their own interface, in budget.ts)
    const source = ['options.ts', 'budget.ts']
      .map((file) => readFileSync(join(__dirname, '..', 'src', file), 'utf8'))
      .join('\n');
    const tagged = [...source.matchAll(/@default ([^\n]+)\n\s*\*\/\n\s*(\w+)\?:/g)];
    expect(tagged.map(([, , key]) => key)).toEqual(expect.arrayContaining(['noAnswerMs', 'capacity', 'successRefund']));
    expect(tagged.length).toBeGreaterThanOrEqual(35);
    const budget = DEFAULTS.retryBudget as unknown as Record<string, unknown>;
    for (const [, text, key] of tagged) {
      const actual = key! in budget ? budget[key!] : (DEFAULTS as unknown as Record<string, unknown>)[key!];
      const value = text!.trim();
      if (typeof actual === 'function') expect(key).toMatch(/^(random|sleep)$/);
      // JSON-like tags ([408, 429], { capacity: 500 }) are compared as values
      else if (/^[[{]/.test(value)) expect([key, actual]).toEqual([key, JSON.parse(value.replace(/(\w+):/g, '"$1":'))]);
      else
        expect([key, typeof actual === 'number' ? String(actual) : String(JSON.stringify(actual))]).toEqual([
          key,
          value,
        ]);
    }
  });

  it.each([
    ['retries', -1],
    ['retries', 1.5],
    ['retries', Number.NaN],
    ['retries', '3'],
    ['baseDelayMs', -5],
    ['maxDelayMs', Number.POSITIVE_INFINITY],
    ['staleIdleMs', null],
    ['retry', 'yes'],
    ['freeSocketTimeout', 0],
    ['attemptHeader', 'bad header'],
    ['onRetry', 42],
    ['sleep', 'now'],
    ['maxSockets', 0],
    ['maxFreeSockets', 2.5],
    ['socketLifetime', -1],
    ['retryStatuses', [503, 99]],
    ['retryStatuses', '503'],
    ['maxRetryAfterMs', Number.NaN],
    ['deadlineMs', -1],
    ['attemptTimeoutMs', '5s'],
    ['idempotencyKey', 'yes'],
    ['retryBudget', true],
    ['redactHeaders', ['x-api-key', 'bad header']],
    // past Node's longest timer (2^31 - 1 ms), which fires after 1 ms instead
    ['deadlineMs', 30 * 24 * 3600 * 1000],
    ['attemptTimeoutMs', 2 ** 31],
    ['maxRetryAfterMs', 2 ** 31],
    ['maxDelayMs', 2 ** 32],
    ['freeSocketTimeout', 2 ** 31],
    ['noAnswerMs', 2 ** 31],
    ['socketLifetime', 2 ** 40],
  ])('rejects %s = %p with a typed error naming both', (option, value) => {
    let caught: unknown;
    try {
      normalizeOptions({ [option]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ResetGuardOptionError);
    expect(caught).toBeInstanceOf(TypeError);
    expect(isResetGuardError(caught)).toBe(true);
    const e = caught as ResetGuardOptionError;
    expect(e.code).toBe('ERR_RESET_GUARD_OPTION');
    expect(e.option).toBe(option);
    expect(Object.is(e.value, value)).toBe(true);
    expect(e.message).toContain(`"${option}"`);
  });

  it('accepts the longest timer Node has, and says what the limit is past it', () => {
    expect(normalizeOptions({ deadlineMs: MAX_TIMER_MS }).deadlineMs).toBe(2 ** 31 - 1);
    expect(() => normalizeOptions({ deadlineMs: 2 ** 31 })).toThrow(
      /"deadlineMs" must be a number of milliseconds from 0 to 2147483647 \(Node's longest timer, ~24.8 days\), got 2147483648/,
    );
  });

  it('clamps a wait longer than a timer can hold, rather than letting Node fire it after 1 ms', async () => {
    const spy = jest.spyOn(global, 'setTimeout');
    try {
      const controller = new AbortController();
      const waiting = sleep(30 * 24 * 3600 * 1000, controller.signal);
      expect(spy).toHaveBeenLastCalledWith(expect.any(Function), MAX_TIMER_MS);
      controller.abort(new Error('done'));
      await expect(waiting).rejects.toThrow('done');
    } finally {
      spy.mockRestore();
    }
  });

  it('rejects unknown option names (typos) and non-objects', () => {
    expect(() => normalizeOptions({ retires: 3 } as never)).toThrow(/"retires" must be a known option/);
    // the close names retry (on/off) and retries (a count) are both offered, nearest first
    expect(() => normalizeOptions({ retrys: 2 } as never)).toThrow(
      'option "retrys" must be a known option (did you mean "retry" or "retries"?), got 2',
    );
    expect(() => mergeRequestOptions(DEFAULTS, { retires: 2 } as never)).toThrow(
      'option "resetGuard.retires" must be a known option (did you mean "retries"?), got 2',
    );
    expect(() => normalizeOptions({ zzz: 1 } as never)).toThrow(/"zzz" must be a known option \(retry, retries, /);
    expect(() => normalizeOptions('fast' as never)).toThrow(/"options" must be an object, got "fast"/);
  });

  it('validates retryBudget sizes one by one, naming retryBudget.<size>', () => {
    expect(normalizeOptions({ retryBudget: { capacity: 50 } }).retryBudget).toEqual({
      capacity: 50,
      retryCost: 5,
      staleCost: 1,
      timeoutCost: 10,
      successRefund: 1,
    });
    expect(normalizeOptions({ retryBudget: false }).retryBudget).toBe(false);
    expect(() => normalizeOptions({ retryBudget: { capacity: -1 } })).toThrow(
      /"retryBudget.capacity" must be a finite number >= 0, got -1/,
    );
    expect(() => normalizeOptions({ retryBudget: { size: 3 } as never })).toThrow(/"retryBudget.size" must be a known/);
  });

  it('normalizes status lists and header names', () => {
    expect(normalizeOptions({ retryStatuses: [503, 503, 429] }).retryStatuses).toEqual([503, 429]);
    expect(normalizeOptions({ redactHeaders: ['X-Api-Key'] }).redactHeaders).toEqual(['x-api-key']);
    expect(normalizeOptions({ idempotencyKey: true }).idempotencyKey).toBe(true);
  });

  it('resolves header switches to names', () => {
    const o = normalizeOptions({ attemptHeader: true, requestIdHeader: 'X-Trace-Id' });
    expect(o.attemptHeader).toBe('x-request-attempt');
    expect(o.requestIdHeader).toBe('x-trace-id');
    expect(normalizeOptions({ requestIdHeader: true }).requestIdHeader).toBe('x-request-id');
  });

  it('merges per-request options over the instance, naming resetGuard.<option> on error', () => {
    const base = normalizeOptions({ retries: 5 });
    expect(mergeRequestOptions(base, undefined)).toBe(base);
    expect(mergeRequestOptions(base, { retries: 1 }).retries).toBe(1);
    expect(mergeRequestOptions(base, { retries: undefined }).retries).toBe(5);
    expect(() => mergeRequestOptions(base, { retries: -2 })).toThrow(/"resetGuard.retries"/);
    // Agent options belong to the instance, not to one request.
    expect(() => mergeRequestOptions(base, { freeSocketTimeout: 5 } as never)).toThrow(/resetGuard.freeSocketTimeout/);
  });
});
