/**
 * S4 latency: single-step runs triggered one at a time (TriggerWorkflow) at
 * a steady rate, open loop: each trigger goes out at its scheduled time
 * whether or not the earlier ones were answered. The run input carries the
 * send time `t` (bench clock); the worker notes its handler start and the
 * accepted ack on its clock, corrected by the measured offset between the
 * two processes (same machine clock, so the offset is ~0).
 *
 * A short warm-up at the same rate runs first and is not counted.
 */
import { create } from "@bufbuild/protobuf";
import { TriggerWorkflowRequestSchema, WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import { RunStatus, jsonToValue } from "../../sdk/index.js";
import { connectGrpc } from "../support/grpc-caller.js";
import { sleep, wallNow } from "../support/clock.js";
import { withStack, type Stack } from "../support/harness.js";
import type { Scenario } from "../support/scenario.js";
import { percentile } from "../support/stats.js";

const RATE = Number(process.env.BENCH_S4_RATE ?? 200);

/** Sends `n` triggers at `rate`/s on schedule; returns the RPC latencies (ms) and the achieved rate. */
async function openLoop(
  stack: Stack,
  n: number,
  rate: number,
  label: string,
): Promise<{ rpc: number[]; achieved: number; errors: number }> {
  const interval = 1000 / rate;
  const rpc: number[] = [];
  const pending: Promise<void>[] = [];
  let errors = 0;
  const caller = connectGrpc(stack.server.url, stack.apiKey);
  const t0 = wallNow();
  let lastLog = t0;
  for (let i = 0; i < n; i++) {
    // No spinning for the last fraction of a millisecond: the send time `t`
    // is taken when the call really leaves, and a spinning load generator
    // takes CPU from the server on this 2-core machine.
    const due = t0 + i * interval;
    const now = wallNow();
    if (due - now >= 1) await sleep(due - now);
    const t = wallNow();
    pending.push(
      caller
        .unary(
          WorkflowService.method.triggerWorkflow,
          create(TriggerWorkflowRequestSchema, { workflowId: "s4", input: jsonToValue({ t }) }),
        )
        .then(
          () => void rpc.push(wallNow() - t),
          () => void errors++,
        ),
    );
    if (t - lastLog >= 1000) {
      lastLog = t;
      stack.log(`${label}: sent ${i + 1}/${n}`);
    }
  }
  const sentAll = wallNow();
  await Promise.all(pending);
  caller.close();
  return { rpc, achieved: (n - 1) / ((sentAll - t0) / 1000), errors };
}

export const s4: Scenario = {
  id: "S4",
  title: `latency: single-step runs triggered one at a time at ${RATE}/s (open loop)`,
  backends: ["pg", "embedded"],
  async run(env) {
    const n = env.quick ? 1_000 : 2_000;
    const warmup = env.quick ? 200 : 400;
    return withStack(env.backend, env.stack, async (stack) => {
      await stack.defineWorkflow("s4", [{ id: "s", action: "bench.noop", dependsOn: [] }]);
      await stack.workers.start({ address: stack.server.url, workers: 2, slots: 100 });
      await openLoop(stack, warmup, RATE, "S4 warm-up");
      await stack.waitAccepted(warmup, 120_000, "S4 warm-up");
      await stack.workers.collect();
      const offset = await stack.workers.clockOffset();
      const meter = await stack.cpuMeter();
      const sampler = stack.pgSampler();
      const { rpc, achieved, errors } = await openLoop(stack, n, RATE, "S4");
      if (errors > 0) throw new Error(`S4: ${errors} triggers failed`);
      await stack.waitAccepted(n, 120_000, "S4");
      const cpu = await meter.stop();
      sampler.stop();
      const got = await stack.workers.collect();
      const succeeded = await stack.countRuns("s4", RunStatus.SUCCEEDED);
      if (succeeded !== n + warmup) throw new Error(`S4: ${succeeded}/${n + warmup} runs SUCCEEDED`);
      const start = got.startLatency.map((x) => x - offset);
      const done = got.succeededLatency.map((x) => x - offset);
      return [
        { metric: "trigger_to_start_p50_ms", value: percentile(start, 0.5) },
        { metric: "trigger_to_start_p99_ms", value: percentile(start, 0.99) },
        { metric: "trigger_to_start_p999_ms", value: percentile(start, 0.999) },
        { metric: "trigger_to_succeeded_p50_ms", value: percentile(done, 0.5) },
        { metric: "trigger_to_succeeded_p99_ms", value: percentile(done, 0.99) },
        { metric: "trigger_rpc_p50_ms", value: percentile(rpc, 0.5) },
        { metric: "trigger_rpc_p99_ms", value: percentile(rpc, 0.99) },
        { metric: "offered_runs_per_s", value: achieved },
        ...Object.entries(cpu).map(([k, v]) => ({ metric: `${k}_cpu_pct`, value: v })),
      ];
    });
  },
};
