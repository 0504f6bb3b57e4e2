/** Header names whose values never leave the guard in diagnostics, hook payloads or error JSON. */
export const SECRET_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

import { urlText } from './url-text';

const REDACTED = '[redacted]';

/** A set of lower-case header names: the fixed secrets plus the user's `redactHeaders`. */
export function secretNames(extra: readonly string[] = []): ReadonlySet<string> {
  return new Set([...SECRET_HEADERS, ...extra.map((name) => name.toLowerCase())]);
}

const DEFAULT_SECRETS = secretNames();

function plainHeaders(headers: unknown): Record<string, unknown> {
  if (typeof headers !== 'object' || headers === null) return {};
  // AxiosHeaders (and similar) flatten themselves; plain objects are used as they are.
  const toJSON = (headers as { toJSON?: unknown }).toJSON;
  const flat: unknown = typeof toJSON === 'function' ? (toJSON as () => unknown).call(headers) : headers;
  return typeof flat === 'object' && flat !== null ? (flat as Record<string, unknown>) : {};
}

/**
 * A copy of `headers` (plain object or AxiosHeaders) with secret values replaced by
 * `[redacted]`; nested per-method blocks (`common`, `get`, ...) are redacted too.
 */
export function redactHeaders(
  headers: unknown,
  secrets: ReadonlySet<string> = DEFAULT_SECRETS,
): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(plainHeaders(headers))) {
    if (secrets.has(name.toLowerCase())) out[name] = REDACTED;
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      out[name] = redactHeaders(value, secrets);
    else out[name] = value;
  }
  return out;
}

