/**
 * The packed declarations against every axios the package claims (peerDependencies
 * `^1.7.0`), not only the pinned devDependency: a TypeScript consumer with `strict` and
 * `skipLibCheck: false`, under `moduleResolution` node16 (a CommonJS `.ts` and an ESM `.mts`,
 * each typed by its own entry of both packages) and bundler, compiles with zero errors.
 * axios's `AxiosRequestConfig` has one type parameter up to 1.18 and two from 1.19.0: the
 * guard's `resetGuard` augmentation must merge with either. The package's own source
 * type-checks against each release's typings too.
 *
 * One `npm pack` for the file; each axios release gets a throwaway project in the OS temp
 * dir with the packed package copied in, `node_modules/axios` a symlink to that release in
 * .ci/axios-lines, and the pinned tsc run on it in a child process.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, realpathSync, rmSync } from 'node:fs';
import { symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { watched } from '../testbed';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

const ROOT = join(__dirname, '..');
const TSC = require.resolve('typescript/bin/tsc');
const LINES = join(ROOT, '.ci', 'axios-lines', 'node_modules');
const CI = process.env.CI === 'true';

/** npm pack and tsc print nothing while they work; a minute of silence is a hang. */
const CHILD_STALL_MS = 60_000;

const packageDir = (name: string): string => realpathSync(dirname(require.resolve(`${name}/package.json`)));

/**
 * The oldest release claimed and a middle one, both with one type parameter (as up to 1.18).
 * The pinned release, with two, has the same consumer checks (and more) in pack.test.ts;
 * 1.19.0, the first with two, passed them too and is left out to keep the file's time down.
 */
const RELEASES = ['1.7.0', '1.13.6'].map((version) => {
  const dir = join(LINES, `axios-${version}`);
  return { version, dir: existsSync(dir) ? realpathSync(dir) : dir };
});
const missing = RELEASES.filter((release) => !existsSync(join(release.dir, 'index.d.ts')));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command to completion, failing only when it stops printing for CHILD_STALL_MS. */
async function run(file: string, args: readonly string[], cwd: string): Promise<Run> {
  let stdout = '';
  let stderr = '';
  let child: ReturnType<typeof execFile> | undefined;
  try {
    return await watched(
      (progress) =>
        new Promise<Run>((resolve, reject) => {
          child = execFile(file, args, { cwd, maxBuffer: 64 * 1024 * 1024 }, (error, out, err) => {
            if (error !== null && typeof error.code !== 'number')
              reject(new Error(`${file} failed to run: ${error.message}`));
            else resolve({ code: error === null ? 0 : (error.code as number), stdout: out, stderr: err });
          });
          child.stdout?.on('data', (chunk: string) => ((stdout += chunk), progress()));
          child.stderr?.on('data', (chunk: string) => ((stderr += chunk), progress()));
        }),
      { stallMs: CHILD_STALL_MS, detail: () => `${file} ${args.join(' ')}: ${stderr || stdout || 'no output'}` },
    );
  } finally {
    if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill();
  }
}

function ok(result: Run, what: string): Run {
  if (result.code !== 0)
    throw new Error(`${what} exited with ${String(result.code)}\n${result.stdout}\n${result.stderr}`);
  return result;
}

// Compiled, never run: the public API a user's code touches, and proof that the augmentation
// reached axios's config (an unused @ts-expect-error is an error too).
const CONSUMER_TS = `import axios, { type AxiosRequestConfig, type AxiosResponse } from 'axios';
import {
  attach,
  attemptOf,
  createClient,
  failureOf,
  type AttemptInfo,
  type GuardOptions,
  type GuardedInstance,
  type RequestOptions,
} from 'axios-reset-guard';

const options: GuardOptions = { retries: 2, freeSocketTimeout: 3000, retryStatuses: [503] };
const api = axios.create({ baseURL: 'http://orders.internal' });
const guard = attach(api, options);
const client: GuardedInstance = createClient({ retries: 1 }, { timeout: 1000 });
const perRequest: RequestOptions = { retries: 0, attemptHeader: true };
const config: AxiosRequestConfig<{ id: number }> = { data: { id: 1 }, resetGuard: { retryNonIdempotent: true } };
const fromConfig: RequestOptions | undefined = config.resetGuard;

export async function order(): Promise<AttemptInfo | undefined> {
  const res: AxiosResponse<{ id: number }> = await api.get<{ id: number }>('/orders/42', { resetGuard: perRequest });
  await client.post('/payments', { id: res.data.id }, config);
  await axios.request({ url: '/health', resetGuard: { retry: false } });
  // @ts-expect-error a misspelt option does not compile
  await api.get('/orders/42', { resetGuard: { retires: 2 } });
  // @ts-expect-error a wrong value type does not compile
  await api.get('/orders/42', { resetGuard: { retries: '2' } });
  return attemptOf(res);
}

export function explain(error: unknown): string {
  const info = failureOf(error);
  guard.detach();
  return [info?.reason, info?.attempt.attempt, fromConfig?.retries, client.guard.stats().retries].join(' ');
}
`;

