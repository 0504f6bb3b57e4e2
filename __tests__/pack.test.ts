/**
 * The package as npm ships it. `npm pack` (which builds through `prepack`), then a fresh
 * project in the OS temp dir installs the tarball and uses it: `require` from CommonJS,
 * `import` from ESM (one copy of the code behind both), the bin through `npx`, and
 * TypeScript consumers compiled against the packed declarations under the module
 * settings in common use, each using `config.resetGuard` on an axios call. Under the
 * `browser`, `edge-light`, `workerd` and `react-native` conditions both `require` and
 * `import` load the browser entry instead: the same public list, an inert guard.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { atLeast, exampleFiles, JEST, layOut, passed, runChild, titles, VITEST } from './support/user-project';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';
import {
  deadReferencesInDeclarations,
  deadReferencesInMarkdown,
  headingAnchors,
  type Shipped,
} from './support/shipped-references';

const ROOT = join(__dirname, '..');
const TSC = require.resolve('typescript/bin/tsc');
const manifest = (file: string): { name: string; version: string } =>
  JSON.parse(readFileSync(file, 'utf8')) as { name: string; version: string };
const PACKAGE = manifest(join(ROOT, 'package.json'));
// The versions this repository tests with, so npm finds them in its cache.
const AXIOS_VERSION = manifest(require.resolve('axios/package.json')).version;
const TYPES_NODE_VERSION = manifest(require.resolve('@types/node/package.json')).version;

// Every test runs node, npx or tsc in a child process: allow more than the suite's default
// on a busy machine. Packing and installing (beforeAll) get their own, longer limit.
jest.setTimeout(60_000);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to completion and never rejects on a non-zero exit: the exit code and
 * both streams are returned for the assertions (and their failure messages).
 */
function run(file: string, args: readonly string[], cwd: string, timeout = 120_000): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: childEnv(), timeout, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error !== null && typeof error.code !== 'number') {
        reject(new Error(`${file} ${args.join(' ')} failed to run: ${error.message}\n${stderr}`));
        return;
      }
      resolve({ code: error === null ? 0 : (error.code as number), stdout, stderr });
    });
  });
}

/**
 * Under `npm test`, npm exports its own settings and this package's metadata as `npm_*`
 * variables; the ones naming this repository's folder would send the consumer's
 * `npm install` here. Registry, cache and TLS settings are kept.
 */
function childEnv(): NodeJS.ProcessEnv {
  const scoped = /^npm_(package_|lifecycle_|command$|config_(prefix|local_prefix|global_prefix|call|argv)$)/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !scoped.test(name)));
}

/** Asserts a finished command succeeded, showing its output when it did not. */
function ok(result: Run, what: string): Run {
  if (result.code !== 0) {
    throw new Error(`${what} exited with ${result.code}\n--- stdout\n${result.stdout}\n--- stderr\n${result.stderr}`);
  }
  return result;
}

const CJS_CHECK = `'use strict';
const lib = require('axios-reset-guard');
const internals = require('axios-reset-guard/internals');
let deepImport = 'allowed';
try {
  require('axios-reset-guard/dist/cjs/install.js');
} catch (error) {
  deepImport = error.code;
}
console.log(JSON.stringify({
  resolved: require.resolve('axios-reset-guard'),
  names: Object.keys(lib).filter((name) => name !== '__esModule').sort(),
  internals: Object.keys(internals).filter((name) => name !== '__esModule').sort(),
  internalsResolved: require.resolve('axios-reset-guard/internals'),
  testing: Object.keys(require('axios-reset-guard/testing')).filter((name) => name !== '__esModule').sort(),
  testingResolved: require.resolve('axios-reset-guard/testing'),
  types: Object.fromEntries(Object.entries(lib).map(([name, value]) => [name, typeof value])),
  version: require('axios-reset-guard/package.json').version,
  deepImport,
}));
`;

