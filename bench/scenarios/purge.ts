/**
 * PURGE (issue 18): does deleting a million finished runs hurt the runs
 * being made? One server and worker process; then per pair (`--repeats`):
 * 1. seed `--purge-runs` finished 3-step-chain runs with SQL, copies of a
 *    run the server really ran (`seed-runs.ts`), finished over the 3 days
 *    before the scenario started; then let the statistics be what a
 *    production database would have: with autovacuum on (the throwaway
 *    cluster) wait until it analyzed the three tables; with it off, they
 *    stay as the seeding left them. Which of the two is printed;
 * 2. A: S1 and S2 alone (`measureS1`, `measureS2`);
 * 3. B: the same while PurgeRuns (finished before the scenario's start,
 *    every workflow; one call, or calls of `--purge-limit` until one
 *    deletes nothing) deletes the seeded runs beside them.
 * Reports S1 runs/s and S2 steps/s for A and B, the purge's runs/s, the
 * seeding time, and the database's size before and after the purge; checks
 * that no seeded row is left (nothing half-deleted). Without PurgeRuns on the
 * server (Unimplemented) it seeds and measures A only. pg only.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type pg from "pg";
import { createWeftClient } from "../../sdk/index.js";
import { sleep, wallNow } from "../support/clock.js";
import { withStack, workerCount, workerSlots, type Stack, type StepDef } from "../support/harness.js";
import { startPgCluster } from "../support/pg-cluster.js";
import { tableHealth } from "../support/pg-health.js";
import type { Measurement, Scenario, ScenarioEnv } from "../support/scenario.js";
import { seedRuns } from "../support/seed-runs.js";
import { kibInput } from "./bytes.js";
import { measureS1 } from "./s1-throughput.js";
import { measureS2 } from "./s2-chains.js";

const SEED_TABLES = ["runs", "step_runs", "run_events"];
const SPAN_MS = 3 * 86_400_000;
/** Bound on the wait for autovacuum to analyze the seeded tables. */
const STATS_WAIT_MS = 600_000;

export const purge: Scenario = {
  id: "PURGE",
  title: "purge: S1 and S2 beside a PurgeRuns of many finished runs",
  backends: ["pg"],
  onDemand: true,
  async run(env) {
    const cluster = env.long.pgUrl ? undefined : await startPgCluster(env.log);
    try {
      const postgresUrl = env.long.pgUrl ?? cluster!.url;
      return await withStack(env.backend, { ...env.stack, postgresUrl }, (stack) => {
        cluster?.onSignal(() => stack.server.child.kill("SIGKILL"));
        return purgeOn(stack, env);
      });
    } finally {
      await cluster?.stop();
    }
  },
};

