/**
 * SOAK (issue 18): a steady load for `--minutes` as an operator would run
 * it. One server and one worker process on Postgres + Redis; a 3-step chain
 * (a → b → c, action `bench.flaky`: 1 % of steps fail once with a retryable
 * error, retried after 100 ms), each run's input ~1 KiB (`kibInput`),
 * triggered at `--rate` runs/s in TriggerWorkflows batches every 100 ms
 * (`pacer.ts`). The server gets `--retention <d> --retention-interval-ms 30000`
 * unless `--retention none`.
 *
 * Postgres is a throwaway cluster at Postgres's default settings (autovacuum
 * on) with pg_stat_statements (`pg-cluster.ts`), or `--soak-pg-url`.
 *
 * At the start, every minute, at the end of the load and once drained it
 * prints a line: runs triggered and finished in the interval, the backlog,
 * the database's and the run tables' sizes, live/dead rows and autovacuum
 * and autoanalyze counts of `runs` and `step_runs`, the server's RSS and the
 * claim statement's mean time over the interval. Then it waits (bounded) for
 * the backlog to drain and checks every run SUCCEEDED. Samples and
 * measurements go to bench/results/soak-<timestamp>.json. pg only.
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import pg from "pg";
import { jsonToValue } from "../../sdk/index.js";
import { sleep, wallNow } from "../support/clock.js";
import { withStack, workerCount, workerSlots, type Stack, type StepDef } from "../support/harness.js";
import { startPacer } from "../support/pacer.js";
import { startPgCluster } from "../support/pg-cluster.js";
import { claimStatementReader, tableHealth, topStatements, type DatabaseHealth } from "../support/pg-health.js";
import { rssBytes } from "../support/proc.js";
import type { Measurement, Scenario } from "../support/scenario.js";
import { kibInput } from "./bytes.js";

const WORKFLOW = "soak";
const STEPS = ["a", "b", "c"];
/** Distinct inputs, reused round robin (building and converting 800 a second would load the bench process). */
const INPUTS = 1_000;
/** Bound on the wait for the backlog to drain after the load, and on a drain without progress. */
const DRAIN_MS = 600_000;
const STALL_MS = 60_000;

interface Sample extends DatabaseHealth {
  label: string;
  elapsedS: number;
  triggered: number;
  finished: number;
  triggeredInInterval: number;
  finishedInInterval: number;
  backlog: number;
  serverRssBytes: number;
  claimCalls: number;
  claimMeanMs: number;
}

const mb = (b: number) => (b / 2 ** 20).toFixed(0);
const k = (n: number) => (n >= 10_000 ? `${(n / 1000).toFixed(0)}k` : String(n));

function formatSample(s: Sample): string {
  const t = s.tables;
  const rows = (name: string) =>
    `${name} ${k(t[name]!.liveRows)}/${k(t[name]!.deadRows)} av ${t[name]!.autovacuums} aa ${t[name]!.autoanalyzes}`;
  return [
    `${s.label.padEnd(6)} +${s.triggeredInInterval} trig +${s.finishedInInterval} fin, backlog ${s.backlog}`,
    `db ${mb(s.databaseBytes)} MB (runs ${mb(t.runs!.bytes)}, step_runs ${mb(t.step_runs!.bytes)}, run_events ${mb(t.run_events!.bytes)}, webhook_deliveries ${mb(t.webhook_deliveries!.bytes)})`,
    `live/dead ${rows("runs")}; ${rows("step_runs")}`,
    `rss ${mb(s.serverRssBytes)} MB`,
    `claim ${Number.isNaN(s.claimMeanMs) ? "-" : s.claimMeanMs.toFixed(2)} ms × ${s.claimCalls}`,
  ].join(" | ");
}

