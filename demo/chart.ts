/**
 * The SVG chart of a demo run (docs/demo.svg, the README's first picture): success rate,
 * p95 latency and the extra attempts each client sent, one bar per client per scenario.
 *
 * `layoutChart` is pure: it places every bar and label, and `textBox` estimates the box a
 * label takes, so a test can prove that no two labels overlap without rendering anything
 * (and a Chromium test checks the estimates against real text). `renderSvg` writes the
 * layout out, with the run's figures embedded so the chart can be checked against them.
 */
import type { ClientResult, DemoReport } from './report';

/** The README's column is about 880 px wide: drawn at that width, the chart is never scaled down. */
export const CHART_WIDTH = 880;
/** Bar colours, in the order of the clients. */
export const CLIENT_COLORS = ['#c0392b', '#e6a23c', '#2e86c1'] as const;
const FONT = "Helvetica, Arial, 'Liberation Sans', 'DejaVu Sans', sans-serif";

export interface ChartText {
  readonly x: number;
  /** Baseline. */
  readonly y: number;
  readonly text: string;
  readonly size: number;
  readonly anchor: 'start' | 'middle';
  readonly bold?: boolean;
  readonly fill?: string;
  /** What the label is, for tests: `title`, `legend`, `heading`, `value`, `group`, `name`, `footer`. */
  readonly role: string;
}

export interface ChartRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  readonly fill: string;
  /** `bar` or `swatch`. */
  readonly role: string;
}

export interface ChartLine {
  readonly x1: number;
  readonly x2: number;
  readonly y: number;
}

export interface ChartLayout {
  readonly width: number;
  readonly height: number;
  readonly texts: readonly ChartText[];
  readonly rects: readonly ChartRect[];
  readonly lines: readonly ChartLine[];
}

export interface Box {
  readonly left: number;
  readonly top: number;
  readonly right: number;
  readonly bottom: number;
}

// Advance widths in em, at or above those of the widest common sans-serif (DejaVu Sans
// Bold; Helvetica, Arial and Liberation Sans are narrower), so that an estimate is never
// short of the real text. The Chromium test measures real labels against them.
const NARROW = new Set([..."ijl.,:;|!' ·"]);
const SEMI = new Set([...'frt()[]-/I']);
const WIDE = new Set([...'mwMW%@']);
const SIGNS = new Set([...'+=<>~x']);

function advance(char: string): number {
  if (NARROW.has(char)) return 0.36;
  if (SEMI.has(char)) return 0.5;
  if (WIDE.has(char)) return 1.08;
  if (SIGNS.has(char)) return 0.86;
  if (char >= 'A' && char <= 'Z') return 0.82;
  return 0.72; // digits, other lower-case letters, anything else
}

/** Estimated width of `text` in px at `size` (bold adds 8 %). */
export function textWidth(text: string, size: number, bold = false): number {
  let em = 0;
  for (const char of text) em += advance(char);
  return em * size * (bold ? 1.08 : 1);
}

/**
 * The box a label takes: its estimated width, and the font's ascent (0.95 em, DejaVu Sans
 * has 0.93) above the baseline and descent (0.25 em) below, as a browser's text box has.
 */
export function textBox(t: ChartText): Box {
  const width = textWidth(t.text, t.size, t.bold);
  const left = t.anchor === 'middle' ? t.x - width / 2 : t.x;
  return { left, right: left + width, top: t.y - 0.95 * t.size, bottom: t.y + 0.25 * t.size };
}

export function rectBox(r: ChartRect): Box {
  return { left: r.x, top: r.y, right: r.x + r.width, bottom: r.y + r.height };
}

/** Strict overlap: boxes that only touch do not overlap. */
export function overlaps(a: Box, b: Box): boolean {
  return a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
}

/**
 * Splits `name` after its hyphens into lines no wider than `maxWidth`; a part too wide on
 * its own is cut between characters.
 */
