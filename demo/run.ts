/**
 * `npm run demo`: every common cause of ECONNRESET, reproduced on loopback, through
 * plain axios, axios + axios-retry and axios + axios-reset-guard side by side.
 * Flags: --quick (CI), --json (raw figures on stdout), --svg <file> (chart). Progress goes to stderr.
 */
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pause } from '../testbed';
import { CLIENTS, makeClient, type ClientName } from './clients';
import { renderSvg } from './chart';
import { percentile, renderTables, type ClientResult, type DemoReport, type ScenarioResult } from './report';
import { SCENARIOS, type Scenario, type Traffic } from './scenarios';

async function drive(client: ClientName, scenario: Scenario, quick: boolean): Promise<ClientResult> {
  const target = await scenario.start();
  const { api, extraAttempts, close } = makeClient(client, target.url, target.ca, scenario.http2 === true);
  const traffic: Traffic = scenario.traffic(quick);
  const latencies: number[] = [];
  const errors: Record<string, number> = {};
  let failures = 0;
  const send = (i: number): Promise<unknown> => {
    const config = {
      ...(traffic.timeoutMs === undefined ? {} : { timeout: traffic.timeoutMs }),
      ...(traffic.guardAttemptTimeoutMs !== undefined && client === 'axios + reset-guard'
        ? { resetGuard: { attemptTimeoutMs: traffic.guardAttemptTimeoutMs } }
        : {}),
    };
    const method = traffic.method === 'mixed' ? (['get', 'post', 'keyed'] as const)[i % 3]! : traffic.method;
    if (method === 'get') return api.get(`/items?i=${i}`, config);
    const keyed = method === 'keyed' ? { headers: { 'Idempotency-Key': `demo-${i}` } } : {};
    return api.post('/orders', { id: i, item: 'demo' }, { ...config, ...keyed });
  };
  const one = async (i: number): Promise<void> => {
    const started = performance.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const request = send(i);
      if (traffic.boundMs === undefined) await request;
      else {
        // the demo's own bound: a hung request is counted, and left behind
        request.catch(() => undefined);
        const bound = new Promise<never>((_, reject) => {
          timer = setTimeout(
            () => reject(Object.assign(new Error('pending'), { code: `pending after ${traffic.boundMs! / 1000} s` })),
            traffic.boundMs,
          );
        });
        await Promise.race([request, bound]);
      }
    } catch (error) {
      failures += 1;
      const code = (error as { code?: string }).code ?? 'unknown';
      errors[code] = (errors[code] ?? 0) + 1;
    } finally {
      clearTimeout(timer);
    }
    latencies.push(performance.now() - started);
  };

  const t0 = performance.now();
  const during = target.during ? pause(target.during.atMs).then(() => target.during!.run()) : Promise.resolve();
  if (traffic.intervalMs !== undefined) {
    const inflight: Promise<void>[] = [];
    for (let i = 0; i < traffic.requests; i += 1) {
      inflight.push(one(i));
      await pause(traffic.intervalMs);
    }
    await Promise.all(inflight);
  } else {
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < traffic.requests) {
        const i = next++;
        await one(i);
        // a little jitter so requests land around, not exactly on, an idle boundary
        if (traffic.spacingMs) await pause(traffic.spacingMs + ((i * 7) % 5) * 10);
      }
    };
    await Promise.all(Array.from({ length: traffic.concurrency ?? 1 }, worker));
  }
  await during;
  void t0;
  const result: ClientResult = {
    client,
    requests: traffic.requests,
    failures,
    successRate: (traffic.requests - failures) / traffic.requests,
    p50Ms: percentile(latencies, 50),
    p95Ms: percentile(latencies, 95),
    extraAttempts: extraAttempts(),
    errors,
    ...(target.ledger ? { ledger: target.ledger() } : {}),
  };
  close();
  await target.close();
  return result;
}

export async function runDemo(
  quick: boolean,
  log: (line: string) => void = () => undefined,
  only?: string,
): Promise<DemoReport> {
  const started = performance.now();
  const scenarios: ScenarioResult[] = [];
  for (const s of SCENARIOS.filter((x) => only === undefined || x.key === only)) {
    log(`running ${s.id}/${SCENARIOS.length}: ${s.title} ...`);
    // the three clients run at once, each against its own copy of the faulty server
    const results = await Promise.all(CLIENTS.map((c) => drive(c, s, quick)));
    scenarios.push({ id: s.id, key: s.key, title: s.title, cause: s.cause, cureExpected: s.cureExpected, results });
  }
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    machine: {
      node: process.version,
      cpus: cpus.length,
      cpu: cpus[0]?.model.trim() ?? 'unknown',
      platform: `${os.platform()} ${os.arch()}`,
    },
    quick,
    durationMs: performance.now() - started,
    scenarios,
  };
}

async function main(argv: readonly string[]): Promise<void> {
  const quick = argv.includes('--quick');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt === -1 ? undefined : argv[onlyAt + 1];
  if (onlyAt !== -1 && !SCENARIOS.some((s) => s.key === only)) {
    process.stderr.write(`demo: --only needs a scenario key: ${SCENARIOS.map((s) => s.key).join(', ')}\n`);
    process.exitCode = 2;
    return;
  }
  const json = argv.includes('--json');
  const svgAt = argv.indexOf('--svg');
  const svgFile = svgAt === -1 ? undefined : argv[svgAt + 1];
  if (svgAt !== -1 && (svgFile === undefined || svgFile.startsWith('--'))) {
    process.stderr.write('demo: --svg needs a file name, e.g. --svg docs/demo.svg\n');
    process.exitCode = 2;
    return;
  }
  // progress on stderr in every mode (stdout holds only the tables or the JSON)
  const report = await runDemo(quick, (line) => process.stderr.write(`${line}\n`), only);
  if (svgFile !== undefined) writeFileSync(svgFile, renderSvg(report));
  process.stdout.write(json ? `${JSON.stringify(report, null, 2)}\n` : `${renderTables(report)}\n`);
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((error: unknown) => {
    process.stderr.write(`demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
