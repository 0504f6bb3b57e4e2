/**
 * examples/jest-user-project as a user's project runs it (pack.test.ts): the packed
 * tarball's install linked into a fresh folder beside the example's files and its own
 * configs, with no mapping to this repository's src/. The test runners and nock are this
 * repository's pinned devDependencies, linked into the project's node_modules where a
 * user's install would put them. Each child run is bounded by stalled output, never by its
 * total time; each example file's run time is printed, not asserted.
 */
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { watched } from '../../testbed';
import { CHILD_STALL_MS } from './timeouts';

const ROOT = join(__dirname, '..', '..');
const EXAMPLE = join(ROOT, 'examples', 'jest-user-project');
const MODULES = join(ROOT, 'node_modules');
export const JEST = require.resolve('jest/bin/jest');
export const VITEST = join(MODULES, 'vitest', 'vitest.mjs');
const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
export const atLeast = (maj: number, min: number): boolean => major > maj || (major === maj && minor >= min);
/** The dev tools a user's project installs, taken from this repository's node_modules. */
const DEV_TOOLS = ['jest', '@jest/globals', 'ts-jest', 'typescript', 'vitest', '@types/jest', '@types/node'];

/**
 * Under `npm test`, npm exports its settings and this package's metadata as `npm_*`
 * variables; the ones naming this repository would send the child's npm here. A child jest
 * must not inherit the parent's worker id.
 */
function childEnv(): NodeJS.ProcessEnv {
  const scoped =
    /^npm_(package_|lifecycle_|command$|config_(prefix|local_prefix|global_prefix|call|argv)$)|^JEST_WORKER_ID$/i;
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !scoped.test(name)));
}

export interface ChildRun {
  code: number | null;
  /** stdout and stderr as they came, interleaved. */
  output: string;
  stdout: string;
  stderr: string;
}

/** Runs a child process to its end, failing only when its output stalls for CHILD_STALL_MS. */
export async function runChild(
  args: readonly string[],
  cwd: string,
  env: Readonly<Record<string, string>> = {},
): Promise<ChildRun> {
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...childEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const streams = { stdout: '', stderr: '' };
  try {
    const code = await watched(
      (progress) =>
        new Promise<number | null>((resolve, reject) => {
          const onOutput =
            (from: 'stdout' | 'stderr') =>
            (chunk: Buffer): void => {
              const text = chunk.toString('utf8');
              output += text;
              streams[from] += text;
              progress();
            };
          child.stdout.on('data', onOutput('stdout'));
          child.stderr.on('data', onOutput('stderr'));
          child.once('error', reject);
          child.once('close', resolve);
        }),
      {
        stallMs: CHILD_STALL_MS,
        detail: () => `the child's last output: ${output.trim().split('\n').pop() ?? 'none'}`,
      },
    );
    return { code, output, ...streams };
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  }
}

/** The jest-compatible JSON report both runners write: per file, its tests and its times. */
export interface Report {
  numFailedTests: number;
  numPassedTests: number;
  numPendingTests: number;
  testResults: {
    name: string;
    startTime: number;
    endTime: number;
    assertionResults: { title: string; status: string; duration?: number | null }[];
  }[];
}

/** Reads a runner's report, checks every test in it passed, and prints each file's run time. */
export function passed(run: ChildRun, reportFile: string, label: string): Report {
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
  const times = report.testResults.map(
    (file) =>
      `${basename(file.name)} ${Math.round(file.endTime - file.startTime)} ms (tests ${file.assertionResults
        .map((r) => Math.round(r.duration ?? 0))
        .join('+')} ms)`,
  );
  console.log(`${label}, run time per example file: ${times.join(', ')}`);
  return report;
}

/** Each example file's tests, by title, as the report lists them. */
export function titles(report: Report): Record<string, string[]> {
  return Object.fromEntries(
    report.testResults.map((file) => [basename(file.name), file.assertionResults.map((r) => r.title)]),
  );
}

/** The example's test files for a runner, by the suffix its config matches. */
export function exampleFiles(suffix: string): string[] {
  return readdirSync(EXAMPLE)
    .filter((file) => file.endsWith(suffix))
    .sort();
}

/**
 * Lays the example out at `project` as a user's project: the packages of `installed` (a
 * node_modules holding the packed tarball's install), nock (`nockPackage` of this
 * repository, as `nock`: `nock` is 14, `nock15` is 15) and the dev tools.
 */
export function layOut(project: string, installed: string, nockPackage: 'nock' | 'nock15'): void {
  cpSync(EXAMPLE, project, { recursive: true });
  const modules = join(project, 'node_modules');
  const add = (name: string, target: string): void => {
    const path = join(modules, name);
    if (existsSync(path)) return;
    mkdirSync(dirname(path), { recursive: true });
    symlinkSync(target, path, 'dir');
  };
  for (const entry of readdirSync(installed)) {
    if (entry.startsWith('.')) continue;
    if (!entry.startsWith('@')) add(entry, join(installed, entry));
    else for (const name of readdirSync(join(installed, entry))) add(`${entry}/${name}`, join(installed, entry, name));
  }
  add('nock', join(MODULES, nockPackage));
  for (const tool of DEV_TOOLS) add(tool, join(MODULES, tool));
}

/**
 * A support script (`__tests__/support/<name>`) run in a child Node under
 * `NODE_DEBUG=<sections>`, bounded by stalled output like every child run; `lines` are the
 * guard's debug lines on stderr.
 */
export async function runWithDebug(name: string, sections: string): Promise<ChildRun & { lines: string[] }> {
  const script = join(__dirname, name);
  const run = await runChild(['-r', 'ts-node/register/transpile-only', script], join(__dirname, '..', '..'), {
    NODE_DEBUG: sections,
  });
  return { ...run, lines: run.stderr.split('\n').filter((l) => l.startsWith('AXIOS-RESET-GUARD')) };
}
