/** Property-based tests (fast-check): bad input never crashes, hangs or leaks. */
import axios from 'axios';
import fc from 'fast-check';
import { attach, ResetGuardOptionError, type GuardOptions } from '../src';
import {
  normalizeOptions,
  parseRetryAfter,
  redactErrorJSON,
  redactHeaders,
  redactUrl,
  SECRET_HEADERS,
  SECRET_QUERY,
} from '../src/internals';
import { requestLabel, secretsOf } from '../src/redact';

const anything = fc.oneof(
  fc.constant(undefined),
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.string(),
  fc.array(fc.integer({ min: -10, max: 1000 }), { maxLength: 4 }),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 12 }), fc.oneof(fc.integer(), fc.double(), fc.string()), { maxKeys: 3 }),
  fc.func(fc.anything()),
);
const optionName = fc.constantFrom(
  ...Object.keys(normalizeOptions()),
  'retires',
  'capacity',
  '__proto__',
  'constructor',
  'toString',
);

describe('normalizeOptions on arbitrary input', () => {
  it('returns frozen options or throws ResetGuardOptionError naming the option, nothing else', () => {
    fc.assert(
      fc.property(fc.dictionary(optionName, anything, { maxKeys: 4 }), (input) => {
        try {
          const resolved = normalizeOptions(input as GuardOptions);
          expect(Object.isFrozen(resolved)).toBe(true);
          expect(resolved.retries).toBeGreaterThanOrEqual(0);
        } catch (error) {
          expect(error).toBeInstanceOf(ResetGuardOptionError);
          const e = error as ResetGuardOptionError;
          expect(e.message).toContain(`"${e.option}"`);
          expect(Object.keys(input).some((k) => e.option === k || e.option.startsWith(`${k}.`))).toBe(true);
        }
      }),
      { numRuns: 500 },
    );
  });
});

describe('parseRetryAfter on arbitrary values', () => {
  const now = Date.parse('2026-11-25T12:00:00Z');

  it('never throws; returns undefined or a wait >= 0', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), anything), (value) => {
        const ms = parseRetryAfter(value, now);
        expect(ms === undefined || ms >= 0).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });

  it('delay-seconds: N digits mean N seconds; anything signed or fractional is ignored', () => {
    fc.assert(
      fc.property(fc.nat(), (n) => {
        expect(parseRetryAfter(String(n), now)).toBe(n * 1000);
        expect(parseRetryAfter(` ${n} `, now)).toBe(n * 1000);
        expect(parseRetryAfter(`-${n + 1}`, now)).toBeUndefined();
        expect(parseRetryAfter(`${n}.5`, now)).toBeUndefined();
      }),
    );
  });

  // The three HTTP-date forms of RFC 9110 §5.6.7, written from one instant.
  const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number): string => String(n).padStart(2, '0');
  const clock = (d: Date): string => `${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  const forms = {
    imf: (d: Date): string => d.toUTCString(),
    rfc850: (d: Date): string =>
      `${DAYS[d.getUTCDay()]}, ${two(d.getUTCDate())}-${MONTHS[d.getUTCMonth()]}-${two(d.getUTCFullYear() % 100)} ${clock(d)} GMT`,
    asctime: (d: Date): string =>
      `${DAYS[d.getUTCDay()]!.slice(0, 3)} ${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${clock(d)} ${d.getUTCFullYear()}`,
  };

  it('HTTP-date: every date in the three RFC forms gives the time until it, 0 if past', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: -86_400, max: 86_400 }),
        fc.constantFrom(...Object.values(forms)),
        (offsetS, format) => {
          const at = new Date(now + offsetS * 1000);
          expect(parseRetryAfter(format(at), now)).toBe(Math.max(0, offsetS * 1000));
        },
      ),
    );
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0);
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', now)).toBe(0);
    // asctime names no zone: it is GMT, whatever the machine's TZ
    expect(parseRetryAfter('Sun Nov  6 08:49:37 1994', Date.parse('Sun, 06 Nov 1994 08:49:00 GMT'))).toBe(37_000);
    expect(parseRetryAfter('Wed, 32 Foo 2026 99:99:99 GMT', now)).toBeUndefined();
  });
});

describe('redactUrl', () => {
  it('removes the whole userinfo, split at its last @, and leaves other URLs alone', () => {
    expect(redactUrl('http://user:p@S3CRET@127.0.0.1:80/x?y=1')).toBe('http://[redacted]@127.0.0.1/x?y=1'); // as parsed: the default port drops;
    expect(redactUrl('https://S3CRETTOKEN@github.com/a')).toBe('https://[redacted]@github.com/a');
    expect(redactUrl('/relative/a@b')).toBe('/relative/a@b');
    expect(redactUrl('http://host/path?email=a@b.c')).toBe('http://host/path?email=a@b.c');
    fc.assert(
      fc.property(fc.webUrl({ withQueryParameters: true, withFragments: true }), fc.string(), (url, secret) => {
        const withAuth = url.replace('://', `://u:${encodeURIComponent(`S3CRET${secret}`)}@`);
        expect(redactUrl(withAuth)).not.toContain('S3CRET');
      }),
    );
  });
});

