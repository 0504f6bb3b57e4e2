// `{@inheritDoc Name.member}` is TypeDoc's: editors show it as raw text in a hover. The
// build writes the inherited comment itself into the shipped declarations instead, so
// `RetryInfo.requestId` hovers as `AttemptInfo.requestId` reads. A reference it cannot
// resolve fails the build: no raw tag ships.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const DECLARATION = /^(?:export )?(?:declare )?(?:interface|class|type)\s+(\w+)/;
const MEMBER = /^\s+(?:readonly\s+)?(\w+)\??[:(]/;
const INHERIT = /^(\s*)\/\*\* \{@inheritDoc ([\w.]+)\} \*\/$/;

/** Every doc comment of `files`, by `Name` and `Name.member`: its lines without indentation. */
function commentsOf(texts) {
  const docs = new Map();
  for (const text of texts) {
    let owner;
    let comment = [];
    let open = false;
    for (const line of text.split('\n')) {
      const trimmed = line.trim();
      if (open || trimmed.startsWith('/**')) {
        comment.push(trimmed);
        open = !trimmed.endsWith('*/');
        continue;
      }
      const declared = DECLARATION.exec(line);
      if (declared !== null) {
        owner = declared[1];
        if (comment.length > 0) docs.set(owner, comment);
      } else if (owner !== undefined && comment.length > 0) {
        const member = MEMBER.exec(line);
        if (member !== null) docs.set(`${owner}.${member[1]}`, comment);
      }
      comment = [];
    }
  }
  return docs;
}

/** Rewrites each `/** {@inheritDoc X} *\/` of the .d.ts files in `dir` with X's comment. */
export function inheritDocs(dir) {
  const files = readdirSync(dir).filter((file) => file.endsWith('.d.ts'));
  const texts = new Map(files.map((file) => [file, readFileSync(join(dir, file), 'utf8')]));
  const docs = commentsOf([...texts.values()]);
  // A comment that is itself an inheritance is resolved first (bounded: no cycles).
  const resolve = (name, depth = 0) => {
    const doc = docs.get(name);
    if (doc === undefined || depth > 10)
      throw new Error(`build: {@inheritDoc ${name}} names no documented declaration`);
    const again = doc.length === 1 ? INHERIT.exec(doc[0]) : null;
    return again === null ? doc : resolve(again[2], depth + 1);
  };
  let replaced = 0;
  for (const [file, text] of texts) {
    const out = text
      .split('\n')
      .map((line) => {
        const inherit = INHERIT.exec(line);
        if (inherit === null) return line;
        replaced += 1;
        const indent = inherit[1];
        return resolve(inherit[2])
          .map((part) => (part.startsWith('*') ? `${indent} ${part}` : `${indent}${part}`))
          .join('\n');
      })
      .join('\n');
    if (out !== text) writeFileSync(join(dir, file), out);
  }
  return replaced;
}
