import http from 'node:http';
import https from 'node:https';
import type { Duplex } from 'node:stream';
import { monotonicNow } from './clock';
import { hintedFreeSocketTimeout, learnedIdleLimit, parseKeepAlive, type KeepAliveHint } from './keep-alive';
import { DEFAULTS } from './normalize';

/**
 * What to do about the server probed, given the limit found and its `Keep-Alive` hint:
 * - `set`: paste `freeSocketTimeout: recommendedFreeSocketTimeout`;
 * - `keep-default`: the default freeSocketTimeout already stays under the limit;
 * - `hint-wins`: the guard's agents follow the hint (`expert.keepAliveHints`) to an idle time
 *   under the limit and under any freeSocketTimeout the limit allows: nothing to set;
 * - `no-reuse`: the hint is 1 s or less, and Node's agent then never reuses a connection:
 *   keep-alive does nothing for this server, whatever freeSocketTimeout says;
 * - `rerun`: nothing closed within `--max`, shorter than the default freeSocketTimeout
 *   and its margin: the probe cannot tell, rerun with a larger `--max`.
 */
export type ProbeAdvice = 'set' | 'keep-default' | 'hint-wins' | 'no-reuse' | 'rerun';

/** What `probe` found out about how long a server (or what sits in front) keeps an idle connection. */
export interface ProbeReport {
  readonly url: string;
  /** The server's `Keep-Alive` hint, if it sends one. */
  readonly hint: KeepAliveHint | undefined;
  /** `graceful-close`: a FIN arrived while idle; `silent-drop`: reuse after idling got a reset. */
  readonly kind: 'graceful-close' | 'silent-drop' | 'none-within-max';
  /** The idle limit lies in [lowMs, highMs] (highMs is maxMs when none was found). */
  readonly lowMs: number;
  readonly highMs: number;
  readonly maxMs: number;
  /** What to do: see {@link ProbeAdvice}. */
  readonly advice: ProbeAdvice;
  /** The freeSocketTimeout to set (a quarter under the limit), only when `advice` is `set`. */
  readonly recommendedFreeSocketTimeout: number | undefined;
  /**
   * How long a free socket to this server idles on the guard's agents once the advice is
   * followed: the freeSocketTimeout, cut by the hint rule (one second under `timeout=N`);
   * `undefined` when the probe could not tell.
   */
  readonly effectiveFreeSocketTimeout: number | undefined;
}

/** A default freeSocketTimeout needs this much more idle time seen without a close to be called safe. */
const MARGIN_MS = 1000;

export interface ProbeOptions {
  /** Longest idle time probed, in ms. */
  readonly maxMs: number;
  /** Connections idled in parallel per pass. */
  readonly connections?: number;
  readonly onProgress?: (elapsedMs: number, totalMs: number) => void;
}

/** Thrown for a bad URL or a peer that does not answer HTTP. */
export class ProbeError extends Error {
  override readonly name = 'ProbeError';
}

// Node's agent would honour the server's hint, cap idle time and send TCP keepalives
// (which refresh a middlebox's idle timer); the probe wants none of that.
class RawKeepAliveAgent extends http.Agent {
  override keepSocketAlive(socket: Duplex): boolean {
    const s = socket as Duplex & { setKeepAlive?: (on: boolean) => void; setTimeout?: (ms: number) => void };
    s.setKeepAlive?.(false);
    s.setTimeout?.(0);
    return true;
  }
}
class RawKeepAliveHttpsAgent extends https.Agent {
  override keepSocketAlive(socket: Duplex): boolean {
    return RawKeepAliveAgent.prototype.keepSocketAlive.call(this, socket);
  }
}

interface Outcome {
  readonly idleMs: number;
  /** When a FIN/close arrived while idle, ms after the first response; else undefined. */
  readonly closedAfterMs: number | undefined;
  /** Reuse after idleMs worked (undefined when the socket had already closed). */
  readonly reuseOk: boolean | undefined;
}