// ESM axios (axios's own ESM build) through the guard, against a server that resets the
// first request's connection: the retry must recover it.
const ESM_CHECK = `import * as esm from 'axios-reset-guard';
import axios from 'axios';
import { createServer } from 'node:http';
import { createRequire } from 'node:module';

import * as esmInternals from 'axios-reset-guard/internals';
import * as esmTesting from 'axios-reset-guard/testing';

const require = createRequire(import.meta.url);
const cjs = require('axios-reset-guard');
const cjsInternals = require('axios-reset-guard/internals');
const cjsTesting = require('axios-reset-guard/testing');
const testingNames = Object.keys(esmTesting).sort();
const names = Object.keys(esm).sort();
const internalNames = Object.keys(esmInternals).sort();

let optionError;
try {
  esm.attach(axios.create(), { retries: -1 });
} catch (error) {
  optionError = {
    instanceOfEsm: error instanceof esm.ResetGuardOptionError,
    instanceOfCjs: error instanceof cjs.ResetGuardOptionError,
    option: error.option,
  };
}

let requests = 0;
const server = createServer((req, res) => {
  requests += 1;
  if (requests === 1) req.socket.resetAndDestroy();
  else res.end('recovered');
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const api = axios.create({ baseURL: 'http://127.0.0.1:' + server.address().port });
const options = esmTesting.testingOptions();
const guard = esm.attach(api, options);
let request;
try {
  const res = await api.get('/', { resetGuard: { retries: 1 } });
  request = {
    data: res.data,
    attempt: esmTesting.attemptOf(res)?.attempt,
    history: esm.attemptOf(res)?.history.map((f) => f.kind),
    plannedDelays: options.plannedDelays,
  };
} finally {
  guard.detach();
  server.close();
}

console.log(JSON.stringify({
  resolved: import.meta.resolve('axios-reset-guard'),
  names,
  sameAsCjs: names.filter((name) => esm[name] === cjs[name]),
  internalNames,
  internalsSameAsCjs: internalNames.filter((name) => esmInternals[name] === cjsInternals[name]),
  testingNames,
  testingSameAsCjs: testingNames.filter((name) => esmTesting[name] === cjsTesting[name]),
  optionError,
  request,
  requests,
}));
`;

// Run with `node -C <condition>`: the browser entry, by require and by import, and what
// its ES module imports (axios only: no Node built-in, no other file of the package).
const BROWSER_CJS_CHECK = `'use strict';
const axios = require('axios');
const lib = require('axios-reset-guard');
const guard = lib.attach(axios.create());
console.log(JSON.stringify({
  resolved: require.resolve('axios-reset-guard'),
  names: Object.keys(lib).filter((name) => name !== '__esModule').sort(),
  stats: guard.stats(),
  classified: lib.classify(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).kind,
}));
`;

const BROWSER_ESM_CHECK = `import axios from 'axios';
import * as lib from 'axios-reset-guard';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const file = fileURLToPath(import.meta.resolve('axios-reset-guard'));
const text = readFileSync(file, 'utf8');
const guard = lib.attach(axios.create());
console.log(JSON.stringify({
  resolved: import.meta.resolve('axios-reset-guard'),
  names: Object.keys(lib).sort(),
  imports: [...text.matchAll(/\\b(?:from|import)\\s*\\(?\\s*["']([^"']+)["']/g)].map((m) => m[1]),
  requires: /\\brequire\\s*\\(/.test(text),
  stats: guard.stats(),
  classified: lib.classify(Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET' })).kind,
}));
`;

