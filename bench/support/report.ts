/**
 * Results: the table printed at the end and `bench/results/latest.json`
 * (`{ machine: { cores, node, postgres }, results: [{ scenario, backend,
 * metric, median, min, max }] }`).
 *
 * @example
 *   const rows = summarizeRepeats("S1", "pg", [[{ metric: "runs_per_s", value: 9000 }], …]);
 *   printTable(rows);
 *   writeResults("bench/results/latest.json", machine, rows);
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Measurement } from "./scenario.js";
import { round, summarize } from "./stats.js";

export interface ResultRow {
  scenario: string;
  backend: string;
  metric: string;
  median: number;
  min: number;
  max: number;
}

export interface Machine {
  cores: number;
  node: string;
  postgres: string;
}

/** One row per metric: median, min and max over the repeats. */
export function summarizeRepeats(scenario: string, backend: string, repeats: Measurement[][]): ResultRow[] {
  const metrics = [...new Set(repeats.flat().map((m) => m.metric))];
  return metrics.map((metric) => {
    const s = summarize(repeats.flatMap((r) => r.filter((m) => m.metric === metric).map((m) => m.value)));
    return { scenario, backend, metric, median: round(s.median), min: round(s.min), max: round(s.max) };
  });
}

/** Scenario × metric rows, one column per backend (median, with min–max when repeated). */
export function formatTable(rows: ResultRow[]): string {
  const backends = [...new Set(rows.map((r) => r.backend))];
  const keys = [...new Set(rows.map((r) => `${r.scenario}\u0000${r.metric}`))];
  const cell = (r: ResultRow | undefined) => {
    if (!r) return "-";
    return r.min === r.max ? String(r.median) : `${r.median} (${r.min}–${r.max})`;
  };
  const table = [["scenario", "metric", ...backends]];
  for (const key of keys) {
    const [scenario, metric] = key.split("\u0000") as [string, string];
    table.push([
      scenario,
      metric,
      ...backends.map((b) => cell(rows.find((r) => r.scenario === scenario && r.metric === metric && r.backend === b))),
    ]);
  }
  const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
  const line = (row: string[]) => row.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join("  ");
  return [line(table[0]!), widths.map((w) => "-".repeat(w)).join("  "), ...table.slice(1).map(line)].join("\n");
}

export function writeResults(path: string, machine: Machine, results: ResultRow[]): void {
  mkdirSync(dirname(path), { recursive: true });
  // JSON has no NaN: a metric that could not be measured is null.
  const clean = results.map((r) => ({ ...r, median: nullable(r.median), min: nullable(r.min), max: nullable(r.max) }));
  writeFileSync(path, `${JSON.stringify({ machine, results: clean }, null, 2)}\n`);
}

function nullable(x: number): number | null {
  return Number.isFinite(x) ? x : null;
}
