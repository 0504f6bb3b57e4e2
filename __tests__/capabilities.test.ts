/**
 * Which axios the tests run against (the devDependency, or AXIOS_LINE's release from
 * .ci/axios-lines: jest.config.ts), and what each release can do (src/capabilities.ts): the
 * features that arrived after 1.7.0, and the one-time debug line when HTTP/2 cannot be safe.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import axios from 'axios';
import { atLeast, axiosCapabilities, capabilitiesOf, http2Limit } from '../src/capabilities';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import { runWithDebug } from './support/user-project';

const root = join(__dirname, '..');

describe('the axios under test', () => {
  it('is the release AXIOS_LINE names (else the devDependency), for src/ and the tests alike', () => {
    const line = process.env['AXIOS_LINE'];
    const manifest = line
      ? join(root, '.ci', 'axios-lines', 'node_modules', `axios-${line}`, 'package.json')
      : join(root, 'node_modules', 'axios', 'package.json');
    const { version } = JSON.parse(readFileSync(manifest, 'utf8')) as { version: string };
    console.info(`axios under test: ${axios.VERSION} (${line ? `AXIOS_LINE=${line}` : 'the devDependency'})`);
    expect(axios.VERSION).toBe(version);
    // src/capabilities.ts reads the VERSION of the axios src/ imports
    expect(axiosCapabilities().version).toBe(axios.VERSION);
  });
});

describe('capabilitiesOf', () => {
  const row = (version: string): string[] =>
    Object.entries(capabilitiesOf(version))
      .filter(([name, has]) => name !== 'version' && has === true)
      .map(([name]) => name);

  it('names the features each measured release line has', () => {
    expect(row('1.7.0')).toEqual([]);
    expect(row('1.7.5')).toEqual([]);
    expect(row('1.7.9')).toEqual(['fetchSignals']);
    expect(row('1.13.6')).toEqual(['http2', 'fetchSignals']);
    expect(row('1.16.1')).toEqual(['http2', 'proxyTunnel', 'fetchSignals']);
    expect(row('1.19.0')).toEqual(['http2', 'proxyTunnel', 'proxyTunnelCa', 'fetchSignals']);
    expect(row('1.21.1')).toEqual([
      'http2',
      'http2SessionErrors',
      'proxyTunnel',
      'proxyTunnelCa',
      'fetchManualRedirect',
      'fetchSignals',
    ]);
    expect(Object.isFrozen(capabilitiesOf('1.7.0'))).toBe(true);
  });

  it('compares numerically, and counts an unreadable version as new', () => {
    expect(atLeast('1.10.0', '1.9.9')).toBe(true);
    expect(atLeast('1.9.9', '1.10.0')).toBe(false);
    expect(atLeast('2.0.0', '1.20.0')).toBe(true);
    expect(atLeast('1.20.0-beta.1', '1.20.0')).toBe(true);
    expect(atLeast('', '1.20.0')).toBe(true);
  });
});

describe('http2Limit', () => {
  it('says HTTP/2 is ignored before 1.13.0, unsafe before 1.20.0, and nothing after', () => {
    expect(http2Limit(capabilitiesOf('1.7.9'))).toBe(
      'axios 1.7.9 ignores httpVersion: 2 (it arrived in 1.13.0): these requests go over HTTP/1.1',
    );
    expect(http2Limit(capabilitiesOf('1.19.0'))).toMatch(
      /^axios 1\.19\.0 puts no error listener on its HTTP\/2 sessions \(1\.20\.0 does\).*use axios >= 1\.20\.0 for HTTP\/2$/,
    );
    expect(http2Limit(capabilitiesOf('1.20.0'))).toBeUndefined();
  });

  it(
    'is printed once per process under NODE_DEBUG=axios-reset-guard',
    async () => {
      const run = await runWithDebug('axios-limit-child.ts', 'axios-reset-guard');
      expect(run.code).toBe(0);
      const { lines } = run;
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(/axios 1\.13\.6 puts no error listener on its HTTP\/2 sessions/);
    },
    WATCHED_TIMEOUT_MS,
  );
});