// Compiled, never run. Uses the public API the way the README shows, and proves the
// `resetGuard` augmentation of axios's config reached the consumer: a misspelt or
// instance-only option must be an error (an unused @ts-expect-error is one too).
const CONSUMER_TS = `import axios, { type AxiosRequestConfig } from 'axios';
import {
  attach,
  attemptOf,
  classify,
  createClient,
  failureOf,
  isResetGuardError,
  ResetGuardOptionError,
  type AttemptInfo,
  type Classification,
  type Guard,
  type GuardedInstance,
  type RequestOptions,
  type ResetGuardErrorInfo,
} from 'axios-reset-guard';
import { decideRetry, type RetryDecision } from 'axios-reset-guard/internals';

const api = axios.create({ baseURL: 'http://orders.internal' });
const guard: Guard = attach(api, { retries: 2, freeSocketTimeout: 3000 });
const client: GuardedInstance = createClient({ retries: 1 }, { timeout: 1000 });
const perRequest: RequestOptions = { retries: 0, attemptHeader: true };
const config: AxiosRequestConfig = { resetGuard: { retry: false } };
const fromConfig: RequestOptions | undefined = config.resetGuard;

export async function fetchOrder(): Promise<AttemptInfo | undefined> {
  const res = await api.get<{ id: number }>('/orders/42', { resetGuard: perRequest });
  const id: number = res.data.id;
  await client.post('/payments', { id }, { resetGuard: { retryNonIdempotent: true } });
  await axios.request({ url: '/health', resetGuard: { retries: 0 } });
  // @ts-expect-error a misspelt option does not compile
  await api.get('/orders/42', { resetGuard: { retires: 2 } });
  // @ts-expect-error instance-only options are not per-request options
  await api.get('/orders/42', { resetGuard: { agents: false } });
  // @ts-expect-error a wrong value type does not compile
  await api.get('/orders/42', { resetGuard: { retries: '2' } });
  return attemptOf(res);
}

export function explain(error: unknown): string {
  if (error instanceof ResetGuardOptionError) return error.option;
  if (isResetGuardError(error)) return error.code;
  const kind: Classification['kind'] = classify(error).kind;
  const info: ResetGuardErrorInfo | undefined = failureOf(error);
  const decision: RetryDecision['retry'] = decideRetry({
    classification: classify(error),
    method: 'GET',
    hasIdempotencyKey: false,
    bodyReplayable: true,
    attempt: 1,
    staleReplays: 0,
    options: guard.options,
  }).retry;
  return [kind, info?.reason, fromConfig?.retry, guard.stats().retries, client.guard.options.retries, decision].join(' ');
}
`;

const compilerOptions = { target: 'ES2022', strict: true, noEmit: true, esModuleInterop: true, skipLibCheck: false };

/** Declaration files of this package that a tsc run loaded, relative to the package. */
function packageFilesIn(listFiles: string): string[] {
  const marker = `/node_modules/${PACKAGE.name}/`;
  return listFiles
    .split('\n')
    .filter((line) => line.includes(marker))
    .map((line) => line.slice(line.indexOf(marker) + marker.length).trim())
    .sort();
}

let work: string;
let consumer: string;
let packed: string[];

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'arg-pack-'));
  ok(await run('npm', ['pack', '--pack-destination', work], ROOT), 'npm pack');
  const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
  packed = ok(await run('tar', ['-tzf', join(work, tarball)], work), 'tar')
    .stdout.split('\n')
    .filter((line) => line !== '')
    .map((line) => line.replace(/^package\//, ''))
    .sort();

  consumer = join(work, 'consumer');
  mkdirSync(consumer);
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    'check.cjs': CJS_CHECK,
    'check.mjs': ESM_CHECK,
    'consumer.ts': CONSUMER_TS,
    'consumer.mts': CONSUMER_TS,
    'tsconfig.node16.json': JSON.stringify({
      compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
      files: ['consumer.ts', 'consumer.mts'],
    }),
    'tsconfig.bundler.json': JSON.stringify({
      compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
      files: ['consumer.ts'],
    }),
    'check-browser.cjs': BROWSER_CJS_CHECK,
    'check-browser.mjs': BROWSER_ESM_CHECK,
    // A front end's TypeScript told to resolve as its bundler does for the browser.
    'tsconfig.browser.json': JSON.stringify({
      compilerOptions: {
        ...compilerOptions,
        module: 'esnext',
        moduleResolution: 'bundler',
        customConditions: ['browser'],
      },
      files: ['consumer.ts'],
    }),
    'tsconfig.node10.json': JSON.stringify({
      compilerOptions: { ...compilerOptions, module: 'commonjs', moduleResolution: 'node10' },
      files: ['consumer.ts'],
    }),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(consumer, name), text);
  ok(
    await run(
      'npm',
      [
        'install',
        join(work, tarball),
        `axios@${AXIOS_VERSION}`,
        `@types/node@${TYPES_NODE_VERSION}`,
        '--no-audit',
        '--no-fund',
        '--prefer-offline',
        '--no-package-lock',
      ],
      consumer,
    ),
    'npm install of the tarball',
  );
}, 180_000);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

