/**
 * `npm run bench`: the guard measured against the alternatives, side by side in one run.
 * The HTTP server the timed sections talk to runs in a child process (bench/server.ts,
 * 127.0.0.1), so its CPU is not spent on the client's event loop. Contenders are
 * interleaved round by round, in random order, so machine drift hits them alike; figures
 * are medians across rounds of per-round ratios between contenders, with their spread.
 * Writes bench/results.json (not with --quick or --only).
 * Flags: --quick (a short smoke run, about 20 s); --only <section> (one section, e.g. `cost`);
 * --agents (the cost section also times the guard on a bare agentkeepalive agent and on Node's
 * keep-alive agent, and axios on a bare agentkeepalive agent: what the guard's own agents cost).
 */
import { fork } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import axios, { type AxiosInstance } from 'axios';
import axiosRetry from 'axios-retry';
import HttpAgent from 'agentkeepalive';
import { attach, createClient } from '../src';
import { startHttpServer, startIdleDropProxy } from '../testbed';

const quick = process.argv.includes('--quick');
const agentsToo = process.argv.includes('--agents');
const onlyAt = process.argv.indexOf('--only');
const only = onlyAt === -1 ? undefined : process.argv[onlyAt + 1];
const gc = (globalThis as { gc?: () => void }).gc;
const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)]!;
};
/** The q-quantile of xs (linear interpolation between closest ranks). */
const quantile = (xs: readonly number[], q: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return 0;
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.min(s.length - 1, lo + 1);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
};
const round = (x: number, digits = 3): number => Number(x.toFixed(digits));
/** A shuffled copy (Fisher-Yates). */
const shuffle = <T>(items: readonly T[]): T[] => {
  const xs = [...items];
  for (let i = xs.length - 1; i > 0; i -= 1) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs;
};
const heap = (): number => {
  gc?.();
  return process.memoryUsage().heapUsed;
};

async function sequential(api: AxiosInstance, n: number, path = '/'): Promise<number> {
  const t = performance.now();
  for (let i = 0; i < n; i += 1) await api.get(path);
  return performance.now() - t;
}

async function concurrent(api: AxiosInstance, n: number, width: number): Promise<number> {
  let next = 0;
  const t = performance.now();
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) {
        next += 1;
        await api.get('/');
      }
    }),
  );
  return performance.now() - t;
}

/**
 * Both clients warmed up, then `rounds` rounds of `n` sequential GETs each, the two in
 * random order within a round, so neither always gets the warmer machine: the times in ms
 * and the guard/bare ratio of each round.
 */
async function interleaved(
  bare: AxiosInstance,
  guarded: AxiosInstance,
  rounds: number,
  n: number,
): Promise<{ times: { bare: number[]; guard: number[] }; ratios: number[] }> {
  await sequential(bare, 200);
  await sequential(guarded, 200);
  const times = { bare: [] as number[], guard: [] as number[] };
  const ratios: number[] = [];
  for (let r = 0; r < rounds; r += 1) {
    for (const who of shuffle(['bare', 'guard'] as const))
      times[who].push(await sequential(who === 'bare' ? bare : guarded, n));
    ratios.push(times.guard[r]! / times.bare[r]!);
  }
  return { times, ratios };
}

/** 1. Overhead: the guard vs bare axios over the same kind of agentkeepalive agent. */
async function overhead(url: string): Promise<Record<string, number>> {
  const rounds = quick ? 3 : 7;
  const n = quick ? 300 : 2000;
  const bareAgent = new HttpAgent({ keepAlive: true });
  const guardAgent = new HttpAgent({ keepAlive: true });
  const bare = axios.create({ baseURL: url, httpAgent: bareAgent });
  const guarded = axios.create({ baseURL: url, httpAgent: guardAgent });
  const guard = attach(guarded);
  const { times, ratios } = await interleaved(bare, guarded, rounds, n);
  // heap growth over a batch, with a young generation large enough to hold it
  // (run with --max-semi-space-size=64): an approximation of bytes allocated per request
  const perRequest = async (api: AxiosInstance): Promise<number> => {
    const before = heap();
    await sequential(api, 300);
    return (process.memoryUsage().heapUsed - before) / 300;
  };
  const bytes = { bare: [] as number[], guard: [] as number[] };
  for (let r = 0; r < 5; r += 1) {
    bytes.bare.push(await perRequest(bare));
    bytes.guard.push(await perRequest(guarded));
  }
  guard.detach();
  bareAgent.destroy();
  guardAgent.destroy();
  const bareMs = median(times.bare);
  const guardMs = median(times.guard);
  return {
    requestsPerRound: n,
    rounds,
    bareUsPerRequest: round((bareMs / n) * 1000, 1),
    guardUsPerRequest: round((guardMs / n) * 1000, 1),
    ...spread('time', ratios),
    // client side only (the server is in a child process); the difference is the guard's
    bareBytesPerRequest: Math.round(median(bytes.bare)),
    guardBytesPerRequest: Math.round(median(bytes.guard)),
    guardExtraBytesPerRequest: Math.round(median(bytes.guard) - median(bytes.bare)),
  };
}

