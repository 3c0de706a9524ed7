/**
 * "Did you mean …?" for a name that is not known: the candidate that differs
 * only in case, `_` or `-` (`dependson`, `dependsOn` → `depends_on`;
 * `workflowID` → `workflow_id`), else the one a typo or two away (`stepz` →
 * `steps`, `acton` → `action`).
 */

/** Lower case without `_` and `-`: the spellings a newcomer mixes up. */
function fold(name: string): string {
  return name.toLowerCase().replace(/[_-]/g, "");
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`. */
function distance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidate `name` most likely meant, or undefined when none is close:
 * same letters ignoring case, `_` and `-` first, else at most one edit for
 * names up to 4 letters and two for longer ones.
 *
 * @example
 *   closestName("dependson", ["id", "action", "depends_on"]); // "depends_on"
 *   closestName("stepz", ["id", "steps"]); // "steps"
 *   closestName("colour", ["id", "steps"]); // undefined
 */
export function closestName(name: string, candidates: readonly string[]): string | undefined {
  const folded = fold(name);
  const same = candidates.find((c) => fold(c) === folded);
  if (same !== undefined) return same;
  const limit = folded.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = distance(folded, fold(c));
    if (d < bestDistance) [best, bestDistance] = [c, d];
  }
  return best;
}