test('the tarball holds the build, README (with the chart and examples it links to), LICENSE and CHANGELOG, and nothing from development', () => {
  expect(packed).toEqual(
    expect.arrayContaining([
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'package.json',
      'dist/cjs/index.js',
      'dist/cjs/index.d.ts',
      'dist/cjs/install.d.ts',
      'dist/cjs/internals.js',
      'dist/cjs/internals.d.ts',
      'dist/cjs/cli.js',
      'dist/esm/index.mjs',
      'dist/esm/index.d.mts',
      'dist/esm/install.d.mts',
      'dist/esm/internals.mjs',
      'dist/esm/internals.d.mts',
      'dist/esm/browser.mjs',
      'dist/esm/browser.d.mts',
      'dist/cjs/browser.js',
      'dist/cjs/browser.d.ts',
      'dist/cjs/testing.js',
      'dist/cjs/testing.d.ts',
      'dist/esm/testing.mjs',
      'dist/esm/testing.d.mts',
      'docs/runtimes-browser.md',
    ]),
  );
  const outside = packed.filter(
    (file) =>
      !/^dist\/(cjs\/[a-z0-9-]+\.(js|d\.ts)|cjs\/package\.json|esm\/([a-z0-9-]+\.d\.mts|(index|internals|browser|testing)\.mjs))$/.test(
        file,
      ) && !file.startsWith('examples/'),
  );
  expect(outside.sort()).toEqual([
    'CHANGELOG.md',
    'LICENSE',
    'README.md',
    'docs/benchmarks.md',
    'docs/demo.svg',
    'docs/faq.md',
    'docs/http2.md',
    'docs/keep-alive.md',
    'docs/migration.md',
    'docs/observability-otel.md',
    'docs/observability.md',
    'docs/on-call.md',
    'docs/policy.md',
    'docs/reference.md',
    'docs/runtimes-browser.md',
    'docs/runtimes.md',
    'docs/testing.md',
    'package.json',
  ]);
  expect(packed).toEqual(
    expect.arrayContaining([
      'examples/per-request-override.ts',
      'examples/jest-user-project/orders.test.ts',
      'examples/opentelemetry.ts',
    ]),
  );
});

// Editors show TypeDoc's tag as raw text in a hover: the build writes the inherited comment.
test('the shipped declarations carry no raw {@inheritDoc} tag; RetryInfo.requestId hovers with its text', () => {
  const dist = join(consumer, 'node_modules', PACKAGE.name, 'dist');
  const declarations = packed.filter((file) => /\.d\.m?ts$/.test(file));
  expect(declarations.length).toBeGreaterThan(0);
  const raw = declarations.filter((file) => readFileSync(join(dist, '..', file), 'utf8').includes('{@inheritDoc'));
  expect(raw).toEqual([]);
  const types = readFileSync(join(dist, 'cjs', 'types.d.ts'), 'utf8');
  const retryInfo = types.slice(types.indexOf('export interface RetryInfo'));
  expect(retryInfo).toMatch(
    /\/\*\* Stable across every attempt of one logical request \(a UUID\)\. \*\/\n\s+readonly requestId/,
  );
});

// axios-reset-guard/testing, for users' own tests.
const TESTING_VALUES = [
  'attemptOf',
  'hangUpError',
  'pipeError',
  'refusedError',
  'resetError',
  'testingOptions',
  'timedOutError',
  'tlsResetError',
];