async function purgeOn(stack: Stack, env: ScenarioEnv): Promise<Measurement[]> {
  const { purgeRuns: n, purgeLimit, pairs } = env.long;
  const log = env.log;
  const pool = stack.backend.pool!;
  const [s1Runs, s2Runs] = env.quick ? [5_000, 100] : [20_000, 500];
  await stack.workers.start({
    address: stack.server.url,
    workers: workerCount(),
    slots: workerSlots(),
    recordRuns: true,
  });
  const cutoff = new Date();
  const templateRunId = await makeTemplate(stack, pool, log);
  const adminKey = process.env.BENCH_API_KEY;
  const admin = adminKey ? createWeftClient(stack.server.url, { apiKey: adminKey }) : stack.client;
  const autovacuum = (await pool.query<{ autovacuum: string }>("show autovacuum")).rows[0]!.autovacuum === "on";
  const out: Measurement[] = [];
  try {
    for (let pair = 1; pair <= pairs; pair++) {
      const seedStart = wallNow();
      const analyzed = await analyzeCounts(pool);
      const rows = await seedRuns(pool, { templateRunId, n, before: cutoff, spanMs: SPAN_MS, salt: `p${pair}`, log });
      const seedS = (wallNow() - seedStart) / 1000;
      log(`pair ${pair}: seeded ${JSON.stringify(rows)} in ${seedS.toFixed(1)} s`);
      out.push({ metric: "seed_s", value: seedS });
      log(`statistics: ${await settleStatistics(pool, autovacuum, analyzed, log)}`);

      let dry: bigint | undefined;
      try {
        dry = (await admin.runs.purgeRuns({ finishedBefore: timestampFromDate(cutoff), dryRun: true })).runs;
      } catch (err) {
        if (!(err instanceof ConnectError && err.code === Code.Unimplemented)) throw err;
      }
      if (dry !== undefined && dry !== BigInt(n)) throw new Error(`PURGE: a dry run counts ${dry} runs, seeded ${n}`);

      const phase = async (tag: "a" | "b") => {
        const s1 = await measureS1(stack, s1Runs, `s1-${tag}${pair}`);
        const s2 = await measureS2(stack, s2Runs, `s2-${tag}${pair}`);
        const pick = (ms: Measurement[], metric: string) => ms.find((m) => m.metric === metric)!.value;
        out.push(
          { metric: `${tag}_s1_runs_per_s`, value: pick(s1, "runs_per_s") },
          { metric: `${tag}_s2_steps_per_s`, value: pick(s2, "steps_per_s") },
          { metric: `${tag}_s2_run_latency_p99_ms`, value: pick(s2, "run_latency_p99_ms") },
        );
        log(
          `pair ${pair} ${tag.toUpperCase()}: S1 ${pick(s1, "runs_per_s").toFixed(0)} runs/s, S2 ${pick(s2, "steps_per_s").toFixed(0)} steps/s`,
        );
      };
      await phase("a");
      if (dry === undefined) {
        log("PurgeRuns is not implemented by this server: A only, one pair");
        break;
      }

      const before = (await tableHealth(pool)).databaseBytes;
      const p0 = wallNow();
      let purgeEnd = 0;
      const purging = purgeAll(admin, cutoff, purgeLimit).then((r) => {
        purgeEnd = wallNow();
        return r;
      });
      await phase("b");
      const phaseEnd = wallNow();
      const purged = await purging;
      const purgeS = (purgeEnd - p0) / 1000;
      const after = (await tableHealth(pool)).databaseBytes;
      log(
        `pair ${pair}: purged ${JSON.stringify(purged)} in ${purgeS.toFixed(1)} s (${purgeEnd <= phaseEnd ? "within" : "longer than"} the B phase, ${((phaseEnd - p0) / 1000).toFixed(1)} s); database ${mb(before)} → ${mb(after)} MB`,
      );
      if (purged.runs !== n) throw new Error(`PURGE: deleted ${purged.runs} runs, seeded ${n}`);
      await checkNothingLeft(pool, cutoff);
      out.push(
        { metric: "purge_runs_per_s", value: purged.runs / purgeS },
        // How much of the B phase the purge ran beside (100: all of it).
        { metric: "b_purge_overlap_pct", value: ((Math.min(purgeEnd, phaseEnd) - p0) / (phaseEnd - p0)) * 100 },
        { metric: "purge_s", value: purgeS },
        { metric: "db_size_before_purge_mb", value: before / 2 ** 20 },
        { metric: "db_size_after_purge_mb", value: after / 2 ** 20 },
      );
    }
  } finally {
    if (admin !== stack.client) admin.close();
  }
  return out;
}

const mb = (b: number) => (b / 2 ** 20).toFixed(0);

/** A few real runs of the 3-step chain with a 1 KiB input; the id of one with the usual number of history events. */
async function makeTemplate(stack: Stack, pool: pg.Pool, log: (line: string) => void): Promise<string> {
  const chain: StepDef[] = ["a", "b", "c"].map((id, i) => ({
    id,
    action: "bench.noop",
    dependsOn: i === 0 ? [] : [["a", "b", "c"][i - 1]!],
  }));
  await stack.defineWorkflow("seed", chain);
  await stack.triggerBatched("seed", 20, kibInput, { batch: 20, concurrency: 1 });
  await stack.waitAccepted(60, 60_000, "template runs");
  await stack.workers.collect();
  const { rows } = await pool.query<{ id: string; events: string; steps: string; status: string }>(
    `with c as (
       select r.id, r.status, (select count(*) from run_events e where e.run_id = r.id) as events,
              (select count(*) from step_runs s where s.run_id = r.id) as steps
       from runs r where r.workflow_id = 'seed')
     select * from c where events = (select mode() within group (order by events) from c) order by id limit 1`,
  );
  const t = rows[0];
  if (!t || t.status !== "SUCCEEDED") throw new Error(`PURGE: no SUCCEEDED template run (${JSON.stringify(t)})`);
  const sizes = await pool.query<{ t: string; bytes: string }>(
    `select 'runs' as t, sum(pg_column_size(x.*)) as bytes from runs x where id = $1
     union all select 'step_runs', sum(pg_column_size(x.*)) from step_runs x where run_id = $1
     union all select 'run_events', sum(pg_column_size(x.*)) from run_events x where run_id = $1`,
    [t.id],
  );
  log(
    `template run ${t.id}: ${t.steps} steps, ${t.events} events; row bytes ${sizes.rows.map((r) => `${r.t} ${r.bytes}`).join(", ")}`,
  );
  return t.id;
}

