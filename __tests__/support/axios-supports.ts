/**
 * What the axios under test can do (the devDependency, or the release AXIOS_LINE names:
 * jest.config.ts), for tests of features older releases lack. A test of such a feature is
 * skipped there with the reason in its name and on the console, never silently; the
 * guard's own behaviour is never gated this way.
 */
import { axiosCapabilities, SINCE } from '../../src/capabilities';

export type AxiosFeature = keyof typeof SINCE;

const WHAT: Readonly<Record<AxiosFeature, string>> = {
  http2: 'HTTP/2 (httpVersion: 2)',
  http2SessionErrors: 'an error listener on its HTTP/2 sessions (a session reset or GOAWAY error ends the process)',
  proxyTunnel: 'a CONNECT tunnel for https through a proxy',
  proxyTunnelCa: "the agent's ca in its proxy tunnel",
  fetchManualRedirect: "redirect: 'manual' for maxRedirects: 0 on the fetch adapter",
  fetchSignals: 'cancel tokens and a timeout through the body on the fetch adapter',
};

/** Node publishes its HTTP/2 client streams (22 and later): the guard then shelters sessions itself. */
export const NODE_SHOWS_H2_STREAMS = Number(process.versions.node.split('.')[0]) >= 22;

/** Why the axios under test cannot run a test needing `features`, or `undefined` when it can. */
export function lacking(...features: AxiosFeature[]): string | undefined {
  const capabilities = axiosCapabilities();
  const missing = features.find((feature) => !capabilities[feature]);
  if (missing === undefined) return undefined;
  return `axios ${capabilities.version} lacks ${WHAT[missing]} (since ${SINCE[missing]})`;
}

/**
 * For an HTTP/2 test whose server resets a session or ends it with a GOAWAY error: axios
 * before 1.20.0 leaves that session error unhandled, which the guard catches only where Node
 * shows it the session (22 and later); elsewhere it would end the test process.
 */
export function lackingSessionSafety(): string | undefined {
  return lacking('http2') ?? (NODE_SHOWS_H2_STREAMS ? undefined : lacking('http2SessionErrors'));
}

function told(name: string, why: string): string {
  const label = `${name} [skipped: ${why}]`;
  console.info(`skipped: ${label}`);
  return label;
}

type Body = (...args: never[]) => unknown;

/**
 * `describe` (or `it`), or its `.skip` with the reason in the name and on the console when
 * `why` says the axios under test lacks a feature; `.each` works on both.
 */
function unless<T extends typeof describe | typeof it>(run: T, why: string | undefined): T {
  if (why === undefined) return run;
  const skip = run.skip as unknown as (name: string, body: Body, timeout?: number) => void;
  const each = (run.skip as unknown as { each: (table: unknown) => typeof skip }).each;
  const gated = (name: string, body: Body, timeout?: number): void => skip(told(name, why), body, timeout);
  gated.each =
    (table: unknown) =>
    (name: string, body: Body, timeout?: number): void =>
      each(table)(told(name, why), body, timeout);
  return gated as unknown as T;
}

/** `describe`, or `describe.skip` with the reason printed when the axios under test lacks a feature. */
export function describeUnless(why: string | undefined): typeof describe {
  return unless(describe, why);
}

/** `it`, or `it.skip` with the reason printed when the axios under test lacks a feature. */
export function itUnless(why: string | undefined): typeof it {
  return unless(it, why);
}