/** `repository.url` of package.json as a browser address (`git+https://...git` -> `https://...`). */
function repositoryUrl(): string {
  const { repository } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
    repository?: { url?: string } | string;
  };
  const url = typeof repository === 'string' ? repository : repository?.url;
  if (url === undefined) throw new Error('package.json has no "repository": shipped docs have nowhere to link');
  return url.replace(/^git\+/, '').replace(/\.git$/, '');
}

test('shipped docs and .d.ts comments point only at what ships, or at a file of the repository by its full URL', async () => {
  const tracked = ok(await run('git', ['ls-files'], ROOT), 'git ls-files').stdout.split('\n');
  const installed = join(consumer, 'node_modules', PACKAGE.name);
  const markdown = packed.filter((file) => file.endsWith('.md'));
  const shipped: Shipped = {
    files: new Set(packed),
    repositoryFiles: new Set(tracked.filter((file) => file !== '')),
    repositoryUrl: repositoryUrl(),
    scripts: Object.keys((JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: object }).scripts),
    headings: new Map(markdown.map((file) => [file, headingAnchors(readFileSync(join(installed, file), 'utf8'))])),
  };
  expect(shipped.repositoryUrl).toMatch(/^https:\/\/github\.com\/[\w.-]+\/[\w.-]+$/);
  const docs = packed.filter((file) => /^(README|CHANGELOG)\.md$|^docs\/[^/]+\.md$/.test(file));
  const declarations = packed.filter((file) => /^dist\/.*\.d\.m?ts$/.test(file));
  expect(docs).toEqual(expect.arrayContaining(['README.md', 'CHANGELOG.md', 'docs/testing.md']));
  expect(declarations.length).toBeGreaterThan(10);
  const dead = [
    ...docs.flatMap((file) => deadReferencesInMarkdown(file, readFileSync(join(installed, file), 'utf8'), shipped)),
    ...declarations.flatMap((file) =>
      deadReferencesInDeclarations(file, readFileSync(join(installed, file), 'utf8'), shipped),
    ),
  ];
  expect(dead).toEqual([]);
});

test('the reference check flags each kind of dead pointer, and passes what resolves', () => {
  const repo = 'https://github.com/o/r';
  const shipped: Shipped = {
    files: new Set(['README.md', 'docs/a.md', 'dist/cjs/normalize.d.ts', 'dist/cjs/options.d.ts', 'examples/x.ts']),
    repositoryFiles: new Set(['README.md', 'docs/a.md', 'CONTRIBUTING.md', 'src/normalize.ts', '__tests__/t.test.ts']),
    repositoryUrl: repo,
    scripts: ['demo'],
    headings: new Map([['README.md', new Set(['install', 'nock-14-or-15'])]]),
  };
  const markdown = [
    '# A',
    'See [CONTRIBUTING.md](../CONTRIBUTING.md), `__tests__/t.test.ts`, [x](../examples/x.ts), `examples/`.',
    'Run `npm run demo`.',
    '## B',
    `[gone](${repo}/blob/main/src/gone.ts) and [t](${repo}/blob/main/__tests__/t.test.ts)`,
    `Run \`npm run demo\` from [a clone](${repo}#from-a-clone); your \`tsconfig.json\`.`,
    '## nock: 14 or 15?',
    '[ok](../README.md#nock-14-or-15), [here](#nock-14-or-15), [gone](../README.md#nock-15), [none](#c).',
  ].join('\n');
  expect(deadReferencesInMarkdown('docs/a.md', markdown, shipped)).toEqual([
    'docs/a.md:2: ../CONTRIBUTING.md: not in the tarball',
    'docs/a.md:2: CONTRIBUTING.md: a file of the repository, not in the tarball',
    'docs/a.md:2: __tests__/t.test.ts: not in the tarball',
    'docs/a.md:3: npm run demo: a command of a clone, with no repository link beside it',
    `docs/a.md:5: ${repo}/blob/main/src/gone.ts: not a file of the repository`,
    'docs/a.md:8: ../README.md#nock-15: no such heading in README.md',
    'docs/a.md:8: #c: no such heading in docs/a.md',
  ]);
  const declarations = '/** Validated once (`normalize.ts`); see `__tests__/t.test.ts`. */\nexport {};\n';
  expect(deadReferencesInDeclarations('dist/cjs/options.d.ts', declarations, shipped)).toEqual([
    'dist/cjs/options.d.ts:1: __tests__/t.test.ts: not in the tarball',
  ]);
});

