/**
 * S2 chains: runs of a 10-step linear chain (s1 → s2 → … → s10), triggered
 * in batches. steps/s from the first trigger to the last accepted result;
 * per-run latency = the last step's ack − the trigger's send time.
 */
import { RunStatus } from "../../sdk/index.js";
import { wallNow } from "../support/clock.js";
import { withStack, type Stack, type StepDef, workerSlots } from "../support/harness.js";
import type { Measurement, Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";

const LENGTH = 10;

export const s2: Scenario = {
  id: "S2",
  title: `chains: runs of a ${LENGTH}-step linear chain`,
  backends: ["pg", "embedded"],
  async run(env) {
    const runs = env.quick ? 100 : 500;
    return withStack(env.backend, env.stack, async (stack) => {
      await stack.workers.start({ address: stack.server.url, workers: 4, slots: workerSlots(), recordRuns: true });
      return measureS2(stack, runs, "s2");
    });
  },
};

/**
 * S2's measurement on a stack whose workers run with `recordRuns`: defines
 * `workflowId` (the 10-step chain), triggers `runs` runs, waits for every
 * step. Also PURGE's A and B phases, each with a workflow id of its own.
 *
 * @example
 *   await stack.workers.start({ address: stack.server.url, workers: 4, slots: 250, recordRuns: true });
 *   const [stepsPerS] = await measureS2(stack, 500, "s2");
 */
export async function measureS2(stack: Stack, runs: number, workflowId: string): Promise<Measurement[]> {
  const steps = runs * LENGTH;
  const chain: StepDef[] = Array.from({ length: LENGTH }, (_, i) => ({
    id: `s${i + 1}`,
    action: "bench.noop",
    dependsOn: i === 0 ? [] : [`s${i}`],
  }));
  await stack.defineWorkflow(workflowId, chain);
  const offset = await stack.workers.clockOffset();
  const t0 = wallNow();
  await stack.triggerBatched(workflowId, runs, () => ({ t: wallNow() }), {
    batch: 100,
    concurrency: 2,
    label: "S2 trigger",
  });
  await stack.waitAccepted(steps, 600_000, "S2 steps");
  const got = await stack.workers.collect();
  const succeeded = await stack.countRuns(workflowId, RunStatus.SUCCEEDED);
  if (succeeded !== runs) throw new Error(`S2: ${succeeded}/${runs} runs SUCCEEDED`);
  const latency = got.runLatency.map((x) => x - offset);
  return [
    { metric: "steps_per_s", value: steps / ((got.lastAckAt - offset - t0) / 1000) },
    { metric: "run_latency_p50_ms", value: percentile(latency, 0.5) },
    { metric: "run_latency_p99_ms", value: percentile(latency, 0.99) },
  ];
}
