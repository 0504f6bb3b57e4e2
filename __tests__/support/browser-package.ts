/**
 * The package as a bundler sees it, for the bundling and Chromium tests: a temp project
 * whose node_modules holds axios-reset-guard (this repository's package.json, with its
 * export conditions, and the browser entry built by scripts/build-browser.mjs into its
 * dist/) and axios (a link to the one this repository tests with). Its own temp dir, never
 * the repository's dist/, which the pack test rebuilds meanwhile. Node's entry is not
 * built there: a bundle that resolved the package to it would fail to build.
 */
import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build, type BuildOptions, type Metafile } from 'esbuild';

const ROOT = join(__dirname, '..', '..');

export interface BrowserProject {
  /** The project root (resolveDir of the entries bundled in it). */
  readonly dir: string;
  /** The package inside it: `<dir>/node_modules/axios-reset-guard`. */
  readonly packageDir: string;
  /** Removes the temp dir. */
  remove(): void;
}

/** Builds the browser entry into a fresh temp project (about a second, more on a busy machine). */
export async function browserProject(): Promise<BrowserProject> {
  const dir = mkdtempSync(join(tmpdir(), 'arg-browser-'));
  try {
    const packageDir = join(dir, 'node_modules', 'axios-reset-guard');
    mkdirSync(packageDir, { recursive: true });
    copyFileSync(join(ROOT, 'package.json'), join(packageDir, 'package.json'));
    symlinkSync(dirname(require.resolve('axios/package.json')), join(dir, 'node_modules', 'axios'), 'dir');
    await new Promise<void>((resolve, reject) => {
      execFile(
        process.execPath,
        [join(ROOT, 'scripts', 'build-browser.mjs'), join(packageDir, 'dist')],
        { cwd: ROOT },
        (error, _stdout, stderr) =>
          error === null ? resolve() : reject(new Error(`build-browser failed: ${error.message}\n${stderr}`)),
      );
    });
    return { dir, packageDir, remove: () => rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

export interface Bundle {
  /** The bundle's text. */
  readonly text: string;
  /** Input files, relative to the project when inside it, with `/` separators. */
  readonly inputs: readonly string[];
  readonly metafile: Metafile;
}

/**
 * Bundles `contents` (an ES module, as if it were `<dir>/entry.ts`) inside `project` with
 * esbuild. No tsconfig applies: the repository's path mapping of the package name to src/
 * must not, and the temp dir has none.
 */
export async function bundle(project: BrowserProject, contents: string, options: BuildOptions): Promise<Bundle> {
  const result = await build({
    stdin: { contents, resolveDir: project.dir, sourcefile: 'entry.ts', loader: 'ts' },
    absWorkingDir: project.dir,
    bundle: true,
    write: false,
    metafile: true,
    logLevel: 'silent',
    tsconfigRaw: {},
    ...options,
  });
  const output = result.outputFiles?.[0];
  const { metafile } = result;
  if (output === undefined || metafile === undefined) throw new Error('esbuild produced no output');
  return { text: output.text, inputs: Object.keys(metafile.inputs), metafile };
}
