/**
 * The worker of examples/etl.yaml: extract → three parallel transforms → load.
 *
 *   npx tsx examples/etl.worker.ts    # a worker, until Ctrl-C
 *   npx tsx examples/run.ts etl       # one run, printed
 */
import { resolve } from "node:path";
import { TaskError, type TaskContext, type Worker } from "weft/sdk";
import { isMain, serveExample, type Example } from "./example.js";

/** One sales row of the run input. */
export interface Sale {
  id: number;
  region: string;
  amount_cents: number;
  currency: "USD" | "EUR" | "GBP";
}

/** What one transform returns: its shard's totals in USD cents. */
export interface ShardTotals {
  shard: string;
  rows: number;
  usd_cents: number;
  by_region: Record<string, number>;
}

/** Fixed demo rates, USD per unit. */
const USD_PER = { USD: 1, EUR: 1.1, GBP: 1.25 } as const;

function extract({ rows, shards }: { rows: unknown; shards: number }): { shards: Sale[][]; rows: number } {
  if (!Array.isArray(rows) || rows.length === 0)
    throw TaskError.nonRetryable("NO_ROWS", "input.rows must be a non-empty list");
  const out: Sale[][] = Array.from({ length: shards }, () => []);
  (rows as Sale[]).forEach((row, i) => {
    if (!(row.currency in USD_PER))
      throw TaskError.nonRetryable("BAD_CURRENCY", `row ${row.id}: unknown currency ${String(row.currency)}`);
    out[i % shards]!.push(row);
  });
  return { shards: out, rows: rows.length };
}

async function transform({ shard, rows }: { shard: string; rows: Sale[] }, ctx: TaskContext): Promise<ShardTotals> {
  // Pretend the conversion takes a moment, so the three shards visibly run side by side.
  await new Promise((r) => setTimeout(r, 300));
  ctx.signal.throwIfAborted();
  const byRegion: Record<string, number> = {};
  let total = 0;
  for (const row of rows) {
    const usd = Math.round(row.amount_cents * USD_PER[row.currency]);
    byRegion[row.region] = (byRegion[row.region] ?? 0) + usd;
    total += usd;
  }
  return { shard, rows: rows.length, usd_cents: total, by_region: byRegion };
}

function load({ table, parts }: { table: string; parts: ShardTotals[] }) {
  const byRegion: Record<string, number> = {};
  for (const part of parts)
    for (const [region, cents] of Object.entries(part.by_region)) byRegion[region] = (byRegion[region] ?? 0) + cents;
  return {
    table,
    rows_loaded: parts.reduce((n, p) => n + p.rows, 0),
    usd_cents: parts.reduce((n, p) => n + p.usd_cents, 0),
    by_region: Object.fromEntries(Object.entries(byRegion).sort(([a], [b]) => a.localeCompare(b))),
    shards: parts.map((p) => p.shard),
  };
}

/** Registers `etl.extract`, `etl.transform` and `etl.load` on `worker`. */
export function register(worker: Worker): Worker {
  return worker.register("etl.extract", extract).register("etl.transform", transform).register("etl.load", load);
}

export const example: Example = {
  workflowId: "etl-fanout",
  yamlFile: resolve(import.meta.dirname, "etl.yaml"),
  sampleInput: {
    table: "daily_sales",
    rows: [
      { id: 1, region: "emea", amount_cents: 1000, currency: "EUR" },
      { id: 2, region: "amer", amount_cents: 2500, currency: "USD" },
      { id: 3, region: "emea", amount_cents: 800, currency: "GBP" },
      { id: 4, region: "apac", amount_cents: 4000, currency: "USD" },
      { id: 5, region: "amer", amount_cents: 1500, currency: "USD" },
      { id: 6, region: "emea", amount_cents: 2000, currency: "EUR" },
      { id: 7, region: "apac", amount_cents: 1200, currency: "GBP" },
    ],
  },
  register,
};

if (isMain(import.meta)) await serveExample(example);
