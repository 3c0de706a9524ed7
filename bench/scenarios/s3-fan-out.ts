/**
 * S3 fan-out / fan-in: runs of 1 → 50 parallel → 1, triggered in batches.
 * steps/s from the first trigger to the last accepted result.
 */
import { RunStatus } from "../../sdk/index.js";
import { wallNow } from "../support/clock.js";
import { withStack, type StepDef, workerSlots } from "../support/harness.js";
import type { Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";

const WIDTH = 50;

export const s3: Scenario = {
  id: "S3",
  title: `fan-out / fan-in: runs of 1 → ${WIDTH} → 1`,
  backends: ["pg", "embedded"],
  async run(env) {
    const runs = env.quick ? 20 : 100;
    const perRun = WIDTH + 2;
    const steps = runs * perRun;
    const middle = Array.from({ length: WIDTH }, (_, i) => `m${i + 1}`);
    const spec: StepDef[] = [
      { id: "start", action: "bench.noop", dependsOn: [] },
      ...middle.map((id) => ({ id, action: "bench.noop", dependsOn: ["start"] })),
      { id: "join", action: "bench.noop", dependsOn: middle },
    ];
    return withStack(env.backend, env.stack, async (stack) => {
      await stack.defineWorkflow("s3", spec);
      await stack.workers.start({ address: stack.server.url, workers: 4, slots: workerSlots(), recordRuns: true });
      const offset = await stack.workers.clockOffset();
      const t0 = wallNow();
      await stack.triggerBatched("s3", runs, () => ({ t: wallNow() }), {
        batch: 50,
        concurrency: 2,
        label: "S3 trigger",
      });
      await stack.waitAccepted(steps, 600_000, "S3 steps");
      const got = await stack.workers.collect();
      const succeeded = await stack.countRuns("s3", RunStatus.SUCCEEDED);
      if (succeeded !== runs) throw new Error(`S3: ${succeeded}/${runs} runs SUCCEEDED`);
      const latency = got.runLatency.map((x) => x - offset);
      return [
        { metric: "steps_per_s", value: steps / ((got.lastAckAt - offset - t0) / 1000) },
        { metric: "run_latency_p50_ms", value: percentile(latency, 0.5) },
        { metric: "run_latency_p99_ms", value: percentile(latency, 0.99) },
      ];
    });
  },
};
