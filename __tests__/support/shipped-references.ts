/**
 * What a shipped doc (markdown, or a TSDoc comment of a packed .d.ts) points at, and which
 * of those pointers are dead for someone who has only the tarball: a relative link or a
 * file path that is not in it, a link into the repository at a file the repository lacks,
 * or a command only a clone can run (`npm run demo`, `npm test`, `.ci/run`) with no link
 * to the repository beside it (in its markdown section, or its comment), or a `#anchor`
 * naming no heading of the shipped markdown it points into. Pure: the caller says what
 * shipped and what the repository holds.
 */
import { posix } from 'node:path';

export interface Shipped {
  /** Paths inside the package (`docs/testing.md`, `dist/cjs/index.d.ts`). */
  readonly files: ReadonlySet<string>;
  /** The repository's tracked files, relative to its root. */
  readonly repositoryFiles: ReadonlySet<string>;
  /** `https://github.com/owner/name`, without a trailing slash. */
  readonly repositoryUrl: string;
  /** The package's npm scripts (meaningful only in a clone). */
  readonly scripts: readonly string[];
  /** The heading anchors of shipped markdown files, by path ({@link headingAnchors}). */
  readonly headings?: ReadonlyMap<string, ReadonlySet<string>>;
}

/**
 * The anchors a markdown file's headings get, as GitHub and npm render them: lower case,
 * punctuation dropped, spaces as dashes, `-1`, `-2` after a repeat.
 */
export function headingAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? undefined : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const slug = heading
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    anchors.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return anchors;
}

/** Names every user's project has its own of: a doc may mention the user's file. */
const USERS_OWN = new Set(['package.json', 'package-lock.json', 'tsconfig.json', 'jest.config.ts']);

