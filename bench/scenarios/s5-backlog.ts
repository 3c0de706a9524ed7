/**
 * S5 backlog: N single-step runs queued with no worker connected, then the
 * workers start. Drain rate over the first and the last tenth of the
 * results (worker clock), and GetRun / ListRuns latency measured by a probe
 * that keeps asking during the drain (one GetRun of a random queued run and
 * one ListRuns page of the workflow, every 50 ms).
 */
import { RunStatus } from "../../sdk/index.js";
import { sleep, wallNow } from "../support/clock.js";
import { withStack, workerSlots } from "../support/harness.js";
import type { Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";

export const s5: Scenario = {
  id: "S5",
  title: "backlog: queued runs drained once workers start",
  backends: ["pg", "embedded"],
  async run(env) {
    // BENCH_S5_RUNS overrides the backlog size (e.g. for a before/after at an in-between size).
    const n = Number(process.env.BENCH_S5_RUNS ?? (env.quick ? 10_000 : 200_000));
    return withStack(env.backend, env.stack, async (stack) => {
      await stack.defineWorkflow("s5", [{ id: "s", action: "bench.noop", dependsOn: [] }]);
      const q0 = wallNow();
      const ids = await stack.triggerBatched("s5", n, () => ({}), { batch: 1000, concurrency: 2, label: "S5 queue" });
      const queuedIn = wallNow() - q0;
      if (stack.backend.pool && process.env.BENCH_ANALYZE) {
        // Experiment: fresh statistics before the drain (autovacuum would analyze on its own, later).
        await stack.backend.pool.query("analyze");
        stack.log("analyzed");
      }
      const offset = await stack.workers.clockOffset();
      const getRun: number[] = [];
      const listRuns: number[] = [];
      let probing = true;
      const probe = (async () => {
        while (probing) {
          const id = ids[Math.floor(Math.random() * ids.length)]!;
          let t = wallNow();
          await stack.client.runs.getRun({ runId: id });
          getRun.push(wallNow() - t);
          t = wallNow();
          await stack.client.runs.listRuns({ workflowId: "s5", pageSize: 50 });
          listRuns.push(wallNow() - t);
          await sleep(50);
        }
      })();
      try {
        await stack.workers.start({ address: stack.server.url, workers: 4, slots: workerSlots(), recordAcks: true });
        await stack.waitAccepted(n, 1_800_000, "S5 drain");
      } finally {
        probing = false;
        await probe;
      }
      const got = await stack.workers.collect();
      const succeeded = await stack.countRuns("s5", RunStatus.SUCCEEDED);
      if (succeeded !== n) throw new Error(`S5: ${succeeded}/${n} runs SUCCEEDED`);
      const acks = got.ackTimes.map((x) => x - offset);
      const tenth = Math.floor(n / 10);
      const first = tenth / ((acks[tenth]! - acks[0]!) / 1000);
      const last = tenth / ((acks[n - 1]! - acks[n - 1 - tenth]!) / 1000);
      return [
        { metric: "queue_runs_per_s", value: n / (queuedIn / 1000) },
        { metric: "drain_runs_per_s", value: (n - 1) / ((acks[n - 1]! - acks[0]!) / 1000) },
        { metric: "drain_first_tenth_runs_per_s", value: first },
        { metric: "drain_last_tenth_runs_per_s", value: last },
        { metric: "drain_change_pct", value: ((last - first) / first) * 100 },
        { metric: "get_run_p50_ms", value: percentile(getRun, 0.5) },
        { metric: "get_run_p99_ms", value: percentile(getRun, 0.99) },
        { metric: "list_runs_p50_ms", value: percentile(listRuns, 0.5) },
        { metric: "list_runs_p99_ms", value: percentile(listRuns, 0.99) },
      ];
    });
  },
};
