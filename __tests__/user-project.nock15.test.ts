/**
 * examples/jest-user-project, unchanged, with nock 15 (the pinned devDependency alias
 * `nock15`), the nock a user on Node >= 22.20 may pair the guard with; the rest of the
 * suite uses nock 14, which still works there. nock 15 is an ES module only (and so is its
 * @mswjs/interceptors), so a jest project in CommonJS mode, as this one and the example are,
 * cannot load it as it stands. Each case runs the example's own test file in a child jest on
 * this Node, with `nock` mapped to nock 15 and the jest set-up a user would need:
 *
 * - jest's ESM mode (`node --experimental-vm-modules`, ts-jest `useESM`): Node >= 22.20;
 * - CommonJS mode with `--experimental-vm-modules`, where jest 30 loads ES modules through
 *   `require`: Node >= 24.9 (it needs `vm.SourceTextModule#hasAsyncGraph`);
 * - and CommonJS mode without the flag, which fails to load nock 15 on any Node.
 *
 * On an older Node the file says why it skips. What it proves: the example's three tests pass
 * against nock 15 at run time; its types are checked against nock 14's by `npm run typecheck`.
 * The oldest nock major the testing docs name, nock 13 (alias `nock13`, CommonJS), runs the
 * example in plain CommonJS mode on every Node.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { watched } from '../testbed';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

const ROOT = join(__dirname, '..');
const JEST = require.resolve('jest/bin/jest');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const atLeast = (maj: number, min: number): boolean => major > maj || (major === maj && minor >= min);

/**
 * The child prints nothing while ts-jest compiles src/ for it; a minute without a byte of
 * output is a hang, however busy the machine.
 */
const CHILD_STALL_MS = 60_000;

interface NockManifest {
  name: string;
  version: string;
  exports: { '.': { default: string } };
}
const nock15 = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'nock15', 'package.json'), 'utf8')) as NockManifest;
const nock13 = JSON.parse(readFileSync(join(ROOT, 'node_modules', 'nock13', 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  main: string;
};
const NOCK15_ENTRY = join('<rootDir>/node_modules/nock15', nock15.exports['.'].default);

/** The example's jest config as a user would write it, `nock` mapped to `nockEntry` (nock 15's by default). */
function config(mode: 'esm' | 'cjs', nockEntry = NOCK15_ENTRY): object {
  const base = {
    rootDir: ROOT,
    roots: ['<rootDir>/examples/jest-user-project'],
    testMatch: ['**/*.test.ts'],
    moduleNameMapper: {
      '^nock$': nockEntry,
      '^axios-reset-guard$': '<rootDir>/src/index.ts',
    },
  };
  if (mode === 'cjs') return { ...base, preset: 'ts-jest' };
  return {
    ...base,
    extensionsToTreatAsEsm: ['.ts'],
    transform: {
      '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: { module: 'es2022', isolatedModules: true } }],
    },
  };
}

interface JestReport {
  numPassedTests: number;
  numFailedTests: number;
  numFailedTestSuites: number;
  testResults: { assertionResults: { title: string; status: string }[] }[];
}

interface ChildRun {
  code: number | null;
  stderr: string;
  report: JestReport | undefined;
}

/** Runs jest on the example in a child process of this Node, with `nodeFlags` and `config`. */
async function runExample(nodeFlags: readonly string[], jestConfig: object): Promise<ChildRun> {
  const dir = mkdtempSync(join(tmpdir(), 'arg-nock15-'));
  const configFile = join(dir, 'jest.config.json');
  const outputFile = join(dir, 'report.json');
  writeFileSync(configFile, JSON.stringify(jestConfig));
  // not the parent's worker id: the child is a jest run of its own
  const env = Object.fromEntries(Object.entries(process.env).filter(([name]) => name !== 'JEST_WORKER_ID'));
  const child = spawn(
    process.execPath,
    [...nodeFlags, JEST, '-c', configFile, '--ci', '-i', '--json', '--outputFile', outputFile],
    { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stderr = '';
  try {
    const code = await watched(
      (progress) =>
        new Promise<number | null>((resolve, reject) => {
          const onOutput = (chunk: Buffer): void => {
            stderr += chunk.toString('utf8');
            progress();
          };
          child.stdout.on('data', progress);
          child.stderr.on('data', onOutput);
          child.once('error', reject);
          child.once('close', resolve);
        }),
      {
        stallMs: CHILD_STALL_MS,
        detail: () => `the child jest's last output: ${stderr.trim().split('\n').pop() ?? 'none'}`,
      },
    );
    let report: JestReport | undefined;
    try {
      report = JSON.parse(readFileSync(outputFile, 'utf8')) as JestReport;
    } catch {
      report = undefined;
    }
    return { code, stderr, report };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const EXAMPLE_TESTS = [
  'retries a GET after a connection reset: attempt 2 answers',
  'hides the reset from the caller of getOrder()',
  'does not resend a POST after a reset: the server may have placed the order',
];

function expectExamplePassed(run: ChildRun): void {
  if (run.code !== 0) throw new Error(`the child jest exited with ${String(run.code)}:\n${run.stderr}`);
  expect(run.report).toMatchObject({ numPassedTests: 3, numFailedTests: 0, numFailedTestSuites: 0 });
  const results = run.report?.testResults.flatMap((file) => file.assertionResults) ?? [];
  expect(results.map((r) => [r.title, r.status])).toEqual(EXAMPLE_TESTS.map((title) => [title, 'passed']));
}

it('the alias nock15 is nock 15', () => {
  expect(nock15).toMatchObject({ name: 'nock', version: expect.stringMatching(/^15\./) });
});

it('the alias nock13 is nock 13', () => {
  expect(nock13).toMatchObject({ name: 'nock', version: expect.stringMatching(/^13\./) });
});

it(
  'CommonJS mode (plain ts-jest): the example passes with nock 13',
  async () =>
    expectExamplePassed(await runExample([], config('cjs', join('<rootDir>/node_modules/nock13', nock13.main)))),
  WATCHED_TIMEOUT_MS,
);

if (atLeast(22, 20)) {
  it(
    "jest's ESM mode (--experimental-vm-modules, ts-jest useESM): the example passes with nock 15",
    async () => expectExamplePassed(await runExample(['--experimental-vm-modules'], config('esm'))),
    WATCHED_TIMEOUT_MS,
  );

  it(
    'CommonJS mode without --experimental-vm-modules cannot load nock 15 (an ES module)',
    async () => {
      const run = await runExample([], config('cjs'));
      expect(run.code).not.toBe(0);
      expect(run.stderr).toContain('Must use import to load ES Module');
      expect(run.stderr).toContain(join('node_modules', 'nock15'));
    },
    WATCHED_TIMEOUT_MS,
  );
} else {
  it.skip(`nock 15 needs Node >= 22.20 (skipped on ${process.version})`, () => undefined);
}

if (atLeast(24, 9)) {
  it(
    'CommonJS mode with --experimental-vm-modules (jest 30 loads ES modules through require): the example passes with nock 15',
    async () => expectExamplePassed(await runExample(['--experimental-vm-modules'], config('cjs'))),
    WATCHED_TIMEOUT_MS,
  );
} else {
  it.skip(`jest 30 loads ES modules through require on Node >= 24.9 only (skipped on ${process.version})`, () =>
    undefined);
}