const LINK = /!?\[([^\]]*)\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g;
const TOKEN_SPLIT = /[\s`()[\],;'"<>{}|*]+/;
const FILE_EXTENSION = /\.(ts|mts|cts|js|mjs|cjs|md|json|svg|sh)$/;

function shippedPath(files: ReadonlySet<string>, path: string): boolean {
  const bare = path.replace(/\/$/, '');
  if (files.has(bare)) return true;
  for (const file of files) if (file.startsWith(`${bare}/`)) return true; // a folder that ships
  return false;
}

function inRepository(shipped: Shipped, path: string): boolean {
  return path === '' || shippedPath(shipped.repositoryFiles, path);
}

function topLevel(shipped: Shipped): Set<string> {
  return new Set([...shipped.repositoryFiles].map((file) => file.split('/')[0] ?? file));
}

function basenames(files: ReadonlySet<string>): Set<string> {
  return new Set([...files].map((file) => posix.basename(file)));
}

/**
 * One block of text (a markdown section or a TSDoc comment) read from `file`: its links,
 * the repository files it names, and clone-only commands.
 */
function checkBlock(
  file: string,
  lines: readonly { n: number; text: string; code: boolean }[],
  shipped: Shipped,
  ownAnchors?: ReadonlySet<string>,
): string[] {
  const dead: string[] = [];
  const dir = posix.dirname(file);
  const repoLink = `](${shipped.repositoryUrl}`;
  const blockLinksRepository = lines.some(
    (line) => line.text.includes(repoLink) || line.text.includes(`{@link ${shipped.repositoryUrl}`),
  );
  const tops = topLevel(shipped);
  const repoNames = basenames(shipped.repositoryFiles);
  const shippedNames = basenames(shipped.files);
  const where = (n: number, what: string, why: string): string => `${file}:${n}: ${what}: ${why}`;
  const commands = new RegExp(
    `\\bnpm (?:run(?:-script)? (${shipped.scripts.map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})\\b|test\\b)|(?:^|[\\s\`(])(?:bash )?\\.ci/run\\b`,
    'g',
  );

  for (const { n, text, code } of lines) {
    for (const match of text.matchAll(commands)) {
      if (!blockLinksRepository)
        dead.push(where(n, match[0].trim(), 'a command of a clone, with no repository link beside it'));
    }
    if (code) continue; // code blocks hold the user's own files and imports
    let prose = text;
    for (const match of text.matchAll(LINK)) {
      const target = match[2] ?? '';
      prose = prose.replace(match[0], target.startsWith(shipped.repositoryUrl) ? ' ' : ` ${match[1] ?? ''} `);
      if (target.startsWith(shipped.repositoryUrl)) {
        const rest = target.slice(shipped.repositoryUrl.length).replace(/#.*$/, '');
        const path = /^\/(?:blob|tree)\/[^/]+\/([^?]*)/.exec(rest)?.[1];
        if (rest !== '' && (path === undefined || !inRepository(shipped, path))) {
          dead.push(where(n, target, 'not a file of the repository'));
        }
      } else if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) {
        const [relative = '', anchor] = target.split('#');
        const path = relative === '' ? file : posix.normalize(posix.join(dir, relative));
        if (!shippedPath(shipped.files, path)) dead.push(where(n, target, 'not in the tarball'));
        else if (anchor !== undefined) {
          const anchors = path === file ? ownAnchors : shipped.headings?.get(path);
          if (anchors !== undefined && !anchors.has(anchor)) dead.push(where(n, target, `no such heading in ${path}`));
        }
      }
    }
    prose = prose.replace(/\{@link [^}]*\}/g, ' ');
    for (const raw of prose.split(TOKEN_SPLIT)) {
      const token = raw.replace(/^node_modules\/axios-reset-guard\//, '').replace(/[.:]+$/, '');
      if (token === '' || /^[a-z][a-z0-9+.-]*:/i.test(token)) continue;
      const path = token.replace(/^\.\//, '');
      if (path.includes('/')) {
        if (!tops.has(path.split('/')[0] ?? '')) continue; // not a path of this repository
        if (!shippedPath(shipped.files, path) && !shippedPath(shipped.files, posix.join(dir, path))) {
          dead.push(where(n, token, 'not in the tarball'));
        }
      } else if (FILE_EXTENSION.test(path) && repoNames.has(path) && !USERS_OWN.has(path)) {
        // A module named in a .d.ts comment ships beside it as its own declarations.
        const declarations = path.replace(/\.ts$/, '.d.ts');
        const beside = file.endsWith('.d.ts') || file.endsWith('.d.mts');
        const ok =
          shippedNames.has(path) ||
          (beside &&
            (shipped.files.has(posix.join(dir, declarations)) ||
              shipped.files.has(posix.join(dir, path.replace(/\.ts$/, '.d.mts')))));
        if (!ok) dead.push(where(n, token, 'a file of the repository, not in the tarball'));
      }
    }
  }
  return dead;
}

/** Dead references of a shipped markdown file, one line each (`file:line: what: why`). */
export function deadReferencesInMarkdown(file: string, text: string, shipped: Shipped): string[] {
  const sections: { n: number; text: string; code: boolean }[][] = [[]];
  let fenced = false;
  text.split('\n').forEach((line, i) => {
    if (/^\s*(```|~~~)/.test(line)) {
      fenced = !fenced;
      return;
    }
    if (!fenced && /^#{1,6} /.test(line)) sections.push([]);
    sections[sections.length - 1]?.push({ n: i + 1, text: line, code: fenced });
  });
  const anchors = headingAnchors(text);
  return sections.flatMap((section) => checkBlock(file, section, shipped, anchors));
}

/** Dead references in the TSDoc comments of a shipped declaration file. */
export function deadReferencesInDeclarations(file: string, text: string, shipped: Shipped): string[] {
  const dead: string[] = [];
  for (const match of text.matchAll(/\/\*\*[\s\S]*?\*\//g)) {
    const first = text.slice(0, match.index).split('\n').length;
    let fenced = false;
    const lines = match[0].split('\n').flatMap((line, i) => {
      const body = line.replace(/^\s*(\/\*\*|\*\/|\*)?\s?/, '');
      if (/^(```|~~~)/.test(body)) {
        fenced = !fenced;
        return [];
      }
      return [{ n: first + i, text: body, code: fenced || /^@example/.test(body) }];
    });
    dead.push(...checkBlock(file, lines, shipped));
  }
  return dead;
}