/**
 * 1b. HTTP/2 overhead: the guard vs plain axios, both with `httpVersion: 2` (h2c) to the same
 * server, sequential GETs, rounds interleaved in random order. axios keeps one HTTP/2
 * session per authority and options for the whole process, so the two may share a
 * session; sequential rounds never use it at the same time.
 */
async function http2Overhead(url: string): Promise<Record<string, number>> {
  const rounds = quick ? 3 : 7;
  const n = quick ? 300 : 2000;
  const bare = axios.create({ baseURL: url, httpVersion: 2 });
  const guarded = axios.create({ baseURL: url, httpVersion: 2 });
  const guard = attach(guarded);
  const { times, ratios } = await interleaved(bare, guarded, rounds, n);
  guard.detach();
  return {
    requestsPerRound: n,
    rounds,
    bareUsPerRequest: round((median(times.bare) / n) * 1000, 1),
    guardUsPerRequest: round((median(times.guard) / n) * 1000, 1),
    ...spread('time', ratios),
  };
}

interface ChildServer {
  readonly port: number;
  readonly url: string;
  /** The same answers over HTTP/2 (h2c). */
  readonly h2Url: string;
  close(): Promise<void>;
}

/** Starts bench/server.ts in a child process; resolves once it listens. */
async function startChildServer(): Promise<ChildServer> {
  const child = fork(join(__dirname, 'server.ts'), [], {
    execArgv: ['-r', 'ts-node/register/transpile-only'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const { port, h2Port } = await new Promise<{ port: number; h2Port: number }>((resolve, reject) => {
    child.once('message', (m: { port: number; h2Port: number }) => resolve(m));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`bench server exited early (${code})`)));
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    h2Url: `http://127.0.0.1:${h2Port}`,
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.disconnect();
      }),
  };
}

/** Per-round ratios summarized: median, quartiles and extremes. */
function spread(prefix: string, ratios: readonly number[]): Record<string, number> {
  return {
    [`${prefix}RatioMedian`]: round(median(ratios)),
    [`${prefix}RatioQ1`]: round(quantile(ratios, 0.25)),
    [`${prefix}RatioQ3`]: round(quantile(ratios, 0.75)),
    [`${prefix}RatioMin`]: round(Math.min(...ratios)),
    [`${prefix}RatioMax`]: round(Math.max(...ratios)),
  };
}

/**
 * 2. Cost: the guard with its defaults vs axios + axios-retry as its README sets it up
 * (Node's default agent), at concurrency 1 and 32. Each round runs the contenders in
 * random order, each a warm-up then `n` timed GETs; the figure is the median of the
 * per-round ratios guard / axios-retry (of wall time, and of this process's CPU time).
 */