describe('redactUrl over the URL shapes axios sends', () => {
  // What the WHATWG parser forgives, and axios (new URL(fullPath)) therefore sends with basic auth.
  const lead = fc.constantFrom('', ' ', '  ', '\t', '\n', '\u0001', ' \t\u001f');
  const scheme = fc.constantFrom('http', 'https', 'HTTP', 'hTtPs');
  const slashes = fc.constantFrom('://', ':\\\\', ':/\\', ':', ':///', ':\t//');
  const token = fc.stringMatching(/^[A-Za-z0-9._~!$&'()*+,;=%-]{0,12}$/);
  const host = fc.constantFrom('h.test', '127.0.0.1', '[::1]', 'xn--bcher-kva.example', 'a-b.c');
  const port = fc.constantFrom('', ':80', ':8443');
  const rest = fc.constantFrom('', '/', '/x', '/a@b', '/p?q=1', '/p?email=a@b.c#f', '/x?next=http://other@elsewhere/');
  const shaped = fc.record({
    lead,
    scheme,
    slashes,
    user: token,
    password: token,
    colon: fc.boolean(),
    host,
    port,
    rest,
  });

  it('never leaves the userinfo the parser finds, nor changes where the URL points', () => {
    fc.assert(
      fc.property(shaped, (u) => {
        // Markers that no other part contains, so a leak is a substring.
        const user = `USR${u.user}`;
        const password = `PWD${u.password}`;
        const userinfo = u.colon ? `${user}:${password}` : user;
        const url = `${u.lead}${u.scheme}${u.slashes}${userinfo}@${u.host}${u.port}${u.rest}`;
        const sent = new URL(url); // what axios's http adapter parses (no base in Node)
        const redacted = redactUrl(url);
        expect(redacted).not.toContain('USR');
        expect(redacted).not.toContain('PWD');
        const seen = new URL(redacted);
        expect([seen.protocol, seen.host, seen.pathname, seen.search, seen.hash]).toEqual([
          sent.protocol,
          sent.host,
          sent.pathname,
          // a URL inside the query loses its userinfo too
          sent.search.replace('other@', '[redacted]@'),
          sent.hash,
        ]);
      }),
      { numRuns: 2000 },
    );
  });

  it('sweeps URLs embedded in a query: written out, scheme-relative, without slashes, percent-encoded', () => {
    for (const embedded of [
      'https://u:S3CRET@idp/cb',
      '//u:S3CRET@idp/cb',
      'http:u:S3CRET@idp',
      encodeURIComponent('https://u:S3CRET@idp/cb'),
    ]) {
      expect(redactUrl(`http://h.test/login?next=${embedded}&x=1`)).not.toContain('S3CRET');
    }
    // an e-mail address or a mailto: link is no userinfo
    expect(redactUrl('http://h.test/cb?to=mailto:me@x.org&from=a@b.c')).toBe(
      'http://h.test/cb?to=mailto:me@x.org&from=a@b.c',
    );
    const json = redactErrorJSON({ config: { url: '/x', params: { next: 'https://u:S3CRET@idp/', page: 2 } } });
    expect(JSON.stringify(json)).not.toContain('S3CRET');
    expect(json).toMatchObject({ config: { params: { next: 'https://[redacted]@idp/', page: 2 } } });
  });

  it('sweeps embedded URLs in every form a parser or an app decoding once or twice takes for userinfo', () => {
    // WHATWG: after a special scheme any number of slashes (even none) opens the authority,
    // and the userinfo ends at its last '@'.
    const slashesAfter = fc.constantFrom(':', ':/', '://', ':///', ':\\', ':/\\', ':\\\\');
    const special = fc.constantFrom('http', 'https', 'HTTP', 'wss', 'ftp');
    const info = fc.constantFrom('USR:PWD', 'USR', 'USR:P WD', 'USR@PWD', 'USR:P@W@D', 'USR:', ':PWD');
    const extra = fc.stringMatching(/^[A-Za-z0-9._~!$'()*+,=-]{0,6}$/);
    fc.assert(
      fc.property(special, slashesAfter, info, extra, fc.integer({ min: 0, max: 2 }), (sch, sl, ui, x, depth) => {
        let embedded = `${sch}${sl}${ui.replace(/USR|PWD|P WD/g, (m) => `${m}${x}`)}@idp.test/cb`;
        for (let i = 0; i < depth; i += 1) embedded = encodeURIComponent(embedded);
        // what a server reading the parameter (and decoding it `depth` times) would parse
        let decoded = embedded;
        for (let i = 0; i < depth; i += 1) decoded = decodeURIComponent(decoded);
        const parsed = new URL(decoded);
        expect(parsed.host).toBe('idp.test');
        for (const base of ['http://h.test/login', '/login']) {
          const redacted = redactUrl(`${base}?next=${embedded}&page=2`);
          expect(redacted).not.toMatch(/USR|PWD|P WD|P@W/);
          expect(redacted).toMatch(/&page=2$/);
          expect(redacted.startsWith(`${base}?next=`)).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('replaces the values of secret query parameters by name, in any case, encoded or nested; others stay', () => {
    const anyCase = (name: string): fc.Arbitrary<string> =>
      fc
        .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((upper) => [...name].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch.toLowerCase())).join(''));
    const secretName = fc.constantFrom(...SECRET_QUERY, 'Session').chain(anyCase);
    const value = fc.stringMatching(/^[A-Za-z0-9._~%+/=-]{0,16}$/).map((v) => `S3CRET${v}`);
    const where = fc.constantFrom('query', 'fragment', 'encoded', 'encoded-twice', 'bracket', 'semicolon');
    const secrets = secretsOf({ redactQuery: ['session'] });
    fc.assert(
      fc.property(secretName, value, where, (name, v, at) => {
        const pair = `${name}=${v}`;
        const url = {
          query: `http://h.test/a?page=2&${pair}&q=kept`,
          fragment: `http://h.test/cb#${pair}&state=kept`,
          encoded: `/login?next=${encodeURIComponent(`https://idp.test/x?${pair}&state=kept`)}&q=kept`,
          'encoded-twice': `/l?next=${encodeURIComponent(encodeURIComponent(`https://i.test/?a=1&${pair}`))}&q=kept`,
          bracket: `http://h.test/a?user[${name}]=${v}&q=kept`,
          semicolon: `http://h.test/a;${pair}?q=kept`,
        }[at];
        const redacted = redactUrl(url, secrets.query);
        expect(redacted).not.toContain('S3CRET');
        expect(redacted).toContain('[redacted]');
        expect(redacted).toMatch(/q=kept|state(=|%3D|%253D)kept/);
        // in config.params too, at any depth
        const json = redactErrorJSON({ config: { params: { [name]: v, page: 2, filter: { [name]: v } } } }, secrets);
        expect(JSON.stringify(json)).not.toContain('S3CRET');
        expect(json).toMatchObject({ config: { params: { page: 2 } } });
      }),
      { numRuns: 1000 },
    );
    // a name that does not decode is compared as written
    expect(redactUrl('http://h.test/?%E0%A4=1&%73ig=S3CRET&si%g=2')).toBe(
      'http://h.test/?%E0%A4=1&%73ig=[redacted]&si%g=2',
    );
    // no name that merely contains a secret one: `keyword`, `tokens`, `signature_version`
    expect(redactUrl('http://h.test/?keyword=a&tokens=b&signature_version=4')).toBe(
      'http://h.test/?keyword=a&tokens=b&signature_version=4',
    );
  });

  it('a request label carries no raw control character (a forged debug line)', () => {
    const label = requestLabel({ url: 'http://h.test/a\nAXIOS-RESET-GUARD 1: FORGED\x01\r\tline' }, secretsOf());
    expect(label.url).not.toMatch(/[\n\r\t]/);
    // tabs and newlines dropped, as the URL parser drops them before sending; the rest encoded
    expect(label.url).toBe('http://h.test/aAXIOS-RESET-GUARD 1: FORGED%01line');
  });

  it('leaves URLs without userinfo, and relative paths, as they were', () => {
    fc.assert(
      fc.property(scheme, host, port, rest, (s, h, p, r) => {
        if (r.includes('other@')) return;
        expect(redactUrl(`${s}://${h}${p}${r}`)).toBe(`${s}://${h}${p}${r}`);
        expect(redactUrl(r)).toBe(r);
      }),
    );
  });
});

describe('redactHeaders on arbitrary header maps', () => {
  const marker = 'S3CRET';
  const secretName = fc
    .constantFrom(...SECRET_HEADERS, 'x-api-key')
    .chain((name) =>
      fc
        .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
        .map((upper) => [...name].map((ch, i) => (upper[i] ? ch.toUpperCase() : ch)).join('')),
    );
  const safeName = fc.stringMatching(/^x-[a-z]{1,8}$/).filter((n) => n !== 'x-api-key');

  it('never lets a secret value through, whatever the case of the name or the nesting', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          secretName,
          fc.string().map((v) => `${marker}${v}`),
          { minKeys: 1, maxKeys: 4 },
        ),
        fc.dictionary(
          safeName,
          fc.string({ maxLength: 10 }).filter((v) => !v.includes(marker)),
          { maxKeys: 3 },
        ),
        fc.boolean(),
        (secrets, plain, nested) => {
          const headers = nested ? { ...plain, common: { ...secrets } } : { ...plain, ...secrets };
          const out = JSON.stringify(redactHeaders(headers, new Set([...SECRET_HEADERS, 'x-api-key'])));
          expect(out).not.toContain(marker);
          for (const [name, value] of Object.entries(plain))
            expect(out).toContain(JSON.stringify({ [name]: value }).slice(1, -1));
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('header values from the user', () => {
  it('an idempotencyKey factory value is sent as it is, or fails with a typed error; nothing else', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constant('')), async (value) => {
        const sent: unknown[] = [];
        const api = axios.create({
          adapter: (config) => {
            sent.push(config.headers.get('idempotency-key'));
            return Promise.resolve({ data: '', status: 200, statusText: 'OK', headers: {}, config });
          },
        });
        const guard = attach(api, { agents: false, idempotencyKey: () => value });
        try {
          await api.post('/x', {});
          expect(sent).toEqual([value]);
          expect(value.length).toBeGreaterThan(0);
          expect(value).not.toMatch(/[\r\n\0]/);
        } catch (error) {
          expect(error).toBeInstanceOf(ResetGuardOptionError);
          expect((error as ResetGuardOptionError).option).toBe('idempotencyKey');
          expect(sent).toEqual([]);
        } finally {
          guard.detach();
        }
      }),
      { numRuns: 200 },
    );
  });

  it('attemptHeader / requestIdHeader accept exactly the RFC 9110 token names', () => {
    const token = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 20 }), (name) => {
        let accepted = true;
        try {
          normalizeOptions({ attemptHeader: name, requestIdHeader: name });
        } catch (error) {
          expect(error).toBeInstanceOf(ResetGuardOptionError);
          accepted = false;
        }
        expect(accepted).toBe(token.test(name));
      }),
      { numRuns: 500 },
    );
  });
});