async function analyzeCounts(pool: pg.Pool): Promise<Map<string, number>> {
  const { rows } = await pool.query<{ t: string; n: string }>(
    "select relname as t, autoanalyze_count + analyze_count as n from pg_stat_user_tables where relname = any($1)",
    [SEED_TABLES],
  );
  return new Map(rows.map((r) => [r.t, Number(r.n)]));
}

/**
 * With autovacuum on, waits (bounded) until it analyzed each seeded table
 * since `before` and no autovacuum worker is busy; says what statistics the
 * tables have now.
 */
async function settleStatistics(
  pool: pg.Pool,
  autovacuum: boolean,
  before: Map<string, number>,
  log: (line: string) => void,
): Promise<string> {
  const t0 = wallNow();
  if (autovacuum) {
    for (;;) {
      const now = await analyzeCounts(pool);
      const pending = SEED_TABLES.filter((t) => (now.get(t) ?? 0) <= (before.get(t) ?? 0));
      const { rows } = await pool.query<{ n: string }>(
        "select count(*) as n from pg_stat_activity where backend_type = 'autovacuum worker' and datname = current_database()",
      );
      if (pending.length === 0 && Number(rows[0]!.n) === 0) break;
      if (wallNow() - t0 > STATS_WAIT_MS) {
        log(`autovacuum not done after ${STATS_WAIT_MS / 1000} s (not analyzed: ${pending.join(", ") || "none"})`);
        break;
      }
      await sleep(5_000);
    }
  }
  const { rows } = await pool.query<{ t: string; tuples: number; mods: string; last: Date | null }>(
    `select c.relname as t, c.reltuples::float8 as tuples, s.n_mod_since_analyze as mods,
            greatest(s.last_analyze, s.last_autoanalyze) as last
       from pg_class c join pg_stat_user_tables s on s.relid = c.oid where c.relname = any($1) order by 1`,
    [SEED_TABLES],
  );
  const waited = autovacuum
    ? `autovacuum on, waited ${((wallNow() - t0) / 1000).toFixed(0)} s for it`
    : "autovacuum off";
  return `${waited}; ${rows
    .map(
      (r) =>
        `${r.t}: ${r.last ? `analyzed, reltuples ${Math.round(r.tuples)}, ${r.mods} rows changed since` : "never analyzed"}`,
    )
    .join("; ")}`;
}

interface Purged {
  runs: number;
  steps: number;
  events: number;
  calls: number;
}

/** PurgeRuns of every run finished before `cutoff`: one call, or calls of `limit` runs until one deletes nothing. */
async function purgeAll(admin: Stack["client"], cutoff: Date, limit: number): Promise<Purged> {
  const total: Purged = { runs: 0, steps: 0, events: 0, calls: 0 };
  for (;;) {
    const r = await admin.runs.purgeRuns({ finishedBefore: timestampFromDate(cutoff), limit: BigInt(limit) });
    total.calls++;
    total.runs += Number(r.runs);
    total.steps += Number(r.steps);
    total.events += Number(r.events);
    if (limit === 0 || r.runs === 0n) return total;
  }
}

/** No row of a run finished before `cutoff` is left in any table, and no step or event without its run. */
async function checkNothingLeft(pool: pg.Pool, cutoff: Date): Promise<void> {
  const { rows } = await pool.query<{ runs: string; steps: string; events: string }>(
    `select (select count(*) from runs where ended_at < $1) as runs,
            (select count(*) from step_runs s where not exists (select 1 from runs r where r.id = s.run_id)) as steps,
            (select count(*) from run_events e where not exists (select 1 from runs r where r.id = e.run_id)) as events`,
    [cutoff],
  );
  const left = rows[0]!;
  if (Number(left.runs) + Number(left.steps) + Number(left.events) > 0)
    throw new Error(`PURGE: rows left after the purge: ${JSON.stringify(left)}`);
}
