/**
 * Suggestions for a misspelt option name: pure, for the one validation step (normalize.ts).
 */

/**
 * The known names within two edits (insert, delete, replace, swap two neighbours) of
 * `name`, nearest first: `retrys` gets `retry` and `retries`, whose meanings differ.
 */
export function nearNames(name: string, known: readonly string[]): string[] {
  const scored = known.map((k) => ({ k, d: editDistance(name.toLowerCase(), k.toLowerCase()) }));
  return scored
    .filter(({ d }) => d <= 2)
    .sort((a, b) => a.d - b.d)
    .map(({ k }) => k);
}

/** Optimal string alignment distance (Levenshtein with adjacent swaps). */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  const at = (i: number, j: number): number => rows[i]![j]!;
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(at(i - 1, j) + 1, at(i, j - 1) + 1, at(i - 1, j - 1) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d = Math.min(d, at(i - 2, j - 2) + 1);
      rows[i]![j] = d;
    }
  }
  return at(a.length, b.length);
}
