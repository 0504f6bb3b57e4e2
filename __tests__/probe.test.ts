/** The `probe` command against real servers on loopback. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { main } from '../src/cli';
import type { KeepAliveHint } from '../src/internals';
import { advise, probe, type ProbeAdvice, type ProbeReport } from '../src/probe';
import { idleClosingServer, startHttpServer, startIdleDropProxy } from '../testbed';

function sink(): Writable & { text: string; isTTY?: boolean } {
  const w = new Writable({
    write(chunk: Buffer, _enc, done) {
      w.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out = sink();
  const err = sink();
  const code = await main(args, out, err);
  return { code, out: out.text, err: err.text };
}

it('times a graceful idle close (FIN after 1.5 s) within ±0.3 s', async () => {
  const server = await idleClosingServer(1500);
  try {
    // bounded by maxMs (plus a refinement pass): jest's test timeout catches a probe that overruns
    const report = await probe(server.url, { maxMs: 3000 });
    expect(report.kind).toBe('graceful-close');
    expect(report.lowMs).toBeGreaterThanOrEqual(1200);
    expect(report.highMs).toBeLessThanOrEqual(1800);
    expect(report).toMatchObject({ advice: 'set', hint: undefined });
    expect(report.recommendedFreeSocketTimeout).toBeLessThan(1500);
    expect(report.effectiveFreeSocketTimeout).toBe(report.recommendedFreeSocketTimeout);
  } finally {
    await server.close();
  }
});

it('brackets a silent drop (proxy at 0.8 s) within ±0.3 s and reports JSON through the CLI', async () => {
  const origin = await startHttpServer({ keepAliveTimeout: 0 });
  const proxy = await startIdleDropProxy(origin.port, 800);
  try {
    const { code, out } = await cli(['probe', proxy.url, '--max', '2', '--json']);
    expect(code).toBe(0);
    const report = JSON.parse(out) as ProbeReport;
    expect(report.kind).toBe('silent-drop');
    expect(report.lowMs).toBeGreaterThanOrEqual(500);
    expect(report.highMs).toBeLessThanOrEqual(1100);
    expect(report.lowMs).toBeLessThanOrEqual(report.highMs);
    expect(report.hint).toBeUndefined();
  } finally {
    await Promise.all([proxy.close(), origin.close()]);
  }
});

it('--max shorter than the limit: says so and asks for a rerun, no value to paste; quiet progress when not a TTY', async () => {
  const server = await startHttpServer({ keepAliveTimeout: 60_000 });
  try {
    const { code, out, err } = await cli(['probe', server.url, '--max', '0.5']);
    expect(code).toBe(0);
    expect(out).toContain('idle limit: none within 0.50 s');
    expect(out).toContain('Keep-Alive hint: timeout=60');
    expect(out).toContain('nothing closed within 0.50 s: rerun with a larger --max (at least 5 s,');
    expect(out).not.toContain('attach(');
    expect(err).toBe('');
  } finally {
    await server.close();
  }
});

describe('which of freeSocketTimeout and the Keep-Alive hint takes effect', () => {
  const hint = (timeoutSeconds: number | undefined): KeepAliveHint => ({ timeoutSeconds, max: undefined });

  it.each<[string, Parameters<typeof advise>, ReturnType<typeof advise>]>([
    ['limit 1.5 s, no hint: set 1125', ['graceful-close', 1500, 3000, undefined], set(1125)],
    ['limit 1.5 s, timeout=5 allows 4000: freeSocketTimeout wins', ['graceful-close', 1500, 3000, hint(5)], set(1125)],
    [
      'limit 1.5 s, timeout=2 allows 1000: the hint wins',
      ['graceful-close', 1500, 3000, hint(2)],
      other('hint-wins', 1000),
    ],
    ['timeout=1 (or 0): no reuse at all', ['silent-drop', 8000, 65_000, hint(1)], other('no-reuse', 0)],
    [
      'limit 60 s, timeout=75: the default stays under both',
      ['silent-drop', 60_000, 65_000, hint(75)],
      other('keep-default', 4000),
    ],
    [
      'none within 65 s: the default is safe',
      ['none-within-max', 65_000, 65_000, undefined],
      other('keep-default', 4000),
    ],
    [
      'none within 65 s, timeout=3: the hint wins',
      ['none-within-max', 65_000, 65_000, hint(3)],
      other('hint-wins', 2000),
    ],
    ['none within 4.9 s: cannot tell', ['none-within-max', 4900, 4900, hint(60)], other('rerun', undefined)],
  ])('%s', (_name, args, expected) => {
    expect(advise(...args)).toEqual(expected);
  });

  function set(ms: number): ReturnType<typeof advise> {
    return { advice: 'set', recommendedFreeSocketTimeout: ms, effectiveFreeSocketTimeout: ms };
  }
  function other(advice: ProbeAdvice, effective: number | undefined): ReturnType<typeof advise> {
    return { advice, recommendedFreeSocketTimeout: undefined, effectiveFreeSocketTimeout: effective };
  }

  it('says which wins against real servers that close idle connections at 1.5 s and announce 2 s, 5 s or 1 s', async () => {
    const servers = await Promise.all([
      idleClosingServer(1500, 'timeout=2'),
      idleClosingServer(1500, 'timeout=5'),
      idleClosingServer(1500, 'timeout=1'),
    ]);
    try {
      const [short, long, none] = await Promise.all([
        cli(['probe', servers[0].url, '--max', '2']),
        cli(['probe', servers[1].url, '--max', '2']),
        cli(['probe', servers[2].url, '--max', '0.5']),
      ]);
      expect(short.out).toMatch(
        /the hint wins: the guard's agents keep a free socket at most 1000 ms \(one second under timeout=2\)/,
      );
      expect(short.out).not.toContain('attach(');
      expect(long.out).toMatch(
        /recommended freeSocketTimeout: \d+ ms \(a quarter under the limit\); it wins over the hint \(timeout=5/,
      );
      expect(long.out).toMatch(/attach\(api, \{ freeSocketTimeout: \d+ \}\);/);
      expect(none.out).toContain('the hint wins: timeout=1 leaves no idle time');
      expect(none.out).not.toContain('attach(');
    } finally {
      await Promise.all(servers.map((s) => s.close()));
    }
  });
});

it('fails with one clear line and a non-zero exit on bad input or an unusable peer', async () => {
  expect(await cli(['probe'])).toMatchObject({ code: 2, err: expect.stringContaining('usage:') });
  expect(await cli(['--help'])).toMatchObject({ code: 0, out: expect.stringContaining('usage:') });
  const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')) as { version: string };
  expect(await cli(['--version'])).toMatchObject({ code: 0, out: `${version}\n` });
  expect(await cli(['probe', 'http://x', '--max', 'soon'])).toMatchObject({
    code: 2,
    err: expect.stringContaining('--max'),
  });
  expect(await cli(['probe', 'not a url'])).toMatchObject({
    code: 1,
    err: 'axios-reset-guard: not a URL: "not a url"\n',
  });
  expect(await cli(['probe', 'ftp://127.0.0.1/'])).toMatchObject({
    code: 1,
    err: expect.stringContaining('only http: and https:'),
  });
  const refused = await cli(['probe', 'http://127.0.0.1:1/']);
  expect(refused).toMatchObject({ code: 1, err: expect.stringContaining('ECONNREFUSED') });
  expect(refused.err.split('\n')).toHaveLength(2);

  // a peer that speaks something other than HTTP
  const sockets = new Set<net.Socket>();
  const garbage = net.createServer((s) => {
    sockets.add(s);
    s.end('SSH-2.0-OpenSSH_9.2\r\n');
  });
  await new Promise<void>((r) => garbage.listen(0, '127.0.0.1', r));
  try {
    const { port } = garbage.address() as AddressInfo;
    const res = await cli(['probe', `http://127.0.0.1:${port}/`]);
    expect(res.code).toBe(1);
    expect(res.err).toMatch(/^axios-reset-guard: .*(did not answer HTTP|cannot reach)/);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => garbage.close(r));
  }
});