async function cost(url: string): Promise<Record<string, number | number[]>> {
  const rounds = quick ? 5 : 25;
  const n = quick ? 300 : 1000;
  const warm = quick ? 50 : 100;
  const guard = createClient({}, { baseURL: url });
  const retry = axios.create({ baseURL: url });
  // axios-retry's README setup (wrapped only because the lint forbids an unbound method)
  axiosRetry(retry, { retries: 3, retryDelay: (count, error) => axiosRetry.exponentialDelay(count, error) });
  // With --agents: the same guard on agents it did not create, and axios on agentkeepalive alone.
  const agents = agentsToo
    ? [new HttpAgent({ keepAlive: true }), new http.Agent({ keepAlive: true }), new HttpAgent({ keepAlive: true })]
    : [];
  const more: Record<string, AxiosInstance> = agentsToo
    ? {
        guardOnAgentkeepalive: createClient({}, { baseURL: url, httpAgent: agents[0] }),
        guardOnNodeAgent: createClient({}, { baseURL: url, httpAgent: agents[1] }),
        axiosAgentkeepalive: axios.create({ baseURL: url, httpAgent: agents[2] }),
      }
    : {};
  const contenders: Record<string, AxiosInstance> = { guard, axiosRetry: retry, ...more };
  type Name = string;
  const out: Record<string, number | number[]> = { rounds, requestsPerRound: n, warmUpPerRound: warm };
  for (const width of [1, 32]) {
    const ratios: number[] = [];
    const cpuRatios: number[] = [];
    const us: Record<Name, number[]> = Object.fromEntries(Object.keys(contenders).map((name) => [name, []]));
    // each extra contender's per-round ratio to axios-retry, and the guard's to the guard on agentkeepalive
    const extra: Record<string, { time: number[]; cpu: number[] }> = {};
    for (const name of [...Object.keys(more), 'guardOverGuardOnAgentkeepalive']) extra[name] = { time: [], cpu: [] };
    for (let r = 0; r < rounds; r += 1) {
      const ms = {} as Record<Name, number>;
      const cpu = {} as Record<Name, number>;
      for (const name of shuffle(Object.keys(contenders))) {
        const api = contenders[name]!;
        await concurrent(api, warm, width);
        const before = process.cpuUsage();
        ms[name] = await concurrent(api, n, width);
        const used = process.cpuUsage(before);
        cpu[name] = used.user + used.system;
        us[name]!.push((ms[name] / n) * 1000);
      }
      ratios.push(ms.guard! / ms.axiosRetry!);
      cpuRatios.push(cpu.guard! / cpu.axiosRetry!);
      for (const name of Object.keys(more)) {
        extra[name]!.time.push(ms[name]! / ms.axiosRetry!);
        extra[name]!.cpu.push(cpu[name]! / cpu.axiosRetry!);
      }
      if (agentsToo) {
        extra.guardOverGuardOnAgentkeepalive!.time.push(ms.guard! / ms.guardOnAgentkeepalive!);
        extra.guardOverGuardOnAgentkeepalive!.cpu.push(cpu.guard! / cpu.guardOnAgentkeepalive!);
      }
    }
    const c = `c${width}`;
    Object.assign(out, {
      [`${c}_guardUsPerRequest`]: round(median(us.guard!), 1),
      [`${c}_axiosRetryUsPerRequest`]: round(median(us.axiosRetry!), 1),
      ...spread(`${c}_time`, ratios),
      [`${c}_cpuRatioMedian`]: round(median(cpuRatios)),
      [`${c}_timeRatios`]: ratios.map((x) => round(x)),
    });
    if (agentsToo)
      for (const [name, figures] of Object.entries(extra))
        Object.assign(out, {
          ...spread(`${c}_${name}_time`, figures.time),
          [`${c}_${name}_cpuRatioMedian`]: round(median(figures.cpu)),
        });
  }
  guard.guard.detach();
  for (const api of Object.values(more)) (api as { guard?: { detach(): void } }).guard?.detach();
  for (const agent of agents) agent.destroy();
  return out;
}

/** 3. Recovery: latency of the request that meets one stale pooled socket. */
async function recovery(port: number): Promise<Record<string, number>> {
  const reps = quick ? 6 : 20;
  const proxy = await startIdleDropProxy(port, 600_000);
  const guardClient = createClient({}, { baseURL: proxy.url });
  const retryAgent = new HttpAgent({ keepAlive: true });
  const retryClient = axios.create({ baseURL: proxy.url, httpAgent: retryAgent });
  axiosRetry(retryClient, { retries: 3, retryDelay: (n, e) => axiosRetry.exponentialDelay(n, e) });
  const freshAgent = new http.Agent({ keepAlive: false });
  const fresh = axios.create({ baseURL: proxy.url, httpAgent: freshAgent });
  const ms = { guard: [] as number[], axiosRetry: [] as number[], freshConnection: [] as number[] };
  const stale = async (api: AxiosInstance): Promise<number> => {
    await api.get('/warm');
    proxy.dropAllNow();
    return sequential(api, 1, '/after-drop');
  };
  for (let r = 0; r < reps; r += 1) {
    ms.guard.push(await stale(guardClient));
    ms.axiosRetry.push(await stale(retryClient));
    ms.freshConnection.push(await sequential(fresh, 1));
  }
  guardClient.guard.detach();
  retryAgent.destroy();
  freshAgent.destroy();
  await proxy.close();
  const base = median(ms.freshConnection);
  return {
    reps,
    freshConnectionMs: round(base, 2),
    guardMs: round(median(ms.guard), 2),
    axiosRetryMs: round(median(ms.axiosRetry), 2),
    guardAddedMs: round(median(ms.guard) - base, 2),
    axiosRetryAddedMs: round(median(ms.axiosRetry) - base, 2),
  };
}

