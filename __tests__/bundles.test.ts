/**
 * The package bundled by esbuild the way a front end or an edge function bundles it: by
 * name, through its export conditions, together with axios. For the browser (platform
 * browser), for Vercel's edge runtime (`edge-light`) and Cloudflare's (`workerd`) on
 * platform neutral, and through `require` as Jest's jsdom environment and Metro load it.
 * Each bundle must pick the browser entry and axios's browser build and hold no Node
 * built-in: no `node:` specifier, no import or `require` of http, net, crypto, ... The
 * edge bundle then runs in a V8 context with a worker's globals and none of Node's
 * (no process, require, Buffer), against a local server.
 */
import { createServer } from 'node:http';
import { builtinModules } from 'node:module';
import type { AddressInfo } from 'node:net';
import { createContext, runInContext } from 'node:vm';
import { gzipSync } from 'node:zlib';
import axios from 'axios';
import type { BuildOptions } from 'esbuild';
import * as node from '../src';
import { browserProject, bundle, type BrowserProject, type Bundle } from './support/browser-package';

jest.setTimeout(60_000);

const BROWSER_ENTRY = /(^|\/)node_modules\/axios-reset-guard\/dist\/esm\/browser\.mjs$/;
const BROWSER_CJS = /(^|\/)node_modules\/axios-reset-guard\/dist\/cjs\/browser\.js$/;
const AXIOS_NODE = /(^|\/)node_modules\/axios\/(lib\/adapters\/http\.js|lib\/platform\/node\/|dist\/node\/)/;

