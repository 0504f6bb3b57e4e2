/**
 * examples/jest-user-project as a user's project runs it: the packed tarball (and axios)
 * installed into a fresh folder in the OS temp dir, the example's files copied beside it,
 * and its own configs, with no mapping to this repository's src/:
 *
 * - jest in CommonJS mode with nock 14 (jest.config.json): every *.test.ts file;
 * - vitest with nock 14 (vitest.config.mjs): every *.spec.ts file;
 * - jest in ESM mode with nock 15 (jest.esm.config.json, `node --experimental-vm-modules`),
 *   on Node >= 22.20 only (nock 15's floor); older Nodes skip it and say why.
 *
 * One `npm pack` and one install serve all three. The test runners and nock are this
 * repository's pinned devDependencies, linked into the project's node_modules as a user's
 * install would put them there (nock 15 under the name `nock` in the ESM copy). Each child
 * run is bounded by stalled output, never by its total time; the run time of each example
 * file is printed, not asserted.
 */
import { execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { watched } from '../testbed';
import { CHILD_STALL_MS, WATCHED_TIMEOUT_MS } from './support/timeouts';

const ROOT = join(__dirname, '..');
const EXAMPLE = join(ROOT, 'examples', 'jest-user-project');
const MODULES = join(ROOT, 'node_modules');
const JEST = require.resolve('jest/bin/jest');
const VITEST = join(MODULES, 'vitest', 'vitest.mjs');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
const atLeast = (maj: number, min: number): boolean => major > maj || (major === maj && minor >= min);
const AXIOS_VERSION = (JSON.parse(readFileSync(join(MODULES, 'axios', 'package.json'), 'utf8')) as { version: string })
  .version;

/** The dev tools a user's project installs, taken from this repository's node_modules. */
const DEV_TOOLS = ['jest', 'ts-jest', 'typescript', 'vitest', '@types/jest', '@types/node'];

/**
 * Under `npm test`, npm exports its settings and this package's metadata as `npm_*`
 * variables; the ones naming this repository would send the child's npm here. A child jest
 * must not inherit the parent's worker id.
 */
function childEnv(): NodeJS.ProcessEnv {
  const scoped = /^npm_(package_|lifecycle_|command$|config_(prefix|local_prefix|global_prefix|call|argv)$)|^JEST_WORKER_ID$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !scoped.test(name)));
}

interface ChildRun {
  code: number | null;
  output: string;
}

/** Runs a child process to its end, failing only when its output stalls for CHILD_STALL_MS. */
async function runChild(args: readonly string[], cwd: string): Promise<ChildRun> {
  const child = spawn(process.execPath, args, { cwd, env: childEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  try {
    const code = await watched(
      (progress) =>
        new Promise<number | null>((resolve, reject) => {
          const onOutput = (chunk: Buffer): void => {
            output += chunk.toString('utf8');
            progress();
          };
          child.stdout.on('data', onOutput);
          child.stderr.on('data', onOutput);
          child.once('error', reject);
          child.once('close', resolve);
        }),
      { stallMs: CHILD_STALL_MS, detail: () => `the child's last output: ${output.trim().split('\n').pop() ?? 'none'}` },
    );
    return { code, output };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

/** A command that must succeed (npm pack, npm install), with its output on failure. */
function ok(file: string, args: readonly string[], cwd: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(file, args, { cwd, env: childEnv(), maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error === null) resolve(stdout);
      else reject(new Error(`${file} ${args.join(' ')}: ${error.message}\n${stdout}\n${stderr}`));
    });
  });
}

/** The jest-compatible JSON report both runners write: per file, its tests and its times. */
interface Report {
  numFailedTests: number;
  numPassedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: { title: string; status: string }[];
  }[];
}

/** Reads a runner's report, checks every test in it passed, and prints each file's run time. */
function passed(run: ChildRun, reportFile: string, label: string): Report {
  let report: Report;
  try {
    report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
  } catch {
    throw new Error(`${label} wrote no report (exit ${String(run.code)}):\n${run.output}`);
  }
  const failed = report.testResults.flatMap((file) =>
    file.assertionResults.filter((r) => r.status !== 'passed').map((r) => `${basename(file.name)}: ${r.title}`),
  );
  if (run.code !== 0 || failed.length > 0) {
    throw new Error(`${label} exited with ${String(run.code)}; not passed: ${failed.join('; ')}\n${run.output}`);
  }
  const times = report.testResults.map((file) => `${basename(file.name)} ${file.endTime - file.startTime} ms`);
  console.log(`${label}, run time per example file: ${times.join(', ')}`);
  return report;
}