export const soak: Scenario = {
  id: "SOAK",
  title: "sustained load: a 3-step chain at a steady rate, database size and table health over time",
  backends: ["pg"],
  onDemand: true,
  async run(env) {
    const { minutes, rate, retention } = env.long;
    const cluster = env.long.pgUrl ? undefined : await startPgCluster(env.log);
    try {
      const postgresUrl = env.long.pgUrl ?? cluster!.url;
      const serverArgs = [
        ...(env.stack.serverArgs ?? []),
        ...(retention ? ["--retention", retention, "--retention-interval-ms", "30000"] : []),
      ];
      env.log(`${minutes} min at ${rate} runs/s, retention ${retention ?? "none"}, postgres ${postgresUrl}`);
      return await withStack(env.backend, { ...env.stack, postgresUrl, serverArgs }, (stack) => {
        cluster?.onSignal(() => stack.server.child.kill("SIGKILL"));
        return soakOn(stack, postgresUrl, minutes, rate, retention, env.log);
      });
    } finally {
      await cluster?.stop();
    }
  },
};

async function soakOn(
  stack: Stack,
  postgresUrl: string,
  minutes: number,
  rate: number,
  retention: string | undefined,
  log: (line: string) => void,
): Promise<Measurement[]> {
  const pool = stack.backend.pool!;
  const database = (await pool.query<{ db: string }>("select current_database() as db")).rows[0]!.db;
  const admin = new pg.Pool({ connectionString: postgresUrl, max: 1 });
  admin.on("error", () => undefined);
  try {
    const claim = await claimStatementReader(admin, database);
    if (!claim.available) log("pg_stat_statements is not preloaded on this Postgres: no claim times");
    const chain: StepDef[] = STEPS.map((id, i) => ({
      id,
      action: "bench.flaky",
      dependsOn: i === 0 ? [] : [STEPS[i - 1]!],
      retry: { maxAttempts: 3, initialInterval: { seconds: 0n, nanos: 100_000_000 } },
    }));
    await stack.defineWorkflow(WORKFLOW, chain);
    await stack.workers.start({ address: stack.server.url, workers: workerCount(), slots: workerSlots() });
    const inputs = Array.from({ length: INPUTS }, (_, i) => jsonToValue(kibInput(i)));
    let next = 0;
    const pacer = startPacer({
      rate,
      durationMs: minutes * 60_000,
      send: async (n) => {
        const triggers = Array.from({ length: n }, () => ({ workflowId: WORKFLOW, input: inputs[next++ % INPUTS]! }));
        await stack.client.workflows.triggerWorkflows({ triggers });
      },
    });

    const t0 = wallNow();
    const samples: Sample[] = [];
    const finished = async () => (await stack.workers.stats()).flakySucceeded.c ?? 0;
    const sample = async (label: string): Promise<Sample> => {
      const triggered = pacer.counts().triggered;
      const done = await finished();
      const prev = samples.at(-1);
      const claimTime = await claim.sinceLast();
      const s: Sample = {
        label,
        elapsedS: Math.round((wallNow() - t0) / 1000),
        triggered,
        finished: done,
        triggeredInInterval: triggered - (prev?.triggered ?? 0),
        finishedInInterval: done - (prev?.finished ?? 0),
        backlog: triggered - done,
        serverRssBytes: rssBytes(stack.server.pid),
        claimCalls: claimTime.calls,
        claimMeanMs: claimTime.meanMs,
        ...(await tableHealth(pool)),
      };
      samples.push(s);
      log(formatSample(s));
      return s;
    };

    await sample("start");
    for (let m = 1; m <= Math.ceil(minutes); m++) {
      const at = t0 + Math.min(m, minutes) * 60_000;
      while (wallNow() < at && pacer.counts().failed === 0) await sleep(Math.min(1_000, at - wallNow()));
      if (pacer.counts().failed > 0) break;
      await sample(`${Math.min(m, minutes)}m`);
    }
    pacer.stop();
    const { firstError } = await pacer.done;
    if (firstError !== undefined) throw new Error(`SOAK: a TriggerWorkflows call failed: ${String(firstError)}`);
    const loadS = (wallNow() - t0) / 1000;
    const lastOfLoad = samples.at(-1)!;

    // Drain: every triggered run's last step accepted.
    const { triggered, skipped } = pacer.counts();
    const d0 = wallNow();
    let seen = await finished();
    let progressAt = d0;
    while (seen < triggered) {
      await sleep(1_000);
      const now = await finished();
      if (now > seen) progressAt = wallNow();
      seen = now;
      if (wallNow() - d0 > DRAIN_MS || wallNow() - progressAt > STALL_MS)
        throw new Error(`SOAK: ${triggered - seen} of ${triggered} runs unfinished after the load`);
    }
    const drainS = (wallNow() - d0) / 1000;
    const drained = await sample("done");

    // Every run SUCCEEDED (those the retention deleted finished first: their last step was accepted), each step once.
    const stats = await stack.workers.stats();
    const byStatus = (
      await pool.query<{ status: string; n: string }>(
        "select status, count(*) as n from runs where workflow_id = $1 group by status",
        [WORKFLOW],
      )
    ).rows;
    const inDb = Object.fromEntries(byStatus.map((r) => [r.status, Number(r.n)]));
    const others = byStatus.filter((r) => r.status !== "SUCCEEDED");
    if (others.length > 0) throw new Error(`SOAK: runs not SUCCEEDED: ${JSON.stringify(inDb)}`);
    if (!retention && (inDb.SUCCEEDED ?? 0) !== triggered)
      throw new Error(`SOAK: ${inDb.SUCCEEDED ?? 0}/${triggered} runs SUCCEEDED in the database`);
    for (const step of STEPS)
      if ((stats.flakySucceeded[step] ?? 0) !== triggered)
        throw new Error(`SOAK: step ${step} succeeded ${stats.flakySucceeded[step] ?? 0} times for ${triggered} runs`);
    log(
      `all ${triggered} runs SUCCEEDED (${inDb.SUCCEEDED ?? 0} still stored), ${stats.flakyFailed} planned failures retried, ${stats.refused} results refused, ${skipped} runs skipped by the pacer, drained in ${drainS.toFixed(0)} s`,
    );

    const loadSamples = samples.filter((s) => s.label !== "done");
    const during = loadSamples.slice(1);
    const measured: Measurement[] = [
      { metric: "runs_triggered", value: triggered },
      { metric: "trigger_runs_per_s", value: triggered / loadS },
      { metric: "finished_runs_per_s", value: lastOfLoad.finished / loadS },
      { metric: "backlog_max_runs", value: Math.max(...samples.map((s) => s.backlog)) },
      { metric: "drain_s", value: drainS },
      { metric: "db_size_end_mb", value: drained.databaseBytes / 2 ** 20 },
      { metric: "db_size_max_mb", value: Math.max(...samples.map((s) => s.databaseBytes)) / 2 ** 20 },
      { metric: "claim_mean_first_min_ms", value: during[0]?.claimMeanMs ?? Number.NaN },
      { metric: "claim_mean_last_min_ms", value: during.at(-1)?.claimMeanMs ?? Number.NaN },
      { metric: "server_rss_end_mb", value: drained.serverRssBytes / 2 ** 20 },
      { metric: "server_rss_max_mb", value: Math.max(...samples.map((s) => s.serverRssBytes)) / 2 ** 20 },
      { metric: "planned_failures", value: stats.flakyFailed },
      { metric: "refused_results", value: stats.refused },
    ];
    const top = await topStatements(admin, database, 10);
    const out = resolve(
      import.meta.dirname,
      `../results/soak-${new Date().toISOString().replace(/[:.]/g, "-").slice(0, 19)}.json`,
    );
    mkdirSync(join(out, ".."), { recursive: true });
    writeFileSync(
      out,
      `${JSON.stringify(
        {
          options: { minutes, rate, retention: retention ?? null },
          measurements: measured.map((m) => ({ ...m, value: Number.isFinite(m.value) ? m.value : null })),
          runsInDatabase: inDb,
          samples: samples.map((s) => ({ ...s, claimMeanMs: Number.isFinite(s.claimMeanMs) ? s.claimMeanMs : null })),
          topStatements: top,
        },
        null,
        2,
      )}\n`,
    );
    log(`samples written to ${out}`);
    return measured;
  } finally {
    await admin.end();
  }
}
