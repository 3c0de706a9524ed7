/**
 * A workflow spec as YAML text, the form `weft apply` takes, for reading
 * and for comparing two versions line by line.
 *
 * @example
 *   toYaml({ id: "hello", steps: [{ id: "greet", action: "greet" }] });
 */
const PLAIN = /^[A-Za-z_/][\w ./@:-]*$/;

function scalar(v: unknown): string {
  if (typeof v === "string")
    return PLAIN.test(v) && !/^(true|false|null|yes|no|on|off)$/i.test(v) && !/:\s|\s$/.test(v) ? v : JSON.stringify(v);
  return JSON.stringify(v);
}

function lines(v: unknown, indent: string): string[] {
  if (Array.isArray(v)) {
    if (v.length === 0) return [`${indent}[]`];
    return v.flatMap((item) => {
      const inner = lines(item, `${indent}  `);
      const first = inner[0]!.trimStart();
      return [`${indent}- ${first}`, ...inner.slice(1)];
    });
  }
  if (v !== null && typeof v === "object") {
    const entries = Object.entries(v as Record<string, unknown>);
    if (entries.length === 0) return [`${indent}{}`];
    return entries.flatMap(([k, val]) => {
      const isBlock = val !== null && typeof val === "object" && Object.keys(val as object).length > 0;
      return isBlock
        ? [`${indent}${scalar(k)}:`, ...lines(val, `${indent}  `)]
        : [`${indent}${scalar(k)}: ${lines(val, "")[0]!}`];
    });
  }
  return [`${indent}${scalar(v)}`];
}

export function toYaml(v: unknown): string {
  return lines(v, "").join("\n") + "\n";
}

export interface DiffLine {
  op: " " | "+" | "-";
  text: string;
}

/** A line diff (longest common subsequence): what changed from `a` to `b`. */
export function diffLines(a: string, b: string): DiffLine[] {
  const x = a.split("\n");
  const y = b.split("\n");
  const n = x.length;
  const m = y.length;
  const lcs: number[][] = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] === y[j]) {
      out.push({ op: " ", text: x[i++]! });
      j++;
    } else if (i < n && (j >= m || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) out.push({ op: "-", text: x[i++]! });
    else out.push({ op: "+", text: y[j++]! });
  }
  return out;
}
