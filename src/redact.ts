import { urlText } from './url-text';

/** Header names whose values never leave the guard in diagnostics, hook payloads or error JSON. */
export const SECRET_HEADERS: readonly string[] = Object.freeze([
  'authorization',
  'proxy-authorization',
  'cookie',
  'set-cookie',
]);

/**
 * Query parameter names (case-insensitive) whose values never leave the guard: the
 * OpenTelemetry semantic conventions' list for `url.query`, signed URLs' (AWS SigV4, GCS)
 * and OAuth's, and the usual names of keys and passwords.
 */
export const SECRET_QUERY: readonly string[] = /* @__PURE__ */ Object.freeze([
  'AWSAccessKeyId',
  'Signature',
  'sig',
  'X-Goog-Signature',
  'X-Goog-Credential',
  'X-Amz-Signature',
  'X-Amz-Credential',
  'X-Amz-Security-Token',
  'access_token',
  'refresh_token',
  'id_token',
  'token',
  'api_key',
  'apikey',
  'key',
  'password',
  'secret',
  'client_secret',
  'code',
]);

// TLS options (node:tls, node:http2) that hold a private key, its passphrase or a session's
// secrets; the certificates go too: long, and a client certificate names its holder.
const SECRET_TLS = ['key', 'passphrase', 'pfx', 'cert', 'ca', 'session', 'ticketKeys', 'privateKeyIdentifier'];

const REDACTED = '[redacted]';

/** What the guard keeps out of its outputs: lower-case header and query parameter names. */
export interface Secrets {
  /** Header names: {@link SECRET_HEADERS} and `redactHeaders`. */
  readonly headers: ReadonlySet<string>;
  /** Query parameter names: {@link SECRET_QUERY} and `redactQuery`. */
  readonly query: ReadonlySet<string>;
}

/**
 * The one place that decides what is secret: the fixed lists plus the user's
 * `redactHeaders` and `redactQuery`, compared without case.
 */
export function secretsOf(extra: { redactHeaders?: readonly string[]; redactQuery?: readonly string[] } = {}): Secrets {
  const lower = (names: readonly string[]): string[] => names.map((name) => name.toLowerCase());
  return Object.freeze({
    headers: new Set(lower([...SECRET_HEADERS, ...(extra.redactHeaders ?? [])])),
    query: new Set(lower([...SECRET_QUERY, ...(extra.redactQuery ?? [])])),
  });
}

// Pure, so that a bundle without redaction (the browser entry) drops the lists and patterns.
const DEFAULT_SECRETS = /* @__PURE__ */ secretsOf();

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
  secrets: ReadonlySet<string> = DEFAULT_SECRETS.headers,
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

// A character written out, or percent-encoded once or more (an app may decode a parameter twice).
const enc = (char: string, hex: string): string => `(?:${char}|%(?:25)*${hex})`;

let compiled: { readonly userinfo: readonly RegExp[]; readonly param: RegExp } | undefined;

/**
 * The sweep's patterns, compiled on first use (the browser bundle, which never redacts,
 * drops them):
 * - `userinfo`: URLs inside a string (a query parameter, a path) lose their userinfo too:
 *   after a special scheme with any number of slashes, none included (`http:/u:p@`,
 *   `http:u:p@`), or after `//`; written out or percent-encoded, spaces and '@'s in it included.
 *   Greedy, so that it ends at the last '@' before the authority does, as the WHATWG parser
 *   splits it; bounded, so that a long string with many schemes in it costs no quadratic time.
 * - `param`: a query (or fragment, or path `;`) parameter, written out or inside an encoded
 *   URL: separator, name, '=', value. A value ends where another parameter or a query
 *   starts, so that a URL passed as `next=` has its own query read too.
 */
function patterns(): NonNullable<typeof compiled> {
  if (compiled !== undefined) return compiled;
  const slash = enc('[\\\\/]', '(?:2F|5C)');
  // where an authority ends: a path, query or fragment begins, or the enclosing parameter does
  const authorityEnd = enc('[\\\\/?#&]', '(?:2F|5C|3F|23|26)');
  const userinfo = `(?:(?!${authorityEnd})[^\\r\\n]){0,4096}`;
  const at = enc('@', '40');
  const start = enc('[?&;#]', '(?:3F|26|3B|23)');
  const equals = enc('=', '3D');
  compiled = {
    userinfo: [
      new RegExp(
        `((?<=^|[^a-z0-9+.-]|%[0-9a-f]{2})(?:https?|wss?|ftp)${enc(':', '3A')}${slash}*)${userinfo}(${at})`,
        'gi',
      ),
      new RegExp(`(${slash}{2})${userinfo}(${at})`, 'gi'),
    ],
    param: new RegExp(`(${start})((?:(?!${start}|${equals})\\S)+)(${equals})(?:(?!${start}).)+`, 'gi'),
  };
  return compiled;
}

