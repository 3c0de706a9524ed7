/**
 * BYTES, the byte budget (issue 18): what one run costs the database. N
 * single-step runs, then N runs of a 3-step chain, each with a 1 KiB JSON
 * input and the workers' small output (`bench.noop` returns null).
 *
 * Per phase, from a compacted database (`VACUUM FULL`):
 * - `<phase>_wal_bytes_per_run`: `pg_current_wal_lsn()` after − before, ÷ N
 *   (full-page images after a checkpoint included, as in production);
 * - `<phase>_disk_bytes_per_run`: growth of every Weft table with its
 *   indexes and TOAST, dead rows included, as the runs left it;
 * - `<phase>_live_bytes_per_run`, and per table `<phase>_<table>_heap|index|toast_bytes_per_run`:
 *   the same after `VACUUM FULL` (what the finished runs need: the history
 *   complete, no dead rows).
 * pg only (the bench reads the database directly).
 */
import type pg from "pg";
import { RunStatus } from "../../sdk/index.js";
import { withStack, workerSlots, type StepDef } from "../support/harness.js";
import type { Measurement, Scenario } from "../support/scenario.js";

const TABLES = ["runs", "step_runs", "run_events", "webhook_deliveries"];

/**
 * A 1 KiB JSON object shaped like a real payload (ids, numbers, a nested
 * list, free text of pseudo-random words), so compression is not flattered by repeats.
 */
export function kibInput(i: number): Record<string, unknown> {
  let seed = (i * 7919 + 1) % 2147483647;
  const word = () => {
    seed = (seed * 16807) % 2147483647;
    return seed.toString(36).slice(0, 3 + (seed % 6));
  };
  const items = Array.from({ length: 6 }, (_, k) => ({
    sku: `SKU-${(i * 8 + k) % 9973}`,
    qty: (k % 3) + 1,
    price: 10 + k,
  }));
  const input = { orderId: `order-${i}`, customer: { id: `cust-${i % 1000}`, tier: "gold" }, items, note: "" };
  while (JSON.stringify(input).length < 1024) input.note += `${word()} `;
  return input;
}

interface Sizes {
  [table: string]: { heap: number; index: number; toast: number };
}

async function sizes(pool: pg.Pool): Promise<Sizes> {
  const { rows } = await pool.query<{ t: string; heap: string; index: string; total: string }>(
    `select t, pg_relation_size(t) as heap, pg_indexes_size(t) as index, pg_total_relation_size(t) as total
       from unnest($1::text[]) as t`,
    [TABLES],
  );
  return Object.fromEntries(
    rows.map((r) => [
      r.t,
      { heap: Number(r.heap), index: Number(r.index), toast: Number(r.total) - Number(r.heap) - Number(r.index) },
    ]),
  );
}

const total = (s: Sizes) => Object.values(s).reduce((sum, t) => sum + t.heap + t.index + t.toast, 0);

async function walLsn(pool: pg.Pool): Promise<string> {
  return (await pool.query<{ lsn: string }>("select pg_current_wal_lsn()::text as lsn")).rows[0]!.lsn;
}

async function compact(pool: pg.Pool): Promise<void> {
  for (const t of TABLES) await pool.query(`vacuum full ${t}`);
}

export const bytes: Scenario = {
  id: "BYTES",
  title: "byte budget: bytes and WAL per run, per table (1 KiB input)",
  backends: ["pg"],
  async run(env) {
    const n = env.quick ? 500 : 2_000;
    const chain: StepDef[] = ["a", "b", "c"].map((id, k) => ({
      id,
      action: "bench.noop",
      dependsOn: k === 0 ? [] : [["a", "b", "c"][k - 1]!],
    }));
    return withStack(env.backend, env.stack, async (stack) => {
      const pool = stack.backend.pool!;
      await stack.defineWorkflow("single", [{ id: "s", action: "bench.noop", dependsOn: [] }]);
      await stack.defineWorkflow("chain3", chain);
      await stack.workers.start({ address: stack.server.url, workers: 2, slots: workerSlots() });
      const out: Measurement[] = [];
      let accepted = 0;
      for (const [phase, workflowId, steps] of [
        ["single", "single", 1],
        ["chain3", "chain3", 3],
      ] as const) {
        await compact(pool);
        const before = await sizes(pool);
        const lsn = await walLsn(pool);
        await stack.triggerBatched(workflowId, n, kibInput, { batch: 100, concurrency: 2, label: `${phase} trigger` });
        accepted += n * steps;
        await stack.waitAccepted(accepted, 300_000, `${phase} steps`);
        const succeeded = await stack.countRuns(workflowId, RunStatus.SUCCEEDED);
        if (succeeded !== n) throw new Error(`BYTES ${phase}: ${succeeded}/${n} runs SUCCEEDED`);
        const { rows } = await pool.query<{ wal: string }>("select pg_wal_lsn_diff(pg_current_wal_lsn(), $1) as wal", [
          lsn,
        ]);
        const disk = total(await sizes(pool)) - total(before);
        await compact(pool);
        const after = await sizes(pool);
        out.push(
          { metric: `${phase}_wal_bytes_per_run`, value: Number(rows[0]!.wal) / n },
          { metric: `${phase}_disk_bytes_per_run`, value: disk / n },
          { metric: `${phase}_live_bytes_per_run`, value: (total(after) - total(before)) / n },
        );
        for (const t of TABLES) {
          for (const part of ["heap", "index", "toast"] as const) {
            const delta = after[t]![part] - before[t]![part];
            if (delta !== 0) out.push({ metric: `${phase}_${t}_${part}_bytes_per_run`, value: delta / n });
          }
        }
      }
      return out;
    });
  },
};
