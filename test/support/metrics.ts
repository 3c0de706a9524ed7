/**
 * Reading a server's `GET /metrics` in tests: scrape it, look samples up by
 * name and exact label set, and run `promtool check metrics` over the text.
 *
 * @example
 * ```ts
 * const before = await scrapeMetrics(weft.url);
 * // … a workload …
 * const after = await scrapeMetrics(weft.url);
 * expect(after.value("weft_runs_started_total", { workflow: id }) - before.value("weft_runs_started_total", { workflow: id })).toBe(5);
 * ```
 */
import { spawnSync } from "node:child_process";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  status: number;
  contentType: string | null;
  text: string;
  samples: Sample[];
  /** The sample with exactly these labels (no more, no fewer), or 0 when there is none. */
  value(name: string, labels?: Record<string, string>): number;
}

/** One `name{labels} value` line; comments and blank lines give undefined. */
function parseLine(line: string): Sample | undefined {
  if (line === "" || line.startsWith("#")) return undefined;
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line);
  if (!m) throw new Error(`not an exposition line: ${line}`);
  const labels: Record<string, string> = {};
  for (const l of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[l[1]!] = l[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
  }
  return { name: m[1]!, labels, value: Number(m[3]) };
}

/**
 * Parses Prometheus' text format (version 0.0.4).
 *
 * @example
 * ```ts
 * parseExposition('weft_runs_started_total{workflow="a"} 5\n'); // [{ name: "weft_runs_started_total", labels: { workflow: "a" }, value: 5 }]
 * ```
 */
export function parseExposition(text: string): Sample[] {
  return text.split("\n").flatMap((line) => parseLine(line.trim()) ?? []);
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => a[k] === b[k]);
}

/**
 * GETs `<url>/metrics` and parses it.
 *
 * @example
 * ```ts
 * const metrics = await scrapeMetrics(weft.url);
 * metrics.value("weft_ready_tasks", { action: "email.send" }); // 0 when absent
 * ```
 */
export async function scrapeMetrics(url: string): Promise<Exposition> {
  const res = await fetch(`${url}/metrics`);
  const text = await res.text();
  const samples = res.status === 200 ? parseExposition(text) : [];
  return {
    status: res.status,
    contentType: res.headers.get("content-type"),
    text,
    samples,
    value: (name, labels = {}) => samples.find((s) => s.name === name && sameLabels(s.labels, labels))?.value ?? 0,
  };
}

/**
 * Whether `promtool` (Debian's `prometheus` package) is on PATH. Missing:
 * throws when `CI` is set (the suite must fail, not skip), else returns false.
 *
 * @example
 * ```ts
 * const hasPromtool = requirePromtool();
 * it.skipIf(!hasPromtool)("passes promtool check metrics", () => { ... });
 * ```
 */
export function requirePromtool(): boolean {
  const ok = spawnSync("promtool", ["--version"], { stdio: "ignore" }).status === 0;
  if (!ok && process.env.CI) throw new Error("promtool is required in CI (apt-get install prometheus)");
  return ok;
}

/**
 * `promtool check metrics` over the text: its exit status and what it printed (the problems).
 *
 * @example
 * ```ts
 * expect(promtoolCheckMetrics((await scrapeMetrics(weft.url)).text)).toEqual({ status: 0, output: "" });
 * ```
 */
export function promtoolCheckMetrics(text: string): { status: number | null; output: string } {
  const r = spawnSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" });
  return { status: r.status, output: `${r.stdout}${r.stderr}`.trim() };
}
