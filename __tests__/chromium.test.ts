/**
 * A real browser: Debian's headless Chromium loads a page from a local server on
 * 127.0.0.1. The page script (support/browser-app.ts) is bundled by esbuild with axios and
 * this package resolved by name for platform browser, as a front end bundles them, so the
 * package's `browser` condition gives its browser entry. The page calls the same server: an
 * OK answer, a 503 (a status Node's guard retries) and a closed port. The test reads the
 * page's report back over the DevTools protocol (`--remote-debugging-pipe`, no dependency)
 * and checks it against the Node entry: the same constants, a guard of the same shape with
 * everything at zero, nothing installed on the instance, the 503 sent once.
 *
 * A missing `chromium` skips the test, saying so, except under CI=true where it fails
 * (`.ci/run` installs Debian's chromium package). The browser is closed, then its process
 * group killed if it lingers, on every path. The test fails when nothing progresses (no
 * protocol message, no browser output, no request to the server) for a minute, never
 * because the whole run is slow.
 */
import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import axios from 'axios';
import * as node from '../src';
import { CLOSED_PORT, findChromium, launchChromium, watched, type Chromium, type ChromiumPage } from '../testbed';
import { browserProject, bundle, type BrowserProject } from './support/browser-package';
import type { PageReport } from './support/browser-app';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

const CI = process.env.CI === 'true';
const TITLE = 'headless Chromium runs axios with the browser entry against a local server; the test reads the result';
// A browser's start is one long step on a busy machine: a minute with no sign of life is a hang.
const STALL_MS = 60_000;

interface Served {
  readonly url: string;
  /** Paths requested so far, in order. */
  readonly hits: string[];
  close(): Promise<void>;
}

async function serve(files: Record<string, { type: string; body: string }>, progress: () => void): Promise<Served> {
  const hits: string[] = [];
  const answer = (req: IncomingMessage, res: ServerResponse): void => {
    progress();
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    hits.push(path);
    res.setHeader('cache-control', 'no-store');
    const file = files[path];
    if (file !== undefined) {
      res.setHeader('content-type', file.type);
      res.end(file.body);
    } else if (path === '/api/ok') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true }));
    } else if (path === '/api/unavailable') {
      // A client that retried statuses would resend at once.
      res.writeHead(503, { 'content-type': 'application/json', 'retry-after': '0' });
      res.end(JSON.stringify({ ok: false }));
    } else {
      res.writeHead(404).end();
    }
  };
  const server = createServer(answer);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hits,
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** What the Node entry says the page must see: the same constants, the same zero stats. */
function expectedReport(): Record<string, unknown> {
  const reference = node.attach(axios.create(), { agents: false, retries: 3 });
  const stats = JSON.parse(JSON.stringify(reference.stats())) as unknown;
  reference.detach();
  return {
    userAgent: expect.stringContaining('HeadlessChrome/'),
    nodeGlobals: {
      process: 'undefined',
      require: 'undefined',
      Buffer: 'undefined',
      global: 'undefined',
      setImmediate: 'undefined',
    },
    // No attempt metadata: nothing was installed to make it.
    ok: { status: 200, data: { ok: true }, adapter: 'xhr' },
    unavailable: {
      status: 503,
      classification: {
        kind: 'http-status',
        retryable: false,
        reusedSocket: false,
        responseStarted: true,
        code: 'ERR_BAD_RESPONSE',
        status: 503,
      },
      guardError: false,
    },
    // The browser tells a page nothing about sockets: a refused connection is a network error.
    refused: {
      code: 'ERR_NETWORK',
      classification: {
        kind: 'other',
        retryable: false,
        reusedSocket: false,
        responseStarted: false,
        code: 'ERR_NETWORK',
      },
    },
    interceptors: { before: 0, after: 0 },
    stats,
    agents: {},
    retries: 3,
    attachTwice: { code: 'ERR_RESET_GUARD_ATTACHED', branded: true },
    optionError: { code: 'ERR_RESET_GUARD_OPTION', option: 'retries', branded: true },
    reattached: true,
    client: { status: 200, retries: 1 },
    constants: {
      retries: node.DEFAULTS.retries,
      CHANNELS: { ...node.CHANNELS },
      FAILURE_KINDS: [...node.FAILURE_KINDS],
      RESET_KINDS: [...node.RESET_KINDS],
    },
  };
}

async function run(binary: string, closeLater: (c: { close(): Promise<void> }) => void): Promise<void> {
  let stage = 'building the browser entry';
  let chromium: Chromium | undefined;
  let page: ChromiumPage | undefined;
  let served: Served | undefined;
  const detail = (): string =>
    [
      `while ${stage}`,
      served && `requests: ${served.hits.join(' ')}`,
      page && `page log:\n${page.log.join('\n')}`,
      chromium && `chromium output (tail):\n${chromium.output().slice(-4000)}`,
    ]
      .filter(Boolean)
      .join('\n');

  const report = await watched(
    async (progress) => {
      const project: BrowserProject = await browserProject();
      closeLater({ close: () => Promise.resolve(project.remove()) });
      progress();
      stage = 'bundling the page';
      const app = readFileSync(join(__dirname, 'support', 'browser-app.ts'), 'utf8');
      const pageBundle = await bundle(project, app, { platform: 'browser', format: 'esm' });
      expect(pageBundle.inputs).toEqual(
        expect.arrayContaining([expect.stringMatching(/node_modules\/axios-reset-guard\/dist\/esm\/browser\.mjs$/)]),
      );
      expect(pageBundle.text).not.toMatch(/\brequire\s*\(|["']node:/);
      progress();

      stage = 'starting the server';
      const closedPort = CLOSED_PORT;
      served = await serve(
        {
          '/': {
            type: 'text/html; charset=utf-8',
            body: '<!doctype html><meta charset="utf-8"><title>axios-reset-guard</title><script type="module" src="/app.js"></script>',
          },
          '/app.js': { type: 'text/javascript; charset=utf-8', body: pageBundle.text },
        },
        progress,
      );
      closeLater(served);

      stage = 'starting chromium';
      chromium = launchChromium(binary, progress);
      closeLater(chromium);
      stage = 'loading the page';
      page = await chromium.open(`${served.url}/?closedPort=${closedPort}`);
      stage = 'waiting for the page’s report';
      return page.evaluate<PageReport>('window.resetGuardReport');
    },
    { stallMs: STALL_MS, detail },
  );

  expect(report).toEqual(expectedReport());
  // Each call went out once: the 503 was not resent.
  expect(served?.hits.filter((path) => path.startsWith('/api/'))).toEqual(['/api/ok', '/api/unavailable', '/api/ok']);
  expect(page?.log.filter((line) => line.startsWith('uncaught'))).toEqual([]);
}

const binary = findChromium();
if (binary !== undefined) {
  test(
    TITLE,
    async () => {
      const opened: { close(): Promise<void> }[] = [];
      try {
        await run(binary, (c) => opened.push(c));
      } finally {
        // Last opened, first closed; the browser before the server it talks to.
        for (const resource of opened.reverse()) await resource.close();
      }
    },
    WATCHED_TIMEOUT_MS,
  );
} else if (CI) {
  test(`${TITLE} (chromium is required under CI=true)`, () => {
    throw new Error('chromium not found in PATH or /usr/sbin; .ci/run installs it with apt-get (package chromium)');
  });
} else {
  const reason = 'the chromium binary is missing (not in PATH or /usr/sbin; apt-get install chromium)';
  console.warn(`chromium.test.ts: skipping the browser test: ${reason}`);
  test.skip(`${TITLE} (skipped: ${reason})`, () => undefined);
}