/** Each example file's tests, by title, as the report lists them. */
function titles(report: Report): Record<string, string[]> {
  return Object.fromEntries(
    report.testResults.map((file) => [basename(file.name), file.assertionResults.map((r) => r.title)]),
  );
}

/** The example's test files for a runner, by the suffix its config matches. */
function exampleFiles(suffix: string): string[] {
  return readdirSync(EXAMPLE)
    .filter((file) => file.endsWith(suffix))
    .sort();
}

let work: string;
let project: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'arg-user-project-'));
  await ok('npm', ['pack', '--pack-destination', work], ROOT);
  const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
  if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);

  project = join(work, 'cjs');
  cpSync(EXAMPLE, project, { recursive: true });
  // The example's manifest lists the dev tools; they are linked below, not downloaded.
  const manifest = JSON.parse(readFileSync(join(project, 'package.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(project, 'package.json'), JSON.stringify({ ...manifest, dependencies: {}, devDependencies: {} }));
  await ok(
    'npm',
    [
      'install',
      join(work, tarball),
      `axios@${AXIOS_VERSION}`,
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      '--no-package-lock',
    ],
    project,
  );
  for (const tool of [...DEV_TOOLS, 'nock']) link(join(MODULES, tool), join(project, 'node_modules', tool));
}, WATCHED_TIMEOUT_MS);

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true });
});

function link(target: string, path: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  symlinkSync(target, path, 'dir');
}

it('installs the package from the tarball, not from this repository', () => {
  const installed = JSON.parse(
    readFileSync(join(project, 'node_modules', 'axios-reset-guard', 'package.json'), 'utf8'),
  ) as { version: string };
  const ours = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
  expect(installed.version).toBe(ours.version);
  expect(readdirSync(join(project, 'node_modules', 'axios-reset-guard'))).not.toContain('src');
});

it(
  'jest, CommonJS mode, nock 14: every example test file passes',
  async () => {
    const reportFile = join(work, 'jest-cjs.json');
    const run = await runChild([JEST, '-c', 'jest.config.json', '--ci', '-i', '--json', '--outputFile', reportFile], project);
    const report = passed(run, reportFile, 'jest (CommonJS, nock 14)');
    expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.test.ts'));
    expect(report.numPassedTests).toBeGreaterThanOrEqual(report.testResults.length);
  },
  WATCHED_TIMEOUT_MS,
);

it(
  'vitest, nock 14: every example spec file passes',
  async () => {
    const reportFile = join(work, 'vitest.json');
    const run = await runChild([VITEST, 'run', '--reporter=json', `--outputFile=${reportFile}`], project);
    const report = passed(run, reportFile, 'vitest (nock 14)');
    expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.spec.ts'));
  },
  WATCHED_TIMEOUT_MS,
);

if (atLeast(22, 20)) {
  it(
    'jest, ESM mode (--experimental-vm-modules), nock 15: every example test file passes',
    async () => {
      // The same project with nock 15 installed as `nock`: everything else is shared.
      const esm = join(work, 'esm');
      cpSync(EXAMPLE, esm, { recursive: true });
      for (const entry of readdirSync(join(project, 'node_modules'))) {
        if (entry !== 'nock' && !entry.startsWith('.')) link(join(project, 'node_modules', entry), join(esm, 'node_modules', entry));
      }
      link(join(MODULES, 'nock15'), join(esm, 'node_modules', 'nock'));
      const reportFile = join(work, 'jest-esm.json');
      const run = await runChild(
        ['--experimental-vm-modules', JEST, '-c', 'jest.esm.config.json', '--ci', '-i', '--json', '--outputFile', reportFile],
        esm,
      );
      const report = passed(run, reportFile, 'jest (ESM, nock 15)');
      expect(Object.keys(titles(report)).sort()).toEqual(exampleFiles('.test.ts'));
    },
    WATCHED_TIMEOUT_MS,
  );
} else {
  it.skip(`jest ESM mode with nock 15 needs Node >= 22.20 (nock 15's floor): skipped on ${process.version}`, () =>
    undefined);
}
