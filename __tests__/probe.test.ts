/** The `probe` command against real servers on loopback. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import net, { type AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { main } from '../src/cli';
import { probe, type ProbeReport } from '../src/probe';
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
    expect(report.recommendedFreeSocketTimeout).toBeLessThan(1500);
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

it('prints the hint, the limit and a snippet to paste; quiet progress when not a TTY', async () => {
  const server = await startHttpServer({ keepAliveTimeout: 60_000 });
  try {
    const { code, out, err } = await cli(['probe', server.url, '--max', '0.5']);
    expect(code).toBe(0);
    expect(out).toContain('idle limit: none within 0.50 s');
    expect(out).toContain('Keep-Alive hint: timeout=60');
    expect(out).toContain('attach(api, { freeSocketTimeout: 4000 });');
    expect(err).toBe('');
  } finally {
    await server.close();
  }
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