/**
 * 4. Storm: attempts sent per request while the server resets everything. The guard's
 * retry budget (500 tokens, 5 per retry) pays for 100 retries, then stops retrying.
 */
async function storm(): Promise<Record<string, number>> {
  const n = quick ? 100 : 400;
  const width = 32;
  const run = async (make: (url: string) => { api: AxiosInstance; done: () => void }): Promise<number> => {
    const server = await startHttpServer({ resetWhen: () => true });
    const { api, done } = make(server.url);
    let next = 0;
    await Promise.all(
      Array.from({ length: width }, async () => {
        while (next < n) {
          next += 1;
          await api.get('/').catch(() => undefined);
        }
      }),
    );
    done();
    await server.close();
    return server.hits / n;
  };
  const [guard, retry] = await Promise.all([
    run((url) => {
      const api = createClient({}, { baseURL: url });
      return { api, done: () => api.guard.detach() };
    }),
    run((url) => {
      const agent = new HttpAgent({ keepAlive: true });
      const api = axios.create({ baseURL: url, httpAgent: agent });
      axiosRetry(api, { retries: 3, retryDelay: (c, e) => axiosRetry.exponentialDelay(c, e) });
      return { api, done: () => agent.destroy() };
    }),
  ]);
  return {
    requests: n,
    concurrency: width,
    guardAttemptsPerRequest: round(guard, 2),
    axiosRetryAttemptsPerRequest: round(retry, 2),
  };
}

/** 5. Memory: heap after many requests through one guard does not grow with the count. */
async function memory(url: string): Promise<Record<string, number>> {
  const total = quick ? 10_000 : 100_000;
  const step = total / 10;
  const client = createClient({}, { baseURL: url });
  const samples: number[] = [];
  await concurrent(client, 500, 16);
  samples.push(heap());
  for (let done = 0; done < total; done += step) {
    await concurrent(client, step, 16);
    samples.push(heap());
  }
  client.guard.detach();
  const mb = (b: number): number => round(b / 1024 / 1024, 2);
  // least-squares slope of heap against sample index (per `step` requests)
  const xs = samples.map((_, i) => i);
  const mx = median(xs);
  const my = samples.reduce((a, b) => a + b, 0) / samples.length;
  const slope =
    xs.reduce((a, x, i) => a + (x - mx) * (samples[i]! - my), 0) / xs.reduce((a, x) => a + (x - mx) ** 2, 0);
  return {
    requests: total,
    firstMB: mb(samples[0]!),
    lastMB: mb(samples.at(-1)!),
    maxMB: mb(Math.max(...samples)),
    slopeKBPer10k: round(((slope / 1024) * 10_000) / step, 1),
  };
}

async function main(): Promise<void> {
  const started = performance.now();
  // The timed sections talk to a server in a child process (loopback), the same for every contender.
  const server = await startChildServer();
  const results: Record<string, Record<string, number | number[]>> = {};
  const step = async (name: string, fn: () => Promise<Record<string, number | number[]>>): Promise<void> => {
    if (only !== undefined && name !== only) return;
    process.stderr.write(`bench: ${name} ...\n`);
    results[name] = await fn();
  };
  await step('overhead', () => overhead(server.url));
  await step('http2Overhead', () => http2Overhead(server.h2Url));
  await step('cost', () => cost(server.url));
  await step('recovery', () => recovery(server.port));
  await step('storm', storm);
  await step('memory', () => memory(server.url));
  await server.close();
  const cpus = os.cpus();
  const report = {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: cpus.length,
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      platform: `${os.platform()} ${os.arch()}`,
    },
    quick,
    gcExposed: gc !== undefined,
    durationS: round((performance.now() - started) / 1000, 1),
    results,
  };
  for (const [name, figures] of Object.entries(results)) {
    process.stdout.write(`\n${name}\n`);
    for (const [k, v] of Object.entries(figures))
      process.stdout.write(`  ${k.padEnd(30)} ${Array.isArray(v) ? v.join(' ') : v}\n`);
  }
  process.stdout.write(
    `\n${report.date} · Node ${report.machine.node} · ${report.machine.cpus} x ${report.machine.cpu} · ${report.durationS} s\n`,
  );
  if (!quick && only === undefined)
    writeFileSync(join(__dirname, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exitCode = 1;
});
