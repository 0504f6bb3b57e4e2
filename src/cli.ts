#!/usr/bin/env node
/** `axios-reset-guard probe <url> [--max <seconds>] [--json] [--insecure]` */
import { DEFAULTS } from './normalize';
import { probe, ProbeError, type ProbeReport } from './probe';

const USAGE = 'usage: axios-reset-guard probe <url> [--max <seconds, default 65>] [--json] [--insecure]';

function human(r: ProbeReport): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const timeout = r.hint?.timeoutSeconds;
  const hint = r.hint
    ? `Keep-Alive hint: timeout=${timeout ?? '-'}${r.hint.max === undefined ? '' : `, max=${r.hint.max}`}`
    : 'Keep-Alive hint: none';
  const found =
    r.kind === 'graceful-close'
      ? `idle limit: ${s(r.lowMs)} (the far side closed idle connections gracefully, with a FIN)`
      : r.kind === 'silent-drop'
        ? `idle limit: between ${s(r.lowMs)} and ${s(r.highMs)} (silent drop: reuse after that got a reset)`
        : `idle limit: none within ${s(r.maxMs)}`;
  const effective = r.effectiveFreeSocketTimeout;
  const advice: Record<ProbeReport['advice'], () => string[]> = {
    rerun: () => [
      `nothing closed within ${s(r.maxMs)}: rerun with a larger --max (at least ${(DEFAULTS.freeSocketTimeout + 1000) / 1000} s, ` +
        `to cover the default freeSocketTimeout of ${DEFAULTS.freeSocketTimeout} ms)`,
    ],
    'no-reuse': () => [
      `the hint wins: timeout=${timeout} leaves no idle time (Node's agent does not reuse a connection announced ` +
        'for 1 s or less), so keep-alive does nothing for this server, whatever freeSocketTimeout says',
    ],
    'hint-wins': () => [
      `the hint wins: the guard's agents keep a free socket at most ${effective} ms (one second under timeout=${timeout}), ` +
        `which the idle limit allows: nothing to set (expert: { keepAliveHints: false } would ignore the hint)`,
    ],
    'keep-default': () => [
      `keep the default freeSocketTimeout (${effective} ms): the far side keeps idle connections longer` +
        (timeout === undefined ? '' : `, and it wins over the hint (timeout=${timeout})`),
    ],
    set: () => [
      `recommended freeSocketTimeout: ${r.recommendedFreeSocketTimeout} ms (a quarter under the limit)` +
        (timeout === undefined ? '' : `; it wins over the hint (timeout=${timeout} would allow more)`),
      `  attach(api, { freeSocketTimeout: ${r.recommendedFreeSocketTimeout} });`,
    ],
  };
  return [r.url, found, hint, ...advice[r.advice]()].join('\n');
}

/** The installed package's version, read from its package.json (two levels up in dist/cjs). */
function version(): string {
  for (const path of ['../../package.json', '../package.json']) {
    try {
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'axios-reset-guard' && typeof pkg.version === 'string') return pkg.version;
    } catch {
      // not at this depth (dist/cjs when installed, src/ in the repository)
    }
  }
  return 'unknown';
}

type Out = Pick<NodeJS.WriteStream, 'write'>;
type Err = Pick<NodeJS.WriteStream, 'write'> & { isTTY?: boolean };

export async function main(
  argv: readonly string[],
  out: Out = process.stdout,
  err: Err = process.stderr,
): Promise<number> {
  const [command, url, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    out.write(`${version()}\n`);
    return 0;
  }
  if (command === '--help' || command === '-h' || command === 'help' || (command === 'probe' && url === '--help')) {
    out.write(
      `${USAGE}\n\nMeasures how long the server (or a middlebox on the way) keeps an idle keep-alive\nconnection, and prints the freeSocketTimeout to use.\n`,
    );
    return 0;
  }
  if (command !== 'probe' || url === undefined || url.startsWith('--')) {
    err.write(`${USAGE}\n`);
    return 2;
  }
  const json = rest.includes('--json');
  const insecure = rest.includes('--insecure');
  const maxAt = rest.indexOf('--max');
  const maxSeconds = maxAt === -1 ? 65 : Number(rest[maxAt + 1]);
  if (!Number.isFinite(maxSeconds) || maxSeconds <= 0 || maxSeconds > 3600) {
    err.write(`axios-reset-guard: --max must be a number of seconds from 0 to 3600, got ${String(rest[maxAt + 1])}\n`);
    return 2;
  }
  const live = !json && err.isTTY === true;
  try {
    const report = await probe(
      url,
      {
        maxMs: Math.round(maxSeconds * 1000),
        ...(live
          ? {
              onProgress: (elapsed: number, total: number) =>
                err.write(
                  `\rprobing idle connections: ${(elapsed / 1000).toFixed(1)} s of about ${(total / 1000).toFixed(0)} s `,
                ),
            }
          : {}),
      },
      insecure,
    );
    if (live) err.write('\n');
    out.write(json ? `${JSON.stringify(report)}\n` : `${human(report)}\n`);
    return 0;
  } catch (error) {
    if (live) err.write('\n');
    const message =
      error instanceof ProbeError ? error.message : error instanceof Error ? error.message : String(error);
    err.write(`axios-reset-guard: ${message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
