/**
 * A worker key's action patterns: an action name may be served when one
 * pattern matches it whole, `*` standing for any run of characters
 * (`email.*` matches `email.send` and `email.v2.send`; `*` matches all).
 *
 * @example
 *   actionsOutside(["email.*"], ["email.send", "sms.send"]); // ["sms.send"]
 */

/**
 * Whether `pattern` matches `action`.
 *
 * @example
 *   matchesAction("report.*.pdf", "report.daily.pdf"); // true
 */
export function matchesAction(pattern: string, action: string): boolean {
  const parts = pattern.split("*");
  if (parts.length === 1) return pattern === action;
  const first = parts[0]!;
  const last = parts[parts.length - 1]!;
  if (action.length < first.length + last.length || !action.startsWith(first) || !action.endsWith(last)) return false;
  let at = first.length;
  const end = action.length - last.length;
  for (let i = 1; i < parts.length - 1; i++) {
    const found = action.indexOf(parts[i]!, at);
    if (found < 0 || found + parts[i]!.length > end) return false;
    at = found + parts[i]!.length;
  }
  return true;
}

/**
 * The actions no pattern allows, in the order given.
 *
 * @example
 *   actionsOutside(["*"], ["a", "b"]); // []
 */
export function actionsOutside(patterns: readonly string[], actions: readonly string[]): string[] {
  return actions.filter((a) => !patterns.some((p) => matchesAction(p, a)));
}