// The main entry is the semver promise: exactly these values, nothing internal.
const PUBLIC_VALUES = [
  'CHANNELS',
  'DEFAULTS',
  'FAILURE_KINDS',
  'RESET_KINDS',
  'ResetGuardAttachError',
  'ResetGuardConflictError',
  'ResetGuardOptionError',
  'attach',
  'attemptOf',
  'classify',
  'createClient',
  'failureOf',
  'isResetGuardError',
];

test('require() loads the CommonJS build; the main entry holds the curated API, internals their own subpath', async () => {
  const report = JSON.parse(ok(await run(process.execPath, ['check.cjs'], consumer), 'check.cjs').stdout) as {
    resolved: string;
    internals: string[];
    internalsResolved: string;
    testing: string[];
    testingResolved: string;
    names: string[];
    types: Record<string, string>;
    version: string;
    deepImport: string;
  };
  expect(report.resolved).toBe(join(consumer, 'node_modules', PACKAGE.name, 'dist', 'cjs', 'index.js'));
  expect(report.version).toBe(PACKAGE.version);
  expect(report.deepImport).toBe('ERR_PACKAGE_PATH_NOT_EXPORTED');
  expect(report.names).toEqual(PUBLIC_VALUES);
  expect(report.internalsResolved).toBe(join(consumer, 'node_modules', PACKAGE.name, 'dist', 'cjs', 'internals.js'));
  expect(report.internals).toEqual(
    expect.arrayContaining(['STATE_KEY', 'normalizeOptions', 'decideRetry', 'parseRetryAfter', 'OriginMemory']),
  );
  expect(report.internals.filter((name) => report.names.includes(name))).toEqual([]);
  expect(report.testingResolved).toBe(join(consumer, 'node_modules', PACKAGE.name, 'dist', 'cjs', 'testing.js'));
  expect(report.testing).toEqual(TESTING_VALUES);
  expect(report.types).toMatchObject({
    attach: 'function',
    createClient: 'function',
    attemptOf: 'function',
    classify: 'function',
    failureOf: 'function',
    ResetGuardOptionError: 'function',
    ResetGuardAttachError: 'function',
    ResetGuardConflictError: 'function',
    DEFAULTS: 'object',
  });
});

test('import gets every named export of the CommonJS build, the very same objects, and works on ESM axios', async () => {
  const cjs = JSON.parse(ok(await run(process.execPath, ['check.cjs'], consumer), 'check.cjs').stdout) as {
    names: string[];
    internals: string[];
  };
  const report = JSON.parse(ok(await run(process.execPath, ['check.mjs'], consumer), 'check.mjs').stdout) as {
    resolved: string;
    names: string[];
    sameAsCjs: string[];
    internalNames: string[];
    internalsSameAsCjs: string[];
    testingNames: string[];
    testingSameAsCjs: string[];
    optionError: { instanceOfEsm: boolean; instanceOfCjs: boolean; option: string } | undefined;
    request: { data: string; attempt: number; history: string[]; plannedDelays: number[] };
    requests: number;
  };
  expect(report.resolved).toMatch(new RegExp(`/node_modules/${PACKAGE.name}/dist/esm/index\\.mjs$`));
  expect(report.names).toEqual(cjs.names);
  expect(report.sameAsCjs).toEqual(cjs.names);
  expect(report.internalNames).toEqual(cjs.internals);
  expect(report.internalsSameAsCjs).toEqual(cjs.internals);
  expect(report.optionError).toEqual({ instanceOfEsm: true, instanceOfCjs: true, option: 'retries' });
  expect(report.testingNames).toEqual(TESTING_VALUES);
  expect(report.testingSameAsCjs).toEqual(TESTING_VALUES);
  expect(report.request).toEqual({ data: 'recovered', attempt: 2, history: ['reset'], plannedDelays: [100] });
  expect(report.requests).toBe(2);
});