// URLs inside a string (a query parameter, a path) lose their userinfo too: written out
// (`scheme://u:p@`, `//u:p@`, `http:u:p@`), or percent-encoded (`https%3A%2F%2Fu%3Ap%40`).
const EMBEDDED_USERINFO = [
  /((?:[a-z][a-z0-9+.-]*:)?[\\/]{2})[^/\\?#@\s&=]+@/gi,
  /((?:^|[^a-z0-9+.-])[a-z][a-z0-9+.-]*:)[^/\\?#@\s&=:]+:[^/\\?#@\s&=]*@/gi,
  /((?:%3A)?(?:%2F){2})(?:(?!%2F|%3F|%23)[^/?#&=\s])+?%40/gi,
];
// What the WHATWG parser drops before parsing: edge spaces and C0 controls, inner tabs and newlines.
// eslint-disable-next-line no-control-regex -- the parser strips exactly these
const IGNORED_BY_PARSER = /^[\x00-\x20]+|[\x00-\x20]+$|[\t\n\r]/g;
const RELATIVE_BASE = 'http://relative.invalid';

function parseUrl(url: string, base?: string): URL | undefined {
  try {
    return new URL(url, base);
  } catch {
    return undefined;
  }
}

/**
 * `url` without its userinfo (`user:password@`), which often carries a token even in the
 * user part. The URL is read as axios's http adapter reads it, with the WHATWG parser
 * (so `' http://u:p@h'`, `'http:\\\\u:p@h'` and `'http:u:p@h'` lose theirs too); a
 * string that parser rejects loses anything that looks like userinfo.
 */
export function redactUrl(url: string): string {
  const parsed = parseUrl(url) ?? parseUrl(url, RELATIVE_BASE);
  let out = url;
  if (parsed === undefined) {
    // Not sendable as it is, but it may still be logged: drop whatever precedes an '@' in the authority.
    // eslint-disable-next-line no-control-regex -- edge controls, as the parser sees them
    out = url.replace(/^([\x00-\x20]*(?:[a-z][a-z0-9+.-]*:)?[\\/]*)[^/\\?#]*@/i, `$1${REDACTED}@`);
  } else if (parsed.username !== '' || parsed.password !== '') {
    const cleaned = url.replace(IGNORED_BY_PARSER, '');
    // As written: absolute, or relative to the scheme (`//u:p@host/x`, joined to a base).
    const scheme = /^[a-z][a-z0-9+.-]*:/i.test(cleaned) ? parsed.protocol : '';
    out = `${scheme}//${REDACTED}@${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`;
  }
  return EMBEDDED_USERINFO.reduce(
    (text, pattern, i) => text.replace(pattern, `$1${REDACTED}${i === 2 ? '%40' : '@'}`),
    out,
  );
}

// axios's own test (isAbsoluteURL): a scheme and `//`, or `//` alone; anything else joins the baseURL.
const ABSOLUTE = /^([a-z][a-z\d+\-.]*:)?\/\//i;

/** A config's `baseURL` and `url` (strings, or `URL` objects axios accepts too), as {@link fullPath} reads them. */
export type Target = {
  baseURL?: string | URL | undefined;
  url?: string | URL | undefined;
  allowAbsoluteUrls?: boolean | undefined;
};

/**
 * Where a request goes, joined as axios joins it (`buildFullPath`, `allowAbsoluteUrls`
 * included). Not redacted: for what is shown, use {@link targetOf}.
 */
export function fullPath(config: Target | undefined): string {
  // As axios's `new URL()` reads them: a URL object by its string.
  const url = String(config?.url ?? '');
  const base = config?.baseURL && String(config.baseURL);
  if (!base || (ABSOLUTE.test(url) && config?.allowAbsoluteUrls !== false)) return url;
  return url ? `${base.replace(/\/+$/, '')}/${url.replace(/^\/+/, '')}` : base;
}

/** Where a request went, as one string to show: {@link fullPath} without its userinfo. */
export function targetOf(config: Target | undefined): string {
  return redactUrl(fullPath(config));
}

// eslint-disable-next-line no-control-regex -- exactly the characters a log line must not carry raw
const CONTROL = /[\x00-\x1f\x7f]/g;

/** How hook payloads, channel messages and debug lines name a request: method and redacted URL. */
export function requestLabel(config: Target & { method?: string | undefined }): { method: string; url: string } {
  // Control characters (a newline the URL parser would drop) never reach a log line raw.
  const url = targetOf(config).replace(CONTROL, (c) => encodeURIComponent(c));
  return { method: (config.method ?? 'get').toUpperCase(), url };
}

/**
 * A redacted copy of an axios error's `toJSON()`: header secrets, basic-auth and proxy
 * credentials (user and password) and URL userinfo replaced. Used as the `toJSON` of the guard's final errors.
 */
export function redactErrorJSON(json: unknown, secrets: ReadonlySet<string> = DEFAULT_SECRETS): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const out = { ...(json as Record<string, unknown>) };
  const config = out.config;
  if (typeof config === 'object' && config !== null) {
    const c = { ...(config as Record<string, unknown>) };
    if (c.headers !== undefined) c.headers = redactHeaders(c.headers, secrets);
    // A URL object would serialize to its href, password included.
    for (const key of ['url', 'baseURL']) {
      const text = urlText(c[key]);
      if (text !== undefined) c[key] = redactUrl(text);
    }
    // A URL passed as a query parameter carries its userinfo as well.
    if (typeof c.params === 'object' && c.params !== null) {
      const params: Record<string, unknown> = {};
      for (const [name, value] of Object.entries(c.params))
        params[name] = typeof value === 'string' ? redactUrl(value) : value;
      c.params = params;
    }
    // The user part too: for many APIs it is the key itself (`sk_live_...`).
    if (typeof c.auth === 'object' && c.auth !== null) c.auth = { username: REDACTED, password: REDACTED };
    if (typeof c.proxy === 'object' && c.proxy !== null) {
      const proxy = { ...(c.proxy as Record<string, unknown>) };
      if (typeof proxy.auth === 'object' && proxy.auth !== null)
        proxy.auth = { username: REDACTED, password: REDACTED };
      c.proxy = proxy;
    }
    // Agents serialize to their whole socket pools: name them instead.
    for (const key of ['httpAgent', 'httpsAgent']) {
      const agent = c[key];
      if (typeof agent === 'object' && agent !== null) c[key] = `[${agent.constructor.name}]`;
    }
    // Request and response bodies stay out of logs altogether.
    if (c.data !== undefined) c.data = REDACTED;
    out.config = c;
  }
  return out;
}

/** A frozen payload whose enumerable fields are safe to log; `raw` fields are non-enumerable. */
export function payload<T extends object>(summary: Omit<T, 'error' | 'config'>, raw: Record<string, unknown>): T {
  for (const [key, value] of Object.entries(raw)) Object.defineProperty(summary, key, { value, enumerable: false });
  return Object.freeze(summary) as T;
}
