// Writes out `{@inheritDoc X.y}` in the built declarations. TypeDoc resolves the tag for the
// API reference, but editors show a hover's TSDoc as written: `RetryInfo.requestId` would
// show `{@inheritDoc AttemptInfo.requestId}` instead of what a request id is. Each comment
// that is only that tag becomes a copy of the comment of the declaration it names, found
// in any .d.ts of the folder (an interface, class or type alias, or one of its members).
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';

const require = createRequire(import.meta.url);
const ts = require('typescript');

const INHERIT = /^([ \t]*)\/\*\* \{@inheritDoc ([\w.]+)\} \*\/$/gm;

/** The `/** ... *\/` comment right before `node`, or undefined. */
function docOf(node, text) {
  const ranges = ts.getLeadingCommentRanges(text, node.getFullStart()) ?? [];
  const last = ranges.at(-1);
  if (last === undefined) return undefined;
  const comment = text.slice(last.pos, last.end);
  return comment.startsWith('/**') ? comment : undefined;
}

/** Every documented declaration of the files, by name (`AttemptInfo`, `AttemptInfo.requestId`). */
function collect(dir, files) {
  const docs = new Map();
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const source = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true);
    const visit = (node) => {
      const owner =
        ts.isInterfaceDeclaration(node) || ts.isClassDeclaration(node) || ts.isTypeAliasDeclaration(node)
          ? node.name?.text
          : undefined;
      if (owner !== undefined) {
        const doc = docOf(node, text);
        if (doc !== undefined && !docs.has(owner)) docs.set(owner, doc);
        const members = node.members ?? (node.type && ts.isTypeLiteralNode(node.type) ? node.type.members : []);
        for (const member of members) {
          const name =
            member.name && (ts.isIdentifier(member.name) || ts.isStringLiteral(member.name))
              ? member.name.text
              : undefined;
          const memberDoc = name === undefined ? undefined : docOf(member, text);
          if (memberDoc !== undefined && !docs.has(`${owner}.${name}`)) docs.set(`${owner}.${name}`, memberDoc);
        }
      }
      ts.forEachChild(node, visit);
    };
    visit(source);
  }
  return docs;
}

/** The comment `target` names, itself written out, re-indented to `indent`. */
function resolve(docs, target, indent, seen = new Set()) {
  const doc = docs.get(target);
  if (doc === undefined) throw new Error(`build: {@inheritDoc ${target}} names no documented declaration`);
  if (seen.has(target)) throw new Error(`build: {@inheritDoc ${target}} inherits from itself`);
  const nested = /^\/\*\* \{@inheritDoc ([\w.]+)\} \*\/$/.exec(doc);
  if (nested !== null) return resolve(docs, nested[1], indent, new Set([...seen, target]));
  return doc
    .split('\n')
    .map((line, i) => (i === 0 ? line : `${indent}${line.trimStart().startsWith('*') ? ' ' : ''}${line.trimStart()}`))
    .join('\n');
}

/** Writes out every `{@inheritDoc}` of the .d.ts files in `dir`; returns how many. */
export function inlineInheritDoc(dir) {
  const files = readdirSync(dir).filter((file) => file.endsWith('.d.ts'));
  const docs = collect(dir, files);
  let count = 0;
  for (const file of files) {
    const text = readFileSync(join(dir, file), 'utf8');
    const out = text.replace(INHERIT, (_, indent, target) => {
      count += 1;
      return `${indent}${resolve(docs, target, indent)}`;
    });
    if (out !== text) writeFileSync(join(dir, file), out);
  }
  return count;
}