/** A parameter's name as a server reads it: decoded (twice at most more), lower case. */
function paramName(raw: string): string {
  let name = raw;
  for (let i = 0; i < 3 && name.includes('%'); i += 1) {
    try {
      name = decodeURIComponent(name);
    } catch {
      break;
    }
  }
  return name.toLowerCase();
}

/**
 * True when a query parameter of this name is secret: by its name, or its last `[key]`
 * (`user[password]`), list brackets aside (`sig[]`, `user[password][0]`, as qs reads them).
 */
function isSecretParam(raw: string, names: ReadonlySet<string>): boolean {
  let name = paramName(raw);
  // A loop, not a regex anchored at the end: that one would retry from every '[' (quadratic).
  for (let open = name.lastIndexOf('['); name.endsWith(']') && open >= 0; open = name.lastIndexOf('[')) {
    if (!/^\d*$/.test(name.slice(open + 1, -1))) break;
    name = name.slice(0, open);
  }
  return names.has(name) || names.has(lastKey(name) ?? name);
}

/** The `key` of a name ending in `[key]`, found without a regex anchored at the end (quadratic on `[[[[`). */
function lastKey(name: string): string | undefined {
  const open = name.lastIndexOf('[');
  const key = name.endsWith(']') && open >= 0 ? name.slice(open + 1, -1) : undefined;
  return key?.includes(']') ? undefined : key;
}

/** `text` with the values of secret query parameters replaced, at any depth of encoding. */
function redactQuery(text: string, names: ReadonlySet<string>): string {
  return text.replace(patterns().param, (whole, start: string, name: string, eq: string) =>
    isSecretParam(name, names) ? `${start}${name}${eq}${REDACTED}` : whole,
  );
}

/**
 * `url` as the WHATWG parser reads it before parsing: without edge spaces and C0 controls, nor
 * inner tabs and newlines. The trailing run is cut by a loop: a regex ending in `+$` retries
 * from every character of a long inner run of spaces (quadratic).
 */
function asParserReads(url: string): string {
  let start = 0;
  let end = url.length;
  while (start < end && url.charCodeAt(start) <= 0x20) start += 1;
  while (end > start && url.charCodeAt(end - 1) <= 0x20) end -= 1;
  return url.slice(start, end).replace(/[\t\n\r]/g, '');
}
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
 * user part, nor the values of secret query parameters (`sig=`, `access_token=`...; see
 * {@link SECRET_QUERY}). The URL is read as axios's http adapter reads it, with the WHATWG parser
 * (so `' http://u:p@h'`, `'http:\\\\u:p@h'` and `'http:u:p@h'` lose theirs too); a
 * string that parser rejects loses anything that looks like userinfo.
 */