// Bundlers for browsers (webpack, Vite, esbuild), Vercel's and Cloudflare's edge runtimes,
// Metro for React Native, and Jest's jsdom environment resolve these conditions; Node's
// `-C` makes Node resolve them too.
describe.each(['browser', 'edge-light', 'workerd', 'react-native'])('under the "%s" condition', (condition) => {
  interface BrowserReport {
    resolved: string;
    names: string[];
    stats: { requests: number; attempts: number; retries: number; agents: object; origins: object };
    classified: string;
    imports?: string[];
    requires?: boolean;
  }
  const check = async (script: string): Promise<BrowserReport> =>
    JSON.parse(ok(await run(process.execPath, ['-C', condition, script], consumer), script).stdout) as BrowserReport;
  const inert = (stats: BrowserReport['stats']): void => {
    expect(stats).toMatchObject({ requests: 0, attempts: 0, retries: 0 });
    expect([stats.agents, stats.origins]).toEqual([{}, {}]);
  };

  test('require() loads the CommonJS browser entry: the public list, an inert guard', async () => {
    const report = await check('check-browser.cjs');
    expect(report.resolved).toBe(join(consumer, 'node_modules', PACKAGE.name, 'dist', 'cjs', 'browser.js'));
    expect(report.names).toEqual(PUBLIC_VALUES);
    inert(report.stats);
    expect(report.classified).toBe('reset');
  });

  test('import loads the browser entry, a real ES module importing axios alone', async () => {
    const report = await check('check-browser.mjs');
    expect(report.resolved).toMatch(new RegExp(`/node_modules/${PACKAGE.name}/dist/esm/browser\\.mjs$`));
    expect(report.names).toEqual(PUBLIC_VALUES);
    expect(report.imports).toEqual(['axios', 'axios']);
    expect(report.requires).toBe(false);
    inert(report.stats);
    expect(report.classified).toBe('reset');
  });
});

describe('the bin, through npx', () => {
  let server: Server;
  let url: string;

  beforeAll(async () => {
    server = createServer((_req, res) => res.end('ok'));
    server.keepAliveTimeout = 200;
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  test('is an executable script with a node shebang', () => {
    const cli = join(consumer, 'node_modules', PACKAGE.name, 'dist', 'cjs', 'cli.js');
    expect(readFileSync(cli, 'utf8').split('\n')[0]).toBe('#!/usr/bin/env node');
    expect(statSync(cli).mode & 0o111).not.toBe(0);
  });

  // `--` keeps npx (npm 11) from taking `--help` as its own flag.
  test('prints its usage on stdout for --help, exit code 0; on stderr with 2 for no command', async () => {
    const help = await run('npx', ['--no', '--', 'axios-reset-guard', '--help'], consumer);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('usage: axios-reset-guard probe <url>');
    const none = await run('npx', ['--no', '--', 'axios-reset-guard'], consumer);
    expect(none.code).toBe(2);
    expect(none.stdout).toBe('');
    expect(none.stderr).toContain('usage: axios-reset-guard probe <url>');
  });

  test('probes a server', async () => {
    const result = ok(
      await run('npx', ['--no', '--', 'axios-reset-guard', 'probe', url, '--max', '1', '--json'], consumer),
      'npx axios-reset-guard probe',
    );
    const report = JSON.parse(result.stdout) as { url: string; maxMs: number; advice: string };
    expect(report.url).toBe(url);
    expect(report.maxMs).toBe(1000);
    // keepAliveTimeout 200 ms is announced as timeout=0: Node's agent would never reuse the
    // connection, so there is nothing to set, whatever the measurement
    expect(report).toMatchObject({ hint: { timeoutSeconds: 0 }, advice: 'no-reuse', effectiveFreeSocketTimeout: 0 });
    expect(report).not.toHaveProperty('recommendedFreeSocketTimeout');
  });
});

describe('TypeScript consumers compile against the packed declarations with zero errors', () => {
  const compile = async (tsconfig: string): Promise<string[]> => {
    const result = await run(process.execPath, [TSC, '-p', tsconfig, '--listFiles'], consumer);
    const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line));
    expect(errors).toEqual([]);
    ok(result, `tsc -p ${tsconfig}`);
    return packageFilesIn(result.stdout);
  };

  test('module node16: a CommonJS .ts and an ESM .mts, each typed by its own entry', async () => {
    const loaded = await compile('tsconfig.node16.json');
    expect(loaded).toEqual(expect.arrayContaining(['dist/cjs/index.d.ts', 'dist/esm/index.d.mts']));
  });

  test('module esnext, moduleResolution bundler: the "import" types', async () => {
    const loaded = await compile('tsconfig.bundler.json');
    expect(loaded).toContain('dist/esm/index.d.mts');
    expect(loaded.filter((file) => file.startsWith('dist/cjs/'))).toEqual([]);
  });

  test("module esnext, moduleResolution bundler, customConditions browser: the browser entry's types", async () => {
    const loaded = await compile('tsconfig.browser.json');
    expect(loaded).toContain('dist/esm/browser.d.mts');
    expect(loaded.filter((file) => file.startsWith('dist/cjs/') || file === 'dist/esm/index.d.mts')).toEqual([]);
  });

  test('moduleResolution node10 (no "exports" support): the "types" field', async () => {
    const loaded = await compile('tsconfig.node10.json');
    expect(loaded).toContain('dist/cjs/index.d.ts');
    expect(loaded.filter((file) => file.startsWith('dist/esm/'))).toEqual([]);
  });
});

