/**
 * docs/demo.svg, the first picture a visitor sees (README top), drawn by demo/chart.ts
 * from a real demo run (`npm run demo -- --svg docs/demo.svg`).
 *
 * Pure: the committed file is exactly what the generator draws from the figures it embeds,
 * and no label's box overlaps another label or a bar, for that run and for any figures.
 * Chromium (Debian's `chromium`, installed by `.ci/run`): the chart renders to a PNG of its
 * size that is not blank and shows the three clients' bars, and every real text box lies
 * within the box the layout estimated (so the pure test's boxes are not optimistic).
 * A missing Chromium skips those tests with the reason, except under CI=true, where they fail.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import {
  CHART_WIDTH,
  CLIENT_COLORS,
  layoutChart,
  overlaps,
  rectBox,
  renderSvg,
  reportOfSvg,
  textBox,
  type Box,
  type ChartLayout,
} from '../demo/chart';
import { CLIENTS } from '../demo/clients';
import type { DemoReport } from '../demo/report';
import { SCENARIOS } from '../demo/scenarios';
import { countPixels, decodePng, dumpDom, findChromium, screenshot } from './support/picture';

const CI = process.env.CI === 'true';
const FILE = join(__dirname, '..', 'docs', 'demo.svg');
const svg = readFileSync(FILE, 'utf8');
const report = reportOfSvg(svg);
const layout = layoutChart(report);

/** Every way a label is in the way: out of the canvas, over another label, over a bar or swatch. */
function clashes(chart: ChartLayout): string[] {
  const found: string[] = [];
  const boxes = chart.texts.map(textBox);
  const name = (i: number): string => `${chart.texts[i]!.role} "${chart.texts[i]!.text}"`;
  boxes.forEach((a, i) => {
    if (a.left < 0 || a.top < 0 || a.right > chart.width || a.bottom > chart.height)
      found.push(`${name(i)} leaves the canvas`);
    for (let j = i + 1; j < boxes.length; j += 1)
      if (overlaps(a, boxes[j]!)) found.push(`${name(i)} overlaps ${name(j)}`);
    for (const rect of chart.rects) if (overlaps(a, rectBox(rect))) found.push(`${name(i)} overlaps a ${rect.role}`);
  });
  return found;
}

describe('the committed chart (pure)', () => {
  it('is what demo/chart.ts draws from the full demo run it embeds', () => {
    expect(report.quick).toBe(false);
    expect(report.scenarios.map((s) => s.key)).toEqual(SCENARIOS.map((s) => s.key));
    for (const s of report.scenarios) expect(s.results.map((r) => r.client)).toEqual([...CLIENTS]);
    expect(renderSvg(report)).toBe(svg);
  });

  it('is drawn at the README’s width: three panels (success, p95, extra attempts), a bar per client and scenario in each', () => {
    expect(layout.width).toBe(CHART_WIDTH);
    expect(layout.texts.filter((t) => t.role === 'heading').map((t) => t.text)).toEqual([
      expect.stringMatching(/^Requests that succeeded/),
      expect.stringMatching(/^p95 latency/),
      expect.stringMatching(/^Extra attempts sent/),
    ]);
    expect(layout.rects.filter((r) => r.role === 'bar')).toHaveLength(3 * SCENARIOS.length * CLIENTS.length);
    // the extra-attempts panel shows the run's figures, e.g. the outage's retry storm
    const outage = report.scenarios.find((s) => s.key === 'outage-retry-storm')!;
    const values = layout.texts.filter((t) => t.role === 'value').map((t) => t.text);
    for (const r of outage.results) expect(values).toContain(String(r.extraAttempts));
  });

  it('no label overlaps another label, a bar or the legend, and every label lies inside the canvas', () => {
    expect(clashes(layout)).toEqual([]);
    // the scenario names are all there, whole, if wrapped
    const names = layout.texts.filter((t) => t.role === 'name').map((t) => t.text);
    expect(names.join('')).toBe(SCENARIOS.map((s) => s.key).join(''));
  });

  it('for any figures and names (1 to 12 scenarios), no label is in the way either', () => {
    const client = (name: (typeof CLIENTS)[number]) =>
      fc.record({
        client: fc.constant(name),
        requests: fc.constant(100),
        failures: fc.constant(0),
        successRate: fc.double({ min: 0, max: 1, noNaN: true }),
        p50Ms: fc.constant(1),
        p95Ms: fc.double({ min: 0, max: 99_999, noNaN: true }),
        extraAttempts: fc.integer({ min: 0, max: 99_999 }),
        errors: fc.constant({}),
      });
    const scenario = fc.record({
      id: fc.integer({ min: 1, max: 99 }),
      key: fc.stringMatching(/^[a-z][a-z-]{0,39}$/),
      title: fc.constant(''),
      cause: fc.constant(''),
      cureExpected: fc.boolean(),
      results: fc.tuple(...CLIENTS.map(client)),
    });
    fc.assert(
      fc.property(fc.array(scenario, { minLength: 1, maxLength: 12 }), fc.boolean(), (scenarios, quick) => {
        const any: DemoReport = { ...report, quick, scenarios };
        expect(clashes(layoutChart(any))).toEqual([]);
      }),
      { numRuns: 200 },
    );
  });
});

