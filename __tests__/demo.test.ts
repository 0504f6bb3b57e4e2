/** `npm run demo -- --quick`: shape of the output, and the guard's rows where the cure should work. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENTS } from '../demo/clients';
import { renderTables, type DemoReport } from '../demo/report';
import { SCENARIOS } from '../demo/scenarios';
import { watched } from '../testbed';
import { WATCHED_TIMEOUT_MS } from './support/timeouts';

let report: DemoReport;
let svg: string;

/**
 * Runs the demo to its end; fails when it prints no progress line (one per scenario, on
 * stderr) for the watchdog's stall limit, however long the whole run takes.
 */
function runDemo(args: readonly string[]): Promise<string> {
  const child = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', 'demo/run.ts', ...args], {
    cwd: join(__dirname, '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return watched(
    async (progress) => {
      child.stderr.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        progress();
      });
      const code = await exited;
      if (code !== 0) throw new Error(`the demo exited with ${String(code)}: ${stderr}`);
      return stdout;
    },
    { detail: () => `the demo's last progress: ${stderr.trim().split('\n').pop() ?? 'none'}` },
  ).finally(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill();
  });
}

beforeAll(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'arg-demo-'));
  try {
    const svgFile = join(dir, 'demo.svg');
    const stdout = await runDemo(['--quick', '--json', '--svg', svgFile]);
    report = JSON.parse(stdout) as DemoReport;
    svg = readFileSync(svgFile, 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}, WATCHED_TIMEOUT_MS);

it('reports every scenario for the three clients, with figures from the run', () => {
  expect(report.quick).toBe(true);
  expect(report.machine.node).toBe(process.version);
  expect(report.scenarios.map((s) => s.key)).toEqual(SCENARIOS.map((s) => s.key));
  for (const s of report.scenarios) {
    expect(s.results.map((r) => r.client)).toEqual([...CLIENTS]);
    for (const r of s.results) {
      expect(r.requests).toBeGreaterThan(0);
      expect(r.failures).toBeGreaterThanOrEqual(0);
      expect(r.successRate).toBeCloseTo((r.requests - r.failures) / r.requests, 10);
      expect(r.p95Ms).toBeGreaterThanOrEqual(r.p50Ms);
      expect(Object.values(r.errors).reduce((a, b) => a + b, 0)).toBe(r.failures);
    }
  }
});

it('the faults are real: plain axios meets resets or refusals', () => {
  const plain = report.scenarios.flatMap((s) => s.results.filter((r) => r.client === 'plain axios'));
  expect(plain.reduce((sum, r) => sum + r.failures, 0)).toBeGreaterThan(0);
});

it('the guard hides every failure where the cure is expected to work', () => {
  for (const s of report.scenarios.filter((x) => x.cureExpected)) {
    const guard = s.results.find((r) => r.client === 'axios + reset-guard')!;
    expect([s.key, guard.failures, guard.errors]).toEqual([s.key, 0, {}]);
  }
});

it("in an outage the retry budget caps the guard's extra attempts; axios-retry sends 3 per request", () => {
  const outage = report.scenarios.find((s) => s.key === 'outage-retry-storm')!;
  const by = (client: string) => outage.results.find((r) => r.client === client)!;
  expect(by('axios + reset-guard').failures).toBe(by('axios + reset-guard').requests);
  expect(by('axios + reset-guard').extraAttempts).toBeLessThanOrEqual(100);
  expect(by('axios + axios-retry').extraAttempts).toBe(3 * by('axios + axios-retry').requests);
});

describe('HTTP/2: the server restarts under load (GOAWAY, then a FIN)', () => {
  const h2 = () => report.scenarios.find((s) => s.key === 'http2-goaway-restart')!;
  const by = (client: string) => h2().results.find((r) => r.client === client)!;

  it("every client's server kept a ledger, and the restart was real: streams refused or cut under each client", () => {
    for (const r of h2().results) {
      expect(r.ledger).toBeDefined();
      expect(r.ledger!.refusedStreams + r.ledger!.cutStreams).toBeGreaterThan(0);
      expect(r.ledger!.postsApplied).toBeGreaterThan(0);
    }
    expect(by('plain axios').failures).toBeGreaterThan(0);
  });

  it('a request still pending at the bound is counted as a failure ("pending after 3 s"), so the demo ends', () => {
    for (const r of h2().results) {
      const pending = Object.keys(r.errors).filter((code) => code.startsWith('pending'));
      expect(pending.every((code) => code === 'pending after 3 s')).toBe(true);
    }
  });

  it('the guard never hangs (attemptTimeoutMs), never applies a POST twice, and fails only requests the server may have worked on', () => {
    const guard = by('axios + reset-guard');
    expect(Object.keys(guard.errors).filter((code) => code.startsWith('pending'))).toEqual([]);
    expect(guard.ledger!.appliedTwice).toBe(0);
    // streams above the GOAWAY's last-stream-id were never processed: retried, whatever the method
    expect(guard.failures).toBeLessThanOrEqual(guard.ledger!.cutStreams);
  });
});

it('prints one table per scenario and writes the SVG chart', () => {
  const text = renderTables(report);
  for (const s of SCENARIOS) expect(text).toContain(`${s.id}. ${s.title}`);
  expect(text).toContain('extra attempts');
  expect(text).toContain('applied twice');
  expect(svg.startsWith('<svg')).toBe(true);
  expect(svg.trim().endsWith('</svg>')).toBe(true);
  expect(svg.match(/<rect /g)!.length).toBeGreaterThanOrEqual(SCENARIOS.length * 3 * 2);
});
