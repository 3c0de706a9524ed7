/**
 * S1 throughput: N single-step runs triggered in batches (TriggerWorkflows),
 * runs/s from the first trigger to the last SUCCEEDED.
 *
 * The end is `max(ended_at)` of the runs in Postgres (pg), or the last
 * accepted ack seen by the workers (embedded: the bench cannot open the
 * PGlite folder while the server holds it; an ack is sent only after the
 * commit, so it can only make the figure lower). Every run is checked
 * SUCCEEDED afterwards.
 */
import { RunStatus } from "../../sdk/index.js";
import { wallNow } from "../support/clock.js";
import { withStack, workerCount, workerSlots, type Stack } from "../support/harness.js";
import type { Measurement, Scenario } from "../support/scenario.js";

export const s1: Scenario = {
  id: "S1",
  title: "throughput: single-step runs triggered in batches",
  backends: ["pg", "embedded"],
  async run(env) {
    const n = env.quick ? 5_000 : 20_000;
    return withStack(env.backend, env.stack, async (stack) => {
      await stack.workers.start({ address: stack.server.url, workers: workerCount(), slots: workerSlots() });
      return measureS1(stack, n, "s1");
    });
  },
};

/**
 * S1's measurement on a stack whose workers run: defines `workflowId` (one
 * step, `bench.noop`), triggers `n` runs, waits for them. Also PURGE's A and
 * B phases, each with a workflow id of its own.
 *
 * @example
 *   await stack.workers.start({ address: stack.server.url, workers: 4, slots: 250 });
 *   const [runsPerS] = await measureS1(stack, 20_000, "s1");
 */
export async function measureS1(stack: Stack, n: number, workflowId: string): Promise<Measurement[]> {
  await stack.defineWorkflow(workflowId, [{ id: "s", action: "bench.noop", dependsOn: [] }]);
  const offset = await stack.workers.clockOffset();
  const sampler = stack.pgSampler();
  const meter = await stack.cpuMeter();
  const t0 = wallNow();
  await stack.triggerBatched(workflowId, n, () => ({}), { batch: 500, concurrency: 4, label: "S1 trigger" });
  const triggeredAt = wallNow();
  await stack.waitAccepted(n, 600_000, "S1");
  const cpu = await meter.stop();
  const got = await stack.workers.collect();
  sampler.stop();
  let end = got.lastAckAt - offset;
  if (stack.backend.pool) {
    const { rows } = await stack.backend.pool.query<{ t: number }>(
      "select extract(epoch from max(ended_at)) * 1000 as t from runs where workflow_id = $1",
      [workflowId],
    );
    end = Number(rows[0]!.t);
  }
  const succeeded = await stack.countRuns(workflowId, RunStatus.SUCCEEDED);
  if (succeeded !== n) throw new Error(`S1: ${succeeded}/${n} runs SUCCEEDED`);
  return [
    { metric: "runs_per_s", value: n / ((end - t0) / 1000) },
    { metric: "trigger_runs_per_s", value: n / ((triggeredAt - t0) / 1000) },
    // Where the CPU went (100 = one core), for reading the figure above.
    ...Object.entries(cpu).map(([k, v]) => ({ metric: `${k}_cpu_pct`, value: v })),
  ];
}