const chromium = findChromium();
const warned = { done: false };

/** Runs with Chromium; without one, skipped with the reason, or failed under CI=true. */
function withChromium(title: string, body: (binary: string, dir: string) => Promise<void>): void {
  if (chromium !== undefined) {
    it(
      title,
      async () => {
        const dir = mkdtempSync(join(tmpdir(), 'arg-chart-'));
        try {
          await body(chromium, dir);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
      10 * 60_000, // a backstop only: Chromium takes seconds, more on a busy machine
    );
  } else if (CI) {
    it(`${title} (chromium is required under CI=true)`, () => {
      throw new Error('chromium not found in PATH or /usr/sbin; .ci/run installs it with apt-get');
    });
  } else {
    const reason = 'no chromium binary (not in PATH or /usr/sbin; apt-get install chromium)';
    if (!warned.done) console.warn(`demo-chart.test.ts: skipping the rendering tests: ${reason}`);
    warned.done = true;
    it.skip(`${title} (skipped: ${reason})`, () => undefined);
  }
}

const hex = (colour: string): [number, number, number] =>
  [1, 3, 5].map((i) => parseInt(colour.slice(i, i + 2), 16)) as [number, number, number];

describe('the committed chart, rendered by Chromium', () => {
  withChromium(
    'renders to a PNG of the chart’s size that is not blank, with bars in each client’s colour',
    async (binary, dir) => {
      const png = join(dir, 'demo.png');
      await screenshot(binary, FILE, png, layout.width, layout.height);
      const image = decodePng(readFileSync(png));
      expect([image.width, image.height]).toEqual([layout.width, layout.height]);
      const all = image.width * image.height;
      const white = countPixels(image, [255, 255, 255], 8);
      // bars, labels and lines: a good part of the picture, yet it is mostly background
      expect(all - white).toBeGreaterThan(0.05 * all);
      expect(white).toBeGreaterThan(0.5 * all);
      // each client's bars, in its colour (a bar's inside is its exact colour)
      const barArea = (fill: string): number =>
        layout.rects.filter((r) => r.role === 'bar' && r.fill === fill).reduce((sum, r) => sum + r.width * r.height, 0);
      for (const colour of CLIENT_COLORS) {
        expect(countPixels(image, hex(colour), 2)).toBeGreaterThan(0.5 * barArea(colour));
      }
    },
  );

  withChromium(
    'every real text box lies within its estimated box (as drawn, and in DejaVu Sans and Liberation Sans)',
    async (binary, dir) => {
      // The chart inline in a page whose script measures each label (getBBox) in three fonts.
      const page = join(dir, 'measure.html');
      writeFileSync(
        page,
        `<!doctype html><html><body style="margin:0">${svg}<pre id="boxes"></pre><script>
const chart = document.querySelector('svg');
const measure = () => [...chart.querySelectorAll('text')].map((t) => { const b = t.getBBox(); return [b.x, b.y, b.width, b.height]; });
const boxes = { drawn: measure() };
for (const font of ['DejaVu Sans', 'Liberation Sans']) { chart.setAttribute('font-family', "'" + font + "'"); boxes[font] = measure(); }
document.getElementById('boxes').textContent = JSON.stringify(boxes);
</script></body></html>`,
      );
      const dom = await dumpDom(binary, page);
      const json = /<pre id="boxes">([^<]*)<\/pre>/.exec(dom)?.[1];
      expect(json).toBeDefined();
      const measured = JSON.parse(json!) as Record<string, [number, number, number, number][]>;
      const estimated: Box[] = layout.texts.map(textBox);
      const outside: string[] = [];
      for (const [font, boxes] of Object.entries(measured)) {
        expect(boxes).toHaveLength(estimated.length);
        boxes.forEach(([x, y, w, h], i) => {
          const e = estimated[i]!;
          const slack = 0.5; // sub-pixel rounding
          if (
            w === 0 ||
            x < e.left - slack ||
            x + w > e.right + slack ||
            y < e.top - slack ||
            y + h > e.bottom + slack
          ) {
            outside.push(
              `${font}: "${layout.texts[i]!.text}" measures ${[x, y, x + w, y + h].map((v) => v.toFixed(1)).join(',')}, estimated ${[e.left, e.top, e.right, e.bottom].map((v) => v.toFixed(1)).join(',')}`,
            );
          }
        });
      }
      expect(outside).toEqual([]);
    },
  );
});
