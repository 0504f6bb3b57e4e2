/**
 * The README is for the reader who arrives with the error (issue #15): short, narrow, a working
 * `attach` on the first screen, and every relative link (there and in the docs it links to)
 * resolving to a file, and to a heading when it names one. Docs the README links to ship.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';

const root = join(__dirname, '..');
const read = (file: string): string => readFileSync(join(root, file), 'utf8');
const readme = read('README.md');
const lines = readme.split('\n');

/** Relative link targets of a markdown file, as `path#anchor` resolved from the repository root. */
function links(file: string): { target: string; anchor: string | undefined }[] {
  const text = read(file).replace(/```[\s\S]*?```/g, '');
  return [...text.matchAll(/\]\(([^)\s]+)\)/g)]
    .map((m) => m[1]!)
    .filter((href) => !/^[a-z]+:/i.test(href))
    .map((href) => {
      const [path, anchor] = href.split('#');
      const target = path ? relative(root, normalize(join(root, dirname(file), path))) : file;
      return { target, anchor };
    });
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens. */
function anchors(file: string): Set<string> {
  const headings = read(file)
    .replace(/```[\s\S]*?```/g, '')
    .split('\n')
    .filter((line) => /^#{1,6} /.test(line));
  return new Set(
    headings.map((h) =>
      h
        .replace(/^#+ /, '')
        .toLowerCase()
        .replace(/[^\p{L}\p{N} _-]/gu, '')
        .replace(/ /g, '-'),
    ),
  );
}

const markdown = ['README.md', 'CONTRIBUTING.md', ...readdirSync(join(root, 'docs')).map((f) => `docs/${f}`)].filter(
  (f) => f.endsWith('.md'),
);

describe('README.md', () => {
  it('is at most 160 lines of at most 120 characters', () => {
    expect(lines.length).toBeLessThanOrEqual(160);
    const wide = lines.filter((line) => line.length > 120);
    expect(wide).toEqual([]);
  });

  it('shows install and a working attach( within the first 30 lines', () => {
    const install = lines.findIndex((line) => line.includes('npm install axios-reset-guard'));
    const attach = lines.findIndex((line) => line.includes('attach('));
    expect(install).toBeGreaterThanOrEqual(0);
    expect(attach).toBeGreaterThan(install);
    expect(attach).toBeLessThan(30);
    expect(readme).toMatch(/read ECONNRESET/);
    expect(readme).toMatch(/socket hang up/);
    expect(lines.slice(0, 30).join('\n')).toContain('](docs/demo.svg)');
  });

  it('keeps the two commands of "From a clone"', () => {
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });

  it('links only to docs that ship', () => {
    const files = (JSON.parse(read('package.json')) as { files: string[] }).files;
    const docs = links('README.md')
      .map((l) => l.target)
      .filter((t) => t.startsWith('docs/'));
    expect(docs.length).toBeGreaterThanOrEqual(10);
    for (const doc of docs) expect(files).toContain(doc);
  });
});

describe.each(markdown)('relative links in %s', (file) => {
  it('resolve to a file, and to a heading when they name one', () => {
    const broken: string[] = [];
    for (const { target, anchor } of links(file)) {
      if (!existsSync(join(root, target))) broken.push(target);
      else if (anchor !== undefined && target.endsWith('.md') && !anchors(target).has(anchor)) {
        broken.push(`${target}#${anchor}`);
      }
    }
    expect(broken).toEqual([]);
  });
});
