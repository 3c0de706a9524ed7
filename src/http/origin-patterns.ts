/**
 * CORS allow-list matching. An entry is an exact origin
 * (`https://app.example.com`), a pattern with `*` (`http://localhost:*`,
 * `https://*.example.com`), or `*` alone for any origin. A `*` stands for
 * one host part or port; `:*` at the end also admits the origin without a
 * port. Comparison ignores case.
 *
 * @example
 *   const allowed = createOriginMatcher(["http://localhost:*", "http://127.0.0.1:*"]);
 *   allowed("http://localhost:5173"); // true
 *   allowed("http://evil.example");   // false
 */
export function createOriginMatcher(patterns: readonly string[]): (origin: string) => boolean {
  if (patterns.some((p) => p.trim() === "*")) return () => true;
  const exact = new Set<string>();
  const wildcards: RegExp[] = [];
  for (const raw of patterns) {
    const p = raw.trim().toLowerCase().replace(/\/+$/, "");
    if (!p) continue;
    if (p.includes("*")) wildcards.push(patternToRegExp(p));
    else exact.add(p);
  }
  return (origin) => {
    const o = origin.toLowerCase();
    return exact.has(o) || wildcards.some((re) => re.test(o));
  };
}

function patternToRegExp(pattern: string): RegExp {
  const escape = (s: string) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
  const portAny = pattern.endsWith(":*");
  const body = portAny ? pattern.slice(0, -2) : pattern;
  const source = body.split("*").map(escape).join("[a-z0-9-]+(?:\\.[a-z0-9-]+)*");
  return new RegExp(`^${source}${portAny ? "(?::\\d{1,5})?" : ""}$`);
}