function get(url: URL, agent: http.Agent): Promise<{ res: http.IncomingMessage; socket: Duplex; reused: boolean }> {
  const request = url.protocol === 'https:' ? https.request : http.request;
  return new Promise((resolve, reject) => {
    const req = request(url, { agent, method: 'GET', headers: { connection: 'keep-alive' } }, (res) => {
      res.resume();
      res.on('end', () => resolve({ res, socket: req.socket as Duplex, reused: req.reusedSocket }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(10_000, () => req.destroy(new ProbeError(`no HTTP answer from ${url.origin} within 10 s`)));
    req.end();
  });
}

async function idleOnce(url: URL, idleMs: number, insecure: boolean): Promise<Outcome> {
  const agent =
    url.protocol === 'https:'
      ? new RawKeepAliveHttpsAgent({ keepAlive: true, maxSockets: 1, rejectUnauthorized: !insecure })
      : new RawKeepAliveAgent({ keepAlive: true, maxSockets: 1 });
  try {
    const first = await get(url, agent);
    // Monotonic: a wall-clock step during the idle must not move the close time measured.
    const start = monotonicNow();
    let closedAfterMs: number | undefined;
    first.socket.once('close', () => (closedAfterMs = Math.round(monotonicNow() - start)));
    await new Promise((r) => setTimeout(r, idleMs));
    if (closedAfterMs !== undefined) return { idleMs, closedAfterMs, reuseOk: undefined };
    try {
      const second = await get(url, agent);
      return { idleMs, closedAfterMs, reuseOk: second.reused ? true : undefined };
    } catch {
      return { idleMs, closedAfterMs, reuseOk: false };
    }
  } finally {
    agent.destroy();
  }
}

async function pass(url: URL, idles: readonly number[], insecure: boolean): Promise<Outcome[]> {
  return Promise.all(idles.map((ms) => idleOnce(url, ms, insecure)));
}

const ladder = (low: number, high: number, n: number): number[] =>
  Array.from({ length: n }, (_, i) => Math.round(low + ((high - low) * (i + 1)) / n));

/**
 * Measures how long `url`'s server (or a proxy, NAT or firewall in front of it) keeps an
 * idle keep-alive connection. Idles `connections` connections in parallel for times spread
 * up to `maxMs`, then once more within the bracket found, so it takes about maxMs plus a
 * tenth of it.
 */
export async function probe(rawUrl: string, options: ProbeOptions, insecure = false): Promise<ProbeReport> {
  let url: URL;
  try {
    url = new URL(rawUrl);
  } catch {
    throw new ProbeError(`not a URL: ${JSON.stringify(rawUrl)}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new ProbeError(`only http: and https: URLs can be probed, got ${url.protocol}`);
  }
  const n = options.connections ?? 10;
  const agent = url.protocol === 'https:' ? new https.Agent({ rejectUnauthorized: !insecure }) : new http.Agent();
  let hint: KeepAliveHint | undefined;
  try {
    const { res } = await get(url, agent);
    const parsed = parseKeepAlive(res.headers['keep-alive']);
    hint = parsed.timeoutSeconds === undefined && parsed.max === undefined ? undefined : parsed;
  } catch (error) {
    if (error instanceof ProbeError) throw error;
    const code = (error as { code?: string }).code;
    if (code?.startsWith('HPE_')) throw new ProbeError(`${url.origin} did not answer HTTP (${code})`);
    throw new ProbeError(`cannot reach ${url.origin}: ${code ?? (error as Error).message}`);
  } finally {
    agent.destroy();
  }

  const started = monotonicNow();
  const firstIdles = ladder(0, options.maxMs, n);
  const total = options.maxMs + options.maxMs / n;
  const timer = options.onProgress
    ? setInterval(() => options.onProgress?.(Math.round(monotonicNow() - started), total), 200)
    : undefined;
  try {
    const first = await pass(url, firstIdles, insecure);
    const closes = first.map((o) => o.closedAfterMs).filter((x): x is number => x !== undefined);
    if (closes.length > 0) {
      // a FIN is timed directly: the earliest one is the server's idle limit
      const at = Math.min(...closes);
      return report(url, hint, 'graceful-close', at, at, options.maxMs);
    }
    const okUpTo = Math.max(0, ...first.filter((o) => o.reuseOk === true).map((o) => o.idleMs));
    const failed = first.filter((o) => o.reuseOk === false).map((o) => o.idleMs);
    if (failed.length === 0) return report(url, hint, 'none-within-max', options.maxMs, options.maxMs, options.maxMs);
    const failFrom = Math.min(...failed);
    // refine within the bracket
    const second = await pass(url, ladder(okUpTo, failFrom, n), insecure);
    const low = Math.max(okUpTo, ...second.filter((o) => o.reuseOk === true).map((o) => o.idleMs));
    const high = Math.min(failFrom, ...second.filter((o) => o.reuseOk === false).map((o) => o.idleMs));
    return report(url, hint, 'silent-drop', low, Math.max(low, high), options.maxMs);
  } finally {
    if (timer) clearInterval(timer);
  }
}

function report(
  url: URL,
  hint: KeepAliveHint | undefined,
  kind: ProbeReport['kind'],
  lowMs: number,
  highMs: number,
  maxMs: number,
): ProbeReport {
  return Object.freeze({ url: url.href, hint, kind, lowMs, highMs, maxMs, ...advise(kind, lowMs, maxMs, hint) });
}

/**
 * The advice for a measurement: which of freeSocketTimeout and the server's hint decides
 * how long a free socket idles on the guard's agents (the shorter one), and what to set.
 */
export function advise(
  kind: ProbeReport['kind'],
  lowMs: number,
  maxMs: number,
  hint: KeepAliveHint | undefined,
): Pick<ProbeReport, 'advice' | 'recommendedFreeSocketTimeout' | 'effectiveFreeSocketTimeout'> {
  const fallback = DEFAULTS.freeSocketTimeout;
  // What the hint rule leaves of any freeSocketTimeout (Infinity: no hint).
  const hinted = hint?.timeoutSeconds === undefined ? Infinity : hintedFreeSocketTimeout(Infinity, hint.timeoutSeconds);
  if (hinted <= 0)
    return { advice: 'no-reuse', recommendedFreeSocketTimeout: undefined, effectiveFreeSocketTimeout: 0 };
  if (kind === 'none-within-max' && maxMs < fallback + MARGIN_MS) {
    return { advice: 'rerun', recommendedFreeSocketTimeout: undefined, effectiveFreeSocketTimeout: undefined };
  }
  const allowed = kind === 'none-within-max' ? fallback : Math.min(fallback, learnedIdleLimit(lowMs));
  if (hinted <= allowed) {
    return { advice: 'hint-wins', recommendedFreeSocketTimeout: undefined, effectiveFreeSocketTimeout: hinted };
  }
  if (allowed >= fallback) {
    return { advice: 'keep-default', recommendedFreeSocketTimeout: undefined, effectiveFreeSocketTimeout: fallback };
  }
  return { advice: 'set', recommendedFreeSocketTimeout: allowed, effectiveFreeSocketTimeout: allowed };
}
