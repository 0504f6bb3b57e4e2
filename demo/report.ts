/** Tables and the SVG chart of a demo run. */
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

const COLORS = ['#c0392b', '#e6a23c', '#2e86c1'];
const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;');

/** Two panels: success rate and p95 latency, one bar per client per scenario. */
export function renderSvg(report: DemoReport): string {
  const groups = report.scenarios;
  const W = 980;
  const left = 60;
  const groupW = (W - left - 20) / groups.length;
  const barW = (groupW - 24) / 3;
  const panelH = 170;
  const maxP95 = Math.max(1, ...groups.flatMap((g) => g.results.map((r) => r.p95Ms)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="520" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="20" font-size="14" font-weight="bold">axios-reset-guard demo: success rate and p95 latency per cause of ECONNRESET</text>`,
  ];
  const panel = (
    top: number,
    label: string,
    value: (r: ClientResult) => number,
    max: number,
    fmt: (v: number) => string,
  ): void => {
    parts.push(
      `<text x="10" y="${top + panelH / 2}" transform="rotate(-90 10 ${top + panelH / 2})" text-anchor="middle">${label}</text>`,
    );
    parts.push(`<line x1="${left}" y1="${top + panelH}" x2="${W - 20}" y2="${top + panelH}" stroke="#888"/>`);
    groups.forEach((g, gi) => {
      g.results.forEach((r, ci) => {
        const v = value(r);
        const h = Math.max(1, (v / max) * panelH);
        const x = left + gi * groupW + 12 + ci * barW;
        parts.push(
          `<rect x="${x.toFixed(1)}" y="${(top + panelH - h).toFixed(1)}" width="${(barW - 2).toFixed(1)}" height="${h.toFixed(1)}" fill="${COLORS[ci]}"/>`,
        );
        parts.push(
          `<text x="${(x + barW / 2).toFixed(1)}" y="${(top + panelH - h - 3).toFixed(1)}" text-anchor="middle" font-size="9">${fmt(v)}</text>`,
        );
      });
    });
  };
  panel(
    40,
    'success %',
    (r) => r.successRate * 100,
    100,
    (v) => v.toFixed(0),
  );
  panel(
    250,
    'p95 ms',
    (r) => r.p95Ms,
    maxP95,
    (v) => v.toFixed(0),
  );
  groups.forEach((g, gi) => {
    parts.push(
      `<text x="${(left + gi * groupW + groupW / 2).toFixed(1)}" y="440" text-anchor="middle">${g.id}. ${esc(g.key)}</text>`,
    );
  });
  groups[0]?.results.forEach((r, ci) => {
    parts.push(`<rect x="${left + ci * 200}" y="470" width="12" height="12" fill="${COLORS[ci]}"/>`);
    parts.push(`<text x="${left + ci * 200 + 18}" y="480">${esc(r.client)}</text>`);
  });
  parts.push(
    `<text x="${left}" y="510" fill="#555">${esc(report.date)} · Node ${esc(report.machine.node)} · ${report.machine.cpus} cores${report.quick ? ' · --quick' : ''}</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}
