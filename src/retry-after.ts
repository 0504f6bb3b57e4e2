// RFC 9110 §10.2.3: Retry-After = HTTP-date / delay-seconds (1*DIGIT).
const DELAY_SECONDS = /^\d+$/;
// All three HTTP-date forms (IMF-fixdate, RFC 850, asctime) start with a day name.
const HTTP_DATE = /^(Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? /;
// asctime-date ("Sun Nov  6 08:49:37 1994") names no zone; HTTP dates are always GMT.
const ASCTIME = /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d{2}:\d{2}:\d{2} \d{4}$/;
// Longer than any valid value: do not hand megabytes of garbage to Date.parse.
const MAX_LENGTH = 64;

/**
 * The wait a `Retry-After` header value asks for, in ms: `undefined` when absent or
 * malformed (negative, fractional, not a date), `0` for a date in the past, and possibly
 * `Infinity` for absurdly many seconds. Pure: pass `now` to make it deterministic.
 * @example
 * parseRetryAfter('120'); // 120000
 * parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT', Date.parse('Wed, 21 Oct 2015 07:27:00 GMT')); // 60000
 */
export function parseRetryAfter(value: unknown, now: number = Date.now()): number | undefined {
  const raw = Array.isArray(value) ? (value as unknown[])[0] : value;
  if (typeof raw !== 'string' && typeof raw !== 'number') return undefined;
  const text = String(raw).trim();
  if (text.length === 0 || text.length > MAX_LENGTH) return undefined;
  if (DELAY_SECONDS.test(text)) return Number(text) * 1000;
  if (!HTTP_DATE.test(text)) return undefined;
  const at = Date.parse(ASCTIME.test(text) ? `${text} GMT` : text);
  if (!Number.isFinite(at)) return undefined;
  return Math.max(0, at - now);
}
