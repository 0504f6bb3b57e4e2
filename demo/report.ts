/** The figures of a demo run and its tables (the SVG chart is chart.ts). */
import type { ClientName } from './clients';

export interface ClientResult {
  readonly client: ClientName;
  readonly requests: number;
  readonly failures: number;
  readonly successRate: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly extraAttempts: number;
  /** Error codes the app saw, with counts. */
  readonly errors: Readonly<Record<string, number>>;
}

export interface ScenarioResult {
  readonly id: number;
  readonly key: string;
  readonly title: string;
  readonly cause: string;
  readonly cureExpected: boolean;
  readonly results: readonly ClientResult[];
}

export interface DemoReport {
  readonly date: string;
  readonly machine: { readonly node: string; readonly cpus: number; readonly cpu: string; readonly platform: string };
  readonly quick: boolean;
  readonly durationMs: number;
  readonly scenarios: readonly ScenarioResult[];
}

/** Nearest-rank percentile of an unsorted list. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

const HEAD = [
  'client',
  'requests',
  'failures',
  'success',
  'p50 ms',
  'p95 ms',
  'extra attempts',
  'errors seen by the app',
];

export function renderTables(report: DemoReport): string {
  const out: string[] = [];
  for (const s of report.scenarios) {
    out.push(`\n${s.id}. ${s.title}\n   ${s.cause}`);
    const rows = s.results.map((r) => [
      r.client,
      String(r.requests),
      String(r.failures),
      `${(r.successRate * 100).toFixed(1)} %`,
      r.p50Ms.toFixed(1),
      r.p95Ms.toFixed(1),
      String(r.extraAttempts),
      Object.entries(r.errors)
        .map(([code, n]) => `${code} x${n}`)
        .join(', ') || '-',
    ]);
    const widths = HEAD.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]): string =>
      '   ' +
      cells
        .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ');
    out.push(line(HEAD), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
  }
  const m = report.machine;
  out.push(
    `\n${report.date} · Node ${m.node} · ${m.cpus} x ${m.cpu} · ${(report.durationMs / 1000).toFixed(1)} s${report.quick ? ' (--quick)' : ''}`,
  );
  return out.join('\n');
}