export function wrapName(name: string, size: number, maxWidth: number): string[] {
  const lines: string[] = [];
  for (const part of name.split(/(?<=-)/)) {
    const last = lines[lines.length - 1];
    if (last !== undefined && textWidth(last + part, size) <= maxWidth) {
      lines[lines.length - 1] = last + part;
      continue;
    }
    lines.push('');
    for (const char of part) {
      const current = lines[lines.length - 1]!;
      if (current === '' || textWidth(current + char, size) <= maxWidth) lines[lines.length - 1] = current + char;
      else lines.push(char);
    }
  }
  return lines;
}

const WORDS = ['no', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];
/** A count as a word, up to twelve (the chart holds up to twelve scenarios). */
const countWord = (n: number): string => WORDS[n] ?? String(n);

const fixed =
  (digits: number) =>
  (v: number): string =>
    v.toFixed(digits);

interface Panel {
  readonly heading: string;
  readonly value: (r: ClientResult) => number;
  readonly format: (v: number) => string;
}

const PANELS: readonly Panel[] = [
  {
    heading: 'Requests that succeeded, % (higher is better)',
    value: (r) => r.successRate * 100,
    // never rounds a failure up to 100
    format: (v) => (Number.isInteger(v) ? String(v) : Math.min(99.9, Number(v.toFixed(1))).toFixed(1)),
  },
  {
    heading: 'p95 latency, ms (lower is better)',
    value: (r) => r.p95Ms,
    format: (v) => (v < 10 ? fixed(1)(v) : fixed(0)(v)),
  },
  {
    heading: 'Extra attempts sent: the load retries add to a struggling server (lower is better)',
    value: (r) => r.extraAttempts,
    format: fixed(0),
  },
];

const MARGIN = 16;
const BAR_AREA = 100; // height of the tallest bar
const HEADROOM = 30; // from a panel's top to its tallest bar: the heading, then a value label
const VALUE_SIZE = 9;
const NAME_SIZE = 10.5;
const LINE = 13;

/** Where everything goes: pure, from the report alone. */
export function layoutChart(report: DemoReport): ChartLayout {
  const groups = report.scenarios;
  const texts: ChartText[] = [];
  const rects: ChartRect[] = [];
  const lines: ChartLine[] = [];
  const width = CHART_WIDTH;
  const plotLeft = MARGIN;
  const plotRight = width - MARGIN;
  const groupW = (plotRight - plotLeft) / Math.max(1, groups.length);
  const pad = 6;
  const slotW = (groupW - 2 * pad) / 3;
  const centre = (gi: number): number => plotLeft + gi * groupW + groupW / 2;

  texts.push({
    x: MARGIN,
    y: 24,
    text: `axios-reset-guard demo: three clients, ${countWord(groups.length)} causes of resets`,
    size: 15,
    bold: true,
    anchor: 'start',
    role: 'title',
  });
  // legend: a swatch and the client's name, side by side
  let lx = MARGIN;
  (groups[0]?.results ?? []).forEach((r, ci) => {
    rects.push({ x: lx, y: 38, width: 12, height: 12, fill: CLIENT_COLORS[ci] ?? '#888', role: 'swatch' });
    texts.push({ x: lx + 17, y: 48, text: r.client, size: 12, anchor: 'start', role: 'legend' });
    lx += 17 + textWidth(r.client, 12) + 28;
  });

  let top = 64;
  PANELS.forEach((panel, pi) => {
    const last = pi === PANELS.length - 1;
    const max = Math.max(1, ...groups.flatMap((g) => g.results.map(panel.value)));
    const baseline = top + HEADROOM + BAR_AREA;
    texts.push({ x: MARGIN, y: top + 12, text: panel.heading, size: 12, bold: true, anchor: 'start', role: 'heading' });
    lines.push({ x1: plotLeft, x2: plotRight, y: baseline });
    groups.forEach((g, gi) => {
      g.results.forEach((r, ci) => {
        const v = panel.value(r);
        const h = Math.max(1, (v / max) * BAR_AREA);
        const x = plotLeft + gi * groupW + pad + ci * slotW;
        rects.push({
          x: x + 1,
          y: baseline - h,
          width: slotW - 2,
          height: h,
          fill: CLIENT_COLORS[ci] ?? '#888',
          role: 'bar',
        });
        const label = panel.format(v);
        texts.push({
          x: x + slotW / 2,
          y: baseline - h - 3,
          text: label,
          // a figure too wide for its bar's slot (5 digits) is set smaller, never over a neighbour
          size: Math.min(VALUE_SIZE, Math.floor((10 * (slotW - 1)) / textWidth(label, 1)) / 10),
          anchor: 'middle',
          role: 'value',
        });
      });
      if (!last) {
        texts.push({
          x: centre(gi),
          y: baseline + 13,
          text: String(g.id),
          size: 10,
          anchor: 'middle',
          fill: '#555',
          role: 'group',
        });
      }
    });
    top = baseline + (last ? 0 : 28);
  });

  // under the last panel: each scenario's number and name, wrapped after its hyphens
  let bottom = top;
  groups.forEach((g, gi) => {
    const nameLines = [String(g.id), ...wrapName(g.key, NAME_SIZE, groupW - 6)];
    nameLines.forEach((text, li) => {
      const y = top + 14 + li * LINE;
      texts.push({
        x: centre(gi),
        y,
        text,
        size: NAME_SIZE,
        bold: li === 0,
        anchor: 'middle',
        role: li === 0 ? 'group' : 'name',
      });
      bottom = Math.max(bottom, y);
    });
  });

  const m = report.machine;
  const run = report.quick ? 'a --quick run' : 'a full run';
  texts.push({
    x: MARGIN,
    y: bottom + 26,
    text: `Figures from ${run} of npm run demo, ${report.date.slice(0, 10)}, Node ${m.node}, ${m.cpus} cores, ${(report.durationMs / 1000).toFixed(1)} s`,
    size: 11,
    fill: '#555',
    anchor: 'start',
    role: 'footer',
  });
  return { width, height: Math.ceil(bottom + 38), texts, rects, lines };
}