const compilerOptions = { target: 'ES2022', strict: true, noEmit: true, esModuleInterop: true, skipLibCheck: false };
const TSCONFIGS = {
  node16: {
    compilerOptions: { ...compilerOptions, module: 'node16', moduleResolution: 'node16' },
    files: ['consumer.ts', 'consumer.mts'],
  },
  bundler: {
    compilerOptions: { ...compilerOptions, module: 'esnext', moduleResolution: 'bundler' },
    files: ['consumer.ts'],
  },
};

let work: string | undefined;
let packed: string;

/** A consumer project on one axios release: the packed guard and its dependencies copied, axios linked. */
function consumerOn(release: { version: string; dir: string }): string {
  if (work === undefined) throw new Error('no pack');
  const project = join(work, `axios-${release.version}`);
  const modules = join(project, 'node_modules');
  mkdirSync(join(modules, '@types'), { recursive: true });
  // copies, so that their `import 'axios'` resolves to this project's axios
  cpSync(packed, join(modules, 'axios-reset-guard'), { recursive: true });
  for (const dependency of ['axios-retry', 'agentkeepalive']) {
    cpSync(packageDir(dependency), join(modules, dependency), { recursive: true, dereference: true });
  }
  symlinkSync(release.dir, join(modules, 'axios'), 'dir');
  symlinkSync(packageDir('@types/node'), join(modules, '@types', 'node'), 'dir');
  const files: Record<string, string> = {
    'package.json': JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }),
    'consumer.ts': CONSUMER_TS,
    'consumer.mts': CONSUMER_TS,
  };
  for (const [name, tsconfig] of Object.entries(TSCONFIGS)) files[`tsconfig.${name}.json`] = JSON.stringify(tsconfig);
  // The repository's own source and settings, `axios` mapped to this release's typings.
  files['tsconfig.source.json'] = JSON.stringify({
    extends: join(ROOT, 'tsconfig.json'),
    compilerOptions: { noEmit: true, types: ['node'], paths: { axios: [join(release.dir, 'index.d.ts')] } },
    include: [join(ROOT, 'src')],
  });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(project, name), text);
  return project;
}

if (missing.length > 0 && !CI) {
  describe.skip(`packed types against axios releases (skipped: ${missing.map((r) => r.dir).join(', ')} missing; npm ci --prefix .ci/axios-lines --no-bin-links)`, () => {
    it('needs the axios lines', () => undefined);
  });
} else {
  beforeAll(async () => {
    if (missing.length > 0)
      throw new Error(
        `axios releases missing (npm ci --prefix .ci/axios-lines): ${missing.map((r) => r.dir).join(', ')}`,
      );
    work = mkdtempSync(join(tmpdir(), 'arg-types-lines-'));
    ok(await run('npm', ['pack', '--pack-destination', work], ROOT), 'npm pack');
    const tarball = readdirSync(work).find((file) => file.endsWith('.tgz'));
    if (tarball === undefined) throw new Error(`npm pack left no tarball in ${work}`);
    ok(await run('tar', ['-xzf', tarball], work), 'tar');
    packed = join(work, 'package');
  }, WATCHED_TIMEOUT_MS);

  afterAll(() => {
    if (work !== undefined) rmSync(work, { recursive: true, force: true });
  });

  describe.each(RELEASES)('axios $version', (release) => {
    let project: string;
    beforeAll(() => {
      project = consumerOn(release);
    });

    /** tsc's errors, and the axios declaration files it loaded (their real paths). */
    const compile = async (
      tsconfig: keyof typeof TSCONFIGS | 'source',
    ): Promise<{ errors: string[]; axios: string[] }> => {
      const result = await run(process.execPath, [TSC, '-p', `tsconfig.${tsconfig}.json`, '--listFiles'], project);
      const lines = result.stdout.split('\n');
      const errors = lines.filter((line) => /error TS\d+/.test(line));
      if (errors.length === 0) ok(result, `tsc -p tsconfig.${tsconfig}.json`);
      const axios = lines
        .filter((line) => line.startsWith(release.dir + '/'))
        .map((line) => line.slice(release.dir.length + 1));
      return { errors, axios };
    };

    it(
      'module node16: a CommonJS .ts and an ESM .mts compile with zero errors',
      async () => {
        const { errors, axios } = await compile('node16');
        expect(errors).toEqual([]);
        expect(axios.sort()).toEqual(['index.d.cts', 'index.d.ts']);
      },
      WATCHED_TIMEOUT_MS,
    );

    it(
      'moduleResolution bundler: compiles with zero errors',
      async () => {
        const { errors, axios } = await compile('bundler');
        expect(errors).toEqual([]);
        expect(axios).toEqual(['index.d.ts']);
      },
      WATCHED_TIMEOUT_MS,
    );

    it(
      "the package's source type-checks against this release's typings",
      async () => {
        const { errors, axios } = await compile('source');
        expect(errors).toEqual([]);
        expect(axios).toEqual(['index.d.ts']);
      },
      WATCHED_TIMEOUT_MS,
    );
  });
}