// examples/jest-user-project as a user runs it, on this tarball's install: each recipe of
// docs/testing.md, under jest (CommonJS with nock 14; ESM with nock 15) and vitest.
describe('examples/jest-user-project, as a user project on the packed tarball', () => {
  const installed = (): string => join(consumer, 'node_modules');

  test(
    'jest, CommonJS mode, nock 14: every example test file passes',
    async () => {
      const project = join(work, 'user-cjs');
      layOut(project, installed(), 'nock');
      const reportFile = join(work, 'jest-cjs.json');
      const run = await runChild(
        [JEST, '-c', 'jest.config.json', '--ci', '-i', '--json', '--outputFile', reportFile],
        project,
      );
      const report = passed(run, reportFile, 'jest (CommonJS, nock 14)');
      expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.test.ts'));
    },
    WATCHED_TIMEOUT_MS,
  );

  test(
    'vitest, nock 14: every example spec file passes',
    async () => {
      const project = join(work, 'user-vitest');
      layOut(project, installed(), 'nock');
      const reportFile = join(work, 'vitest.json');
      const run = await runChild([VITEST, 'run', '--reporter=json', `--outputFile=${reportFile}`], project);
      const report = passed(run, reportFile, 'vitest (nock 14)');
      expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.spec.ts'));
    },
    WATCHED_TIMEOUT_MS,
  );

  if (atLeast(22, 20)) {
    test(
      'jest, ESM mode (--experimental-vm-modules), nock 15: every example test file passes',
      async () => {
        const project = join(work, 'user-esm');
        layOut(project, installed(), 'nock15');
        const reportFile = join(work, 'jest-esm.json');
        const run = await runChild(
          [
            '--experimental-vm-modules',
            JEST,
            '-c',
            'jest.esm.config.json',
            '--ci',
            '-i',
            '--json',
            '--outputFile',
            reportFile,
          ],
          project,
        );
        const report = passed(run, reportFile, 'jest (ESM, nock 15)');
        expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.test.ts'));
      },
      WATCHED_TIMEOUT_MS,
    );
  } else {
    test.skip(`jest ESM mode with nock 15 needs Node >= 22.20 (nock 15's floor): skipped on ${process.version}`, () =>
      undefined);
  }
});
