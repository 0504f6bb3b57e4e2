/** The figures of a demo run and its tables (the SVG chart is chart.ts). */
import type { ClientName } from './clients';
import type { H2Ledger } from './h2-server';

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
  /** The server's ledger, where the scenario keeps one (HTTP/2): writes applied, and applied twice. */
  readonly ledger?: H2Ledger;
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

/** Extra columns for a scenario whose server keeps a ledger of the writes it applied. */
const LEDGER_HEAD = ['POSTs applied', 'applied twice'];

export function renderTables(report: DemoReport): string {
  const out: string[] = [];
  for (const s of report.scenarios) {
    out.push(`\n${s.id}. ${s.title}\n   ${s.cause}`);
    const ledger = s.results.some((r) => r.ledger !== undefined);
    const head = ledger ? [...HEAD.slice(0, -1), ...LEDGER_HEAD, HEAD.at(-1)!] : HEAD;
    const rows = s.results.map((r) => [
      r.client,
      String(r.requests),
      String(r.failures),
      `${(r.successRate * 100).toFixed(1)} %`,
      r.p50Ms.toFixed(1),
      r.p95Ms.toFixed(1),
      String(r.extraAttempts),
      ...(ledger ? [String(r.ledger?.postsApplied ?? '-'), String(r.ledger?.appliedTwice ?? '-')] : []),
      Object.entries(r.errors)
        .map(([code, n]) => `${code} x${n}`)
        .join(', ') || '-',
    ]);
    const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
    const line = (cells: readonly string[]): string =>
      '   ' +
      cells
        .map((c, i) => (i === 0 || i === cells.length - 1 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
        .join('  ')
        .trimEnd();
    out.push(line(head), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line));
    for (const r of s.results.filter((x) => x.ledger !== undefined)) {
      const l = r.ledger!;
      out.push(
        `   ${r.client}'s server: ${l.refusedStreams} streams refused unprocessed (above the GOAWAY's last-stream-id), ${l.cutStreams} cut by the FIN while being worked on, ${l.keyedReplays} keyed POSTs answered without applying them again`,
      );
    }
  }
  const m = report.machine;
  out.push(
    `\n${report.date} · Node ${m.node} · ${m.cpus} x ${m.cpu} · ${(report.durationMs / 1000).toFixed(1)} s${report.quick ? ' (--quick)' : ''}`,
  );
  return out.join('\n');
}