const esc = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const num = (v: number): string => String(Math.round(v * 10) / 10);

/** The chart as an SVG document, the report it was drawn from embedded as JSON in `<metadata>`. */
export function renderSvg(report: DemoReport): string {
  const layout = layoutChart(report);
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${layout.width}" height="${layout.height}" viewBox="0 0 ${layout.width} ${layout.height}" font-family="${FONT}">`,
    `<title>axios-reset-guard demo: success rate, p95 latency and extra attempts per client and cause of ECONNRESET</title>`,
    `<metadata id="demo-report">${esc(JSON.stringify(report))}</metadata>`,
    `<rect width="100%" height="100%" fill="white"/>`,
  ];
  for (const l of layout.lines)
    out.push(`<line x1="${num(l.x1)}" y1="${num(l.y)}" x2="${num(l.x2)}" y2="${num(l.y)}" stroke="#888"/>`);
  for (const r of layout.rects) {
    out.push(
      `<rect x="${num(r.x)}" y="${num(r.y)}" width="${num(r.width)}" height="${num(r.height)}" fill="${r.fill}"/>`,
    );
  }
  for (const t of layout.texts) {
    const attrs = [
      `x="${num(t.x)}"`,
      `y="${num(t.y)}"`,
      `font-size="${t.size}"`,
      ...(t.anchor === 'middle' ? ['text-anchor="middle"'] : []),
      ...(t.bold === true ? ['font-weight="bold"'] : []),
      ...(t.fill === undefined ? [] : [`fill="${t.fill}"`]),
    ];
    out.push(`<text ${attrs.join(' ')}>${esc(t.text)}</text>`);
  }
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}

/** The report a chart made by `renderSvg` was drawn from. */
export function reportOfSvg(svg: string): DemoReport {
  const match = /<metadata id="demo-report">([^<]*)<\/metadata>/.exec(svg);
  if (match === null) throw new Error('no <metadata id="demo-report"> in this SVG');
  const json = match[1]!.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
  return JSON.parse(json) as DemoReport;
}
