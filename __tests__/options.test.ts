import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DEFAULTS, ResetGuardOptionError, isResetGuardError } from '../src';
import { MAX_TIMER_MS, normalizeOptions, sleep } from '../src/internals';
import { SCHEMA, type OptionName } from '../src/schema';
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
    const budget = DEFAULTS.retryBudget as unknown as Record<string, unknown>;
    // every option of the schema has its tag (the type test says in which interface), and
    // nothing else but the budget's sizes and `expert` itself
    const names = tagged.map(([, , key]) => key!).filter((key) => !(key in budget) && key !== 'expert');
    expect(names.sort()).toEqual(Object.keys(SCHEMA).sort());
    expect(tagged.map(([, , key]) => key)).toEqual(expect.arrayContaining(['capacity', 'successRefund']));
    for (const [, text, key] of tagged) {
      // `expert` is a group, not an option: unset, it leaves every expert default as it is
      if (key === 'expert') {
        expect(text!.trim()).toBe('{}');
        continue;
      }
      const actual = key! in budget ? budget[key!] : (DEFAULTS as unknown as Record<string, unknown>)[key!];
      // a tag may explain itself after the value: `undefined (the guard's backoff ...)`
      const value = text!.trim().replace(/ \(.*\)$/, '');
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
    ['redactQuery', ['sig', '']],
    ['redactQuery', 'token'],
    // past Node's longest timer (2^31 - 1 ms), which fires after 1 ms instead
    ['deadlineMs', 30 * 24 * 3600 * 1000],
    ['attemptTimeoutMs', 2 ** 31],
    ['maxRetryAfterMs', 2 ** 31],
    ['maxDelayMs', 2 ** 32],
    ['freeSocketTimeout', 2 ** 31],
    ['noAnswerMs', 2 ** 31],
    ['socketLifetime', 2 ** 40],
  ])('rejects %s = %p with a typed error naming both', (option, value) => {
    // an expert knob is written, and named, inside `expert`
    const expert = SCHEMA[option as OptionName].group === 'expert';
    const name = expert ? `expert.${option}` : option;
    let caught: unknown;
    try {
      normalizeOptions(expert ? { expert: { [option]: value } } : { [option]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ResetGuardOptionError);
    expect(caught).toBeInstanceOf(TypeError);
    expect(isResetGuardError(caught)).toBe(true);
    const e = caught as ResetGuardOptionError;
    expect(e.code).toBe('ERR_RESET_GUARD_OPTION');
    expect(e.option).toBe(name);
    expect(Object.is(e.value, value)).toBe(true);
    expect(e.message).toContain(`"${name}"`);
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

  it('validates retryBudget sizes one by one, naming expert.retryBudget.<size>', () => {
    expect(normalizeOptions({ expert: { retryBudget: { capacity: 50 } } }).retryBudget).toEqual({
      capacity: 50,
      retryCost: 5,
      staleCost: 1,
      timeoutCost: 10,
      successRefund: 1,
    });
    expect(normalizeOptions({ expert: { retryBudget: false } }).retryBudget).toBe(false);
    expect(() => normalizeOptions({ expert: { retryBudget: { capacity: -1 } } })).toThrow(
      /"expert.retryBudget.capacity" must be a finite number >= 0, got -1/,
    );
    expect(() => normalizeOptions({ expert: { retryBudget: { size: 3 } as never } })).toThrow(
      /"expert.retryBudget.size" must be a known/,
    );
  });

  it('normalizes status lists and header names', () => {
    expect(normalizeOptions({ retryStatuses: [503, 503, 429] }).retryStatuses).toEqual([503, 429]);
    expect(normalizeOptions({ redactHeaders: ['X-Api-Key'] }).redactHeaders).toEqual(['x-api-key']);
    expect(normalizeOptions({ redactQuery: ['X-Signature', 'user[pin]'] }).redactQuery).toEqual([
      'x-signature',
      'user[pin]',
    ]);
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

describe('expert: the knobs grouped under one object', () => {
  const EXPERT = Object.keys(SCHEMA).filter((n) => SCHEMA[n as OptionName].group === 'expert');

  it('resolves flat, beside the others', () => {
    expect(EXPERT.sort()).toEqual(
      [
        'retryStaleNonIdempotent',
        'staleIdleMs',
        'staleWindowMs',
        'maxRetryAfterMs',
        'noAnswerMs',
        'learnIdleLimits',
        'keepAliveHints',
        'maxFreeSockets',
        'socketLifetime',
        'retryBudget',
      ].sort(),
    );
    const o = normalizeOptions({ retries: 1, expert: { staleIdleMs: 0, noAnswerMs: 0 } });
    expect([o.retries, o.staleIdleMs, o.noAnswerMs, o.staleWindowMs]).toEqual([1, 0, 0, 500]);
    expect(Object.keys(o).sort()).toEqual(Object.keys(DEFAULTS).sort());
    expect(normalizeOptions({ expert: {} })).toEqual(DEFAULTS);
    expect(normalizeOptions({ expert: undefined })).toEqual(DEFAULTS);
    expect(() => normalizeOptions({ expert: 3 } as never)).toThrow('option "expert" must be an object, got 3');
  });

  it.each(EXPERT)('refuses the old top-level %s, saying where it moved', (name) => {
    const value = DEFAULTS[name as OptionName];
    let caught: unknown;
    try {
      normalizeOptions({ [name]: value });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ResetGuardOptionError);
    expect((caught as ResetGuardOptionError).option).toBe(name);
    expect((caught as Error).message).toContain(`must be set as "expert.${name}": it moved there in 0.2.0`);
  });

  it('offers the near expert names for a typo inside expert', () => {
    expect(() => normalizeOptions({ expert: { staleIdelMs: 0 } } as never)).toThrow(
      'option "expert.staleIdelMs" must be a known option (did you mean "staleIdleMs"?), got 0',
    );
    expect(() => normalizeOptions({ expert: { retries: 0 } } as never)).toThrow(
      /"expert.retries" must be a known option \(retryStaleNonIdempotent, staleIdleMs, /,
    );
    expect(() => normalizeOptions({ expret: {} } as never)).toThrow(
      /"expret" must be a known option \(did you mean "expert"\?\)/,
    );
  });

  it('per request: merges over the instance expert values one by one; instance-only knobs are refused', () => {
    const base = normalizeOptions({ expert: { staleIdleMs: 7, staleWindowMs: 9, noAnswerMs: 11 } });
    const merged = mergeRequestOptions(base, { expert: { staleIdleMs: 0 } });
    expect([merged.staleIdleMs, merged.staleWindowMs, merged.noAnswerMs]).toEqual([0, 9, 11]);
    expect(mergeRequestOptions(base, { expert: { staleIdleMs: undefined } }).staleIdleMs).toBe(7);
    expect(() => mergeRequestOptions(base, { expert: { noAnswerMs: 0 } } as never)).toThrow(
      `option "resetGuard.expert.noAnswerMs" must be set as attach()'s "expert.noAnswerMs", got 0`,
    );
    expect(() => mergeRequestOptions(base, { staleIdleMs: 0 } as never)).toThrow(
      'option "resetGuard.staleIdleMs" must be set as "resetGuard.expert.staleIdleMs": it moved there in 0.2.0, got 0',
    );
    expect(() => mergeRequestOptions(base, { noAnswerMs: 0 } as never)).toThrow(
      `option "resetGuard.noAnswerMs" must be set as attach()'s "expert.noAnswerMs"`,
    );
    expect(() => mergeRequestOptions(base, { expert: 'x' } as never)).toThrow(
      'option "resetGuard.expert" must be an object, got "x"',
    );
  });
});

describe("the docs' options tables list exactly the schema, with DEFAULTS's values", () => {
  const SCOPE_OF: Record<string, string> = { yes: 'call', only: 'request', no: 'instance' };
  type Row = { name: string; token: string | undefined; call: string };

  /** Rows of the tables headed `option` in a markdown file: names, their default's token, the call column. */
  function optionRows(file: string): Row[] {
    const text = readFileSync(join(__dirname, '..', file), 'utf8');
    const footnote = (id: string): string => new RegExp(`^\\[\\^${id}\\]: (.*)$`, 'm').exec(text)![1]!;
    const rows: Row[] = [];
    let expertTable = false;
    let inTable = false;
    for (const line of text.split('\n')) {
      if (!line.startsWith('|')) {
        inTable = false;
        continue;
      }
      const cells = line
        .slice(1, -1)
        .split('|')
        .map((c) => c.trim());
      if (!inTable) {
        inTable = /option$/.test(cells[0]!);
        expertTable = cells[0]!.includes('`expert.`');
        continue;
      }
      if (cells[0]!.startsWith('-')) continue;
      const names = [...cells[0]!.matchAll(/`([\w.]+)`/g)].map((m) => (expertTable ? 'expert.' : '') + m[1]!);
      // a default cell may point at a footnote holding the value (the retry budget's sizes)
      const note = /\[\^(\w+)\]/.exec(cells[1]!);
      const source = cells[1]!.includes('`') || note === null ? cells[1]! : footnote(note[1]!);
      const tokens = [...source.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
      if (names.length > 1 && tokens.length > 1 && tokens.length !== names.length) {
        throw new Error(`${file}: ${cells[0]} has ${tokens.length} defaults for ${names.length} options`);
      }
      // one default per name, one for all of them, or none at all ("none": undefined)
      names.forEach((name, i) =>
        rows.push({ name, token: tokens.length === names.length ? tokens[i] : tokens[0], call: cells[2]! }),
      );
    }
    return rows;
  }

  const parse = (token: string | undefined): unknown => {
    if (token === undefined) return undefined;
    if (token === 'Infinity') return Number.POSITIVE_INFINITY;
    if (token === 'Math.random') return Math.random;
    if (token === 'setTimeout') return sleep;
    // JSON-like ([408, 429], { capacity: 500 }) with bare keys
    return JSON.parse(token.replace(/(\w+):/g, '"$1":'));
  };

  it.each(['README.md', 'docs/policy.md'])('%s', (file) => {
    const rows = optionRows(file).filter((row) => row.name !== 'expert');
    const names = rows.map((row) => row.name);
    const expected = Object.entries(SCHEMA).map(([name, spec]) => (spec.group === 'expert' ? `expert.${name}` : name));
    expect([...names].sort()).toEqual(expected.sort());
    for (const { name, token, call } of rows) {
      const key = name.replace(/^expert\./, '') as OptionName;
      expect([name, parse(token)]).toEqual([name, DEFAULTS[key]]);
      expect([name, SCOPE_OF[call]]).toEqual([name, SCHEMA[key].scope]);
    }
  });
});
