import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The failure kinds as the README's "What is retried, and how" table names them (the
 * backquoted lower-case names of its first column): an oracle independent of src/kinds.ts.
 */
export function readmeFailureKinds(): string[] {
  const readme = readFileSync(join(__dirname, '..', '..', 'README.md'), 'utf8');
  const start = readme.indexOf('## What is retried, and how');
  if (start < 0) throw new Error('README: no "What is retried, and how" section');
  const kinds = new Set<string>();
  for (const line of readme.slice(start).split('\n').slice(1)) {
    if (line.startsWith('#')) break;
    if (!line.startsWith('|') || line.startsWith('| ---')) continue;
    const first = line.split('|')[1] ?? '';
    for (const match of first.matchAll(/`([a-z]+(?:-[a-z]+)*)`/g)) kinds.add(match[1]!);
  }
  return [...kinds].sort();
}
