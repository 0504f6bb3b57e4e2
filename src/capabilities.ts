/**
 * What the installed axios can do, for the features that arrived after 1.7.0 (the oldest
 * release the package supports; the matrix in docs/runtimes.md measured each row). They all
 * live inside axios's adapters, where nothing short of sending a request shows them, so the
 * release number is the only reading here; the one fact the guard acts on while it runs
 * (whether an HTTP/2 session has an error listener) it reads from the session itself (h2.ts).
 */
import axios from 'axios';

/** The features of the installed axios that the guard, its docs and its tests depend on. */
export interface AxiosCapabilities {
  /** `axios.VERSION`. */
  readonly version: string;
  /** `httpVersion: 2` is honoured (1.13.0); before, axios sends HTTP/1.1 whatever it says. */
  readonly http2: boolean;
  /**
   * axios listens for its HTTP/2 sessions' errors (1.20.0). Before, a TCP reset under a
   * session is an uncaught exception that ends the process, unless someone else listens.
   */
  readonly http2SessionErrors: boolean;
  /** https through an http proxy goes through a CONNECT tunnel (1.16.1). */
  readonly proxyTunnel: boolean;
  /** That tunnel's TLS trusts the agent's `ca` (1.17.0). */
  readonly proxyTunnelCa: boolean;
  /** The fetch adapter sends `maxRedirects: 0` as `redirect: 'manual'` (1.20.0). */
  readonly fetchManualRedirect: boolean;
  /**
   * The fetch adapter honours a `cancelToken`, and its `timeout` runs until the body's end
   * (1.7.6); before, it ignores the token and stops the timer when the headers arrive.
   */
  readonly fetchSignals: boolean;
}

/** The first release of each feature. */
export const SINCE = Object.freeze({
  http2: '1.13.0',
  http2SessionErrors: '1.20.0',
  proxyTunnel: '1.16.1',
  proxyTunnelCa: '1.17.0',
  fetchManualRedirect: '1.20.0',
  fetchSignals: '1.7.6',
} satisfies Record<Exclude<keyof AxiosCapabilities, 'version'>, string>);

/** `major.minor.patch` as numbers; `undefined` for anything else. */
function parse(version: string): [number, number, number] | undefined {
  const match = /^(\d+)\.(\d+)\.(\d+)/.exec(version);
  return match === null ? undefined : [Number(match[1]), Number(match[2]), Number(match[3])];
}

/** `version` is `since` or later; an unreadable version counts as new (a build of axios's own). */
export function atLeast(version: string, since: string): boolean {
  const have = parse(version);
  const need = parse(since);
  if (have === undefined || need === undefined) return true;
  for (let i = 0; i < 3; i += 1) {
    if (have[i] !== need[i]) return have[i]! > need[i]!;
  }
  return true;
}

/** The capabilities of axios `version` (pure: the tests ask it of each release line). */
export function capabilitiesOf(version: string): AxiosCapabilities {
  const has = (since: string): boolean => atLeast(version, since);
  return Object.freeze({
    version,
    http2: has(SINCE.http2),
    http2SessionErrors: has(SINCE.http2SessionErrors),
    proxyTunnel: has(SINCE.proxyTunnel),
    proxyTunnelCa: has(SINCE.proxyTunnelCa),
    fetchManualRedirect: has(SINCE.fetchManualRedirect),
    fetchSignals: has(SINCE.fetchSignals),
  });
}

let installed: AxiosCapabilities | undefined;

/** The capabilities of the axios this package loads (read once, at the first attach). */
export function axiosCapabilities(): AxiosCapabilities {
  installed ??= capabilitiesOf(typeof axios.VERSION === 'string' ? axios.VERSION : '');
  return installed;
}

/**
 * What `httpVersion: 2` cannot do on this axios, said once in the guard's debug output
 * (`undefined` when nothing): HTTP/1.1 instead, or sessions whose reset ends the process.
 */
export function http2Limit(capabilities: AxiosCapabilities): string | undefined {
  const { version } = capabilities;
  if (!capabilities.http2) {
    return `axios ${version} ignores httpVersion: 2 (it arrived in ${SINCE.http2}): these requests go over HTTP/1.1`;
  }
  if (capabilities.http2SessionErrors) return undefined;
  return (
    `axios ${version} puts no error listener on its HTTP/2 sessions (${SINCE.http2SessionErrors} does): the guard ` +
    'adds one to each session Node shows it (Node 22 and later); elsewhere a TCP reset under a session is an ' +
    `uncaught exception that ends the process: use axios >= ${SINCE.http2SessionErrors} for HTTP/2`
  );
}