// Every shape of a Node built-in in bundled code: `from "http"`, `import("node:net")`,
// `require('crypto')`, `import "util"`.
const builtins = builtinModules.filter((name) => !name.startsWith('_')).map((name) => name.replace(/\//g, '\\/'));
const BUILTIN_IMPORT = new RegExp(
  String.raw`(\bfrom\s*|\bimport\s*\(?\s*|\brequire\s*\(\s*)["'](node:[\w/]+|(${builtins.join('|')}))["']`,
);

/** What a bundle must not hold, whatever the runtime. */
function expectNoNodeBuiltin(output: Bundle): void {
  expect(output.text).not.toMatch(/["']node:/);
  expect(output.text.match(BUILTIN_IMPORT)).toBeNull();
  expect(output.text).not.toMatch(/\brequire\s*\(/);
  expect(output.inputs.filter((input) => input.startsWith('node:') || AXIOS_NODE.test(input))).toEqual([]);
  // esbuild leaves nothing to resolve at run time: every import was bundled.
  const imports = Object.values(output.metafile.outputs).flatMap((file) => file.imports);
  expect(imports.filter((i) => i.external === true).map((i) => i.path)).toEqual([]);
}

// The same program for every runtime: it uses every export of the public API.
const APP = `
import axios from 'axios';
import * as guard from 'axios-reset-guard';

export async function run(baseURL: string) {
  const api = axios.create({ baseURL });
  const attached = guard.attach(api, { retries: 2 });
  const ok = await api.get('/ok');
  const failed = await api.get('/unavailable').then(() => undefined, (error: unknown) => error);
  let optionError: unknown;
  try {
    guard.attach(axios.create(), { retries: -1 });
  } catch (error) {
    optionError = error;
  }
  const client = guard.createClient({ retries: 1 }, { baseURL });
  const report = {
    names: Object.keys(guard).sort(),
    ok: { status: ok.status, data: ok.data, attempt: guard.attemptOf(ok) ?? null },
    failed: {
      classification: guard.classify(failed),
      failure: guard.failureOf(failed) ?? null,
      guardError: guard.isResetGuardError(failed),
    },
    optionError: {
      option: optionError instanceof guard.ResetGuardOptionError ? optionError.option : null,
      branded: guard.isResetGuardError(optionError),
    },
    attachTwice: (() => {
      try {
        guard.attach(api);
        return null;
      } catch (error) {
        return error instanceof guard.ResetGuardAttachError ? error.code : String(error);
      }
    })(),
    stats: attached.stats(),
    clientRetries: client.guard.options.retries,
    constants: {
      retries: guard.DEFAULTS.retries,
      channels: guard.CHANNELS,
      failureKinds: guard.FAILURE_KINDS,
      resetKinds: guard.RESET_KINDS,
    },
  };
  attached.detach();
  client.guard.detach();
  return report;
}
`;

let project: BrowserProject;

beforeAll(async () => {
  project = await browserProject();
}, 120_000);

afterAll(() => project?.remove());

describe('platform browser (webpack, Vite, esbuild for a front end)', () => {
  let output: Bundle;
  beforeAll(async () => {
    output = await bundle(project, APP, { platform: 'browser', format: 'esm' });
  });

  test('picks the browser entry, a real ES module, and nothing of the Node entry', () => {
    expect(output.inputs.filter((input) => BROWSER_ENTRY.test(input))).toHaveLength(1);
    expect(output.inputs.filter((input) => /axios-reset-guard\/dist\/(?!esm\/browser\.mjs)/.test(input))).toEqual([]);
  });

  test("picks axios's browser build: its browser platform and the xhr and fetch adapters, not the http one", () => {
    expect(output.inputs).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/node_modules\/axios\/lib\/platform\/browser\/index\.js$/),
        expect.stringMatching(/node_modules\/axios\/lib\/adapters\/xhr\.js$/),
        expect.stringMatching(/node_modules\/axios\/lib\/adapters\/fetch\.js$/),
      ]),
    );
  });

  test('holds no Node built-in', () => expectNoNodeBuiltin(output));

  test('size: the entry alone and with axios, minified (printed)', async () => {
    const alone = await bundle(project, `export * from 'axios-reset-guard';`, {
      platform: 'browser',
      format: 'esm',
      minify: true,
      external: ['axios'],
    });
    const withAxios = await bundle(project, `export * from 'axios-reset-guard'; export { default } from 'axios';`, {
      platform: 'browser',
      format: 'esm',
      minify: true,
    });
    const axiosAlone = await bundle(project, `export { default } from 'axios';`, {
      platform: 'browser',
      format: 'esm',
      minify: true,
    });
    const size = (b: Bundle): string => `${b.text.length} B (${gzipSync(b.text).length} B gzip)`;
    console.log(
      `browser entry minified: ${size(alone)}; with axios: ${size(withAxios)}; axios alone: ${size(axiosAlone)}`,
    );
    // A small entry: the inert guard, the classifier and the constants, no retry machinery.
    // 17,000 B since 0.2.0 (was 16,000): the classifier reads the cut-body facts of every axios
    // from 1.7 and URL objects, and the options schema grew a seam group (16,074 B then).
    expect(alone.text.length).toBeLessThan(17_000);
    expect(withAxios.text.length - axiosAlone.text.length).toBeLessThan(17_000);
  });
});

// esbuild applies axios's package.json "browser" field (which swaps out its http adapter
// and Node platform) only on platform browser: on neutral, axios's own import resolves to
// code that imports http and crypto, guard or no guard. Bundlers for edge runtimes apply
// that field (Next.js's webpack; wrangler bundles on esbuild's browser platform); here
// axios is named by its browser build, the file its exports give `browser` + `require`.
describe.each([
  ['Vercel edge (edge-light)', ['edge-light', 'worker', 'browser', 'module', 'import']],
  ['Cloudflare Workers (workerd)', ['workerd', 'worker', 'browser']],
])('platform neutral, %s', (_name, conditions) => {
  const options: BuildOptions = {
    platform: 'neutral',
    conditions,
    mainFields: ['browser', 'module', 'main'],
    alias: { axios: 'axios/dist/browser/axios.cjs' },
  };
  let output: Bundle;
  beforeAll(async () => {
    output = await bundle(project, APP, { ...options, format: 'esm' });
  });

  test("picks the browser entry and axios's browser build", () => {
    expect(output.inputs.filter((input) => BROWSER_ENTRY.test(input))).toHaveLength(1);
    expect(output.inputs.filter((input) => /node_modules\/axios\//.test(input))).toEqual([
      expect.stringMatching(/node_modules\/axios\/dist\/browser\/axios\.cjs$/),
    ]);
  });

  test('holds no Node built-in', () => expectNoNodeBuiltin(output));

  test("runs where there is no process, require or Buffer: a worker's globals only, axios on fetch", async () => {
    const script = await bundle(project, `${APP}\n(globalThis as any).edgeApp = { run };`, {
      ...options,
      format: 'iife',
    });
    const sandbox = createContext({
      fetch,
      Request,
      Response,
      Headers,
      FormData,
      Blob,
      ReadableStream,
      TextEncoder,
      TextDecoder,
      URL,
      URLSearchParams,
      AbortController,
      AbortSignal,
      Event,
      EventTarget,
      crypto,
      structuredClone,
      queueMicrotask,
      setTimeout,
      clearTimeout,
      console,
    });
    runInContext(script.text, sandbox);
    expect(runInContext('[typeof process, typeof require, typeof Buffer, typeof XMLHttpRequest]', sandbox)).toEqual([
      'undefined',
      'undefined',
      'undefined',
      'undefined',
    ]);
    const hits: string[] = [];
    const server = createServer((req, res) => {
      hits.push(req.url ?? '');
      res.setHeader('content-type', 'application/json');
      if (req.url === '/unavailable') res.statusCode = 503;
      res.end(JSON.stringify({ ok: req.url === '/ok' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const app = (sandbox as { edgeApp?: { run(url: string): Promise<unknown> } }).edgeApp;
      const report = JSON.parse(
        JSON.stringify(await app?.run(`http://127.0.0.1:${(server.address() as AddressInfo).port}`)),
      ) as Record<string, unknown>;
      expect(report).toEqual(expectedReport());
      // One request each: the 503 (a status Node's guard retries) was not resent.
      expect(hits).toEqual(['/ok', '/unavailable']);
    } finally {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});

describe('through require, as Jest (jsdom) and Metro load it', () => {
  test('the CommonJS browser entry and CommonJS axios browser build, no Node built-in', async () => {
    const output = await bundle(
      project,
      `const guard = require('axios-reset-guard'); const axios = require('axios');
       export const names = Object.keys(guard); export const client = guard.createClient(); export { axios };`,
      { platform: 'browser', format: 'esm' },
    );
    expect(output.inputs.filter((input) => BROWSER_CJS.test(input))).toHaveLength(1);
    expect(output.inputs).toEqual(
      expect.arrayContaining([expect.stringMatching(/node_modules\/axios\/dist\/browser\/axios\.cjs$/)]),
    );
    expect(output.inputs.filter((input) => /axios-reset-guard\/dist\/(?!cjs\/browser\.js)/.test(input))).toEqual([]);
    expect(output.text).not.toMatch(/["']node:/);
    expect(output.text.match(BUILTIN_IMPORT)).toBeNull();
    expect(output.inputs.filter((input) => AXIOS_NODE.test(input))).toEqual([]);
  });
});

/** What the program reports on every runtime: inert guard, working classifier and constants. */
function expectedReport(): Record<string, unknown> {
  const fresh = node.attach(axios.create(), { agents: false, retries: 2 });
  const stats = JSON.parse(JSON.stringify(fresh.stats())) as unknown;
  fresh.detach();
  return {
    names: Object.keys(node)
      .filter((name) => name !== '__esModule')
      .sort(),
    ok: { status: 200, data: { ok: true }, attempt: null },
    failed: {
      classification: {
        kind: 'http-status',
        retryable: false,
        reusedSocket: false,
        responseStarted: true,
        code: 'ERR_BAD_RESPONSE',
        status: 503,
      },
      failure: null,
      guardError: false,
    },
    optionError: { option: 'retries', branded: true },
    attachTwice: 'ERR_RESET_GUARD_ATTACHED',
    // Node's own guard before its first request, without agents: the same fields, the same zeros.
    stats,
    clientRetries: 1,
    constants: {
      retries: node.DEFAULTS.retries,
      channels: { ...node.CHANNELS },
      failureKinds: [...node.FAILURE_KINDS],
      resetKinds: [...node.RESET_KINDS],
    },
  };
}