export function redactUrl(url: string, query: ReadonlySet<string> = DEFAULT_SECRETS.query): string {
  const parsed = parseUrl(url) ?? parseUrl(url, RELATIVE_BASE);
  // What is sent: the parser drops tabs and newlines, so `s\tig=` goes out as `sig=`.
  let out = parsed === undefined ? url : asParserReads(url);
  if (parsed === undefined) {
    // Not sendable as it is, but it may still be logged: drop whatever precedes an '@' in the authority.
    // eslint-disable-next-line no-control-regex -- edge controls, as the parser sees them
    out = url.replace(/^([\x00-\x20]*(?:[a-z][a-z0-9+.-]*:)?[\\/]*)[^/\\?#]*@/i, `$1${REDACTED}@`);
  } else if (parsed.username !== '' || parsed.password !== '') {
    const cleaned = asParserReads(url);
    // As written: absolute, or relative to the scheme (`//u:p@host/x`, joined to a base).
    const scheme = /^[a-z][a-z0-9+.-]*:/i.test(cleaned) ? parsed.protocol : '';
    out = `${scheme}//${REDACTED}@${parsed.host}${parsed.pathname}${parsed.search}${parsed.hash}`;
  }
  const swept = patterns().userinfo.reduce((text, pattern) => text.replace(pattern, `$1${REDACTED}$2`), out);
  return redactQuery(swept, query);
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

/** Where a request went, as one string to show: {@link fullPath} without its userinfo or secret query values. */
export function targetOf(config: Target | undefined, secrets: Secrets = DEFAULT_SECRETS): string {
  return redactUrl(fullPath(config), secrets.query);
}

// eslint-disable-next-line no-control-regex -- exactly the characters a log line must not carry raw
const CONTROL = /[\x00-\x1f\x7f]/g;

/**
 * How hook payloads, channel messages and debug lines name a request: method and redacted URL.
 * `secrets` has no default: the guard's own (`redactQuery` names) must never be forgotten.
 */
export function requestLabel(
  config: Target & { method?: string | undefined },
  secrets: Secrets,
): { method: string; url: string } {
  // Control characters (a newline the URL parser would drop) never reach a log line raw.
  const url = targetOf(config, secrets).replace(CONTROL, (c) => encodeURIComponent(c));
  return { method: (config.method ?? 'get').toUpperCase(), url };
}

/** A copy of TLS options (`http2Options`) without keys, passphrases or certificates. */
function redactTls(options: Record<string, unknown>): Record<string, unknown> {
  const out = { ...options };
  for (const name of SECRET_TLS) if (out[name] !== undefined) out[name] = REDACTED;
  return out;
}

/** A parameter's value: URLs lose their userinfo, nested objects and arrays (`a[]=`, `a[0][token]=`) their secrets. */
function redactParamValue(value: unknown, secrets: Secrets): unknown {
  if (typeof value === 'string') return redactUrl(value, secrets.query);
  if (Array.isArray(value)) return value.map((item: unknown) => redactParamValue(item, secrets));
  if (typeof value === 'object' && value !== null) return redactParams(value, secrets);
  return value;
}

/** Query parameters (`config.params`): secret names lose their values, URLs their userinfo, at any depth. */
function redactParams(params: object, secrets: Secrets): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(params as Record<string, unknown>))
    out[name] = isSecretParam(name, secrets.query) ? REDACTED : redactParamValue(value, secrets);
  return out;
}

/**
 * A redacted copy of an axios error's `toJSON()`: header secrets, basic-auth and proxy
 * credentials (user and password), URL userinfo, secret query values and TLS keys (in
 * `http2Options`) replaced. Used as the `toJSON` of the guard's final errors.
 */
export function redactErrorJSON(json: unknown, secrets: Secrets = DEFAULT_SECRETS): unknown {
  if (typeof json !== 'object' || json === null) return json;
  const out = { ...(json as Record<string, unknown>) };
  const config = out.config;
  if (typeof config === 'object' && config !== null) {
    const c = { ...(config as Record<string, unknown>) };
    if (c.headers !== undefined) c.headers = redactHeaders(c.headers, secrets.headers);
    // A URL object would serialize to its href, password included.
    for (const key of ['url', 'baseURL']) {
      const text = urlText(c[key]);
      if (text !== undefined) c[key] = redactUrl(text, secrets.query);
    }
    // Secret names at any depth; a URL passed as a parameter carries its userinfo as well.
    if (typeof c.params === 'object' && c.params !== null) c.params = redactParams(c.params, secrets);
    // The user part too: for many APIs it is the key itself (`sk_live_...`).
    if (typeof c.auth === 'object' && c.auth !== null) c.auth = { username: REDACTED, password: REDACTED };
    if (typeof c.proxy === 'object' && c.proxy !== null) {
      const proxy = { ...(c.proxy as Record<string, unknown>) };
      // Any form axios reads: an auth object, the 'user:password' string axios < 1.16 leaves in its
      // place after a request, or username and password fields as on a proxy URL.
      if (proxy.auth != null) proxy.auth = { username: REDACTED, password: REDACTED };
      for (const key of ['username', 'password']) if (proxy[key] != null) proxy[key] = REDACTED;
      c.proxy = proxy;
    }
    // With httpVersion: 2, TLS options (a client's mTLS key among them) live here, not in an agent.
    if (typeof c.http2Options === 'object' && c.http2Options !== null)
      c.http2Options = redactTls(c.http2Options as Record<string, unknown>);
    // Agents serialize to their whole socket pools and TLS options: name them instead.
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
