/**
 * A fan-out / fan-in workload for fault tests: `start` → `w1`…`wN` (each
 * about `workMs`) → `join`, every step retried up to 5 times. The handlers
 * count how often each (run, step, attempt) ran, so a test can disturb the
 * system mid-run (kill a replica, restart Redis) and then check that every
 * run finished and no step completed twice.
 *
 * @example
 * ```ts
 * const load = workload(uniqueId("chaos"), { width: 6, workMs: 300 });
 * await defineWorkflow(client, load.spec);
 * await workers.start({ address }, load.handlers);
 * await load.started(4); // mid-run
 * ```
 */
import { expect } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import type { TaskContext, WeftClient } from "../../sdk/index.js";
import { describeRun, doubleCompletions, history, output, statuses, waitForRun } from "./runs.js";

export interface Workload {
  id: string;
  spec: Record<string, unknown>;
  handlers: Record<string, (input: never, ctx: never) => unknown>;
  /** Handler invocations so far. */
  readonly calls: number;
  /** Resolves once `n` handler invocations have started. */
  started(n: number, timeoutMs?: number): Promise<void>;
  /** Every run SUCCEEDED with all steps, the join saw every branch, and no step completed twice. */
  expectAllDone(client: Pick<WeftClient, "workflows" | "runs">, runIds: string[], timeoutMs?: number): Promise<void>;
}

export function workload(id: string, opts: { width?: number; workMs?: number } = {}): Workload {
  const width = opts.width ?? 6;
  const workMs = opts.workMs ?? 300;
  const branches = Array.from({ length: width }, (_, i) => `w${i + 1}`);
  const retry = { max_attempts: 5, initial_interval: "100ms", max_interval: "1s" };
  const spec = {
    id,
    steps: [
      { id: "start", action: `${id}.work`, retry },
      ...branches.map((b) => ({ id: b, action: `${id}.work`, depends_on: ["start"], retry })),
      { id: "join", action: `${id}.join`, depends_on: branches, retry },
    ],
  };
  let calls = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  const bump = () => {
    calls++;
    for (const w of waiters.filter((x) => calls >= x.n)) {
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const handlers = {
    [`${id}.work`]: async (_input: unknown, ctx: TaskContext) => {
      bump();
      await new Promise((r) => setTimeout(r, workMs));
      return { step: ctx.stepId, attempt: ctx.attempt };
    },
    [`${id}.join`]: (input: { steps: Record<string, { step: string }> }) => {
      bump();
      return { seen: Object.keys(input.steps).sort() };
    },
  };
  return {
    id,
    spec,
    handlers,
    get calls() {
      return calls;
    },
    started(n, timeoutMs = 20_000) {
      if (calls >= n) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`only ${calls} of ${n} handler calls started`)), timeoutMs);
        waiters.push({ n, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
    async expectAllDone(client, runIds, timeoutMs = 45_000) {
      for (const runId of runIds) {
        const run = await waitForRun(client, runId, timeoutMs);
        expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);
        expect(
          Object.values(statuses(run)).every((s) => s === "SUCCEEDED"),
          describeRun(run),
        ).toBe(true);
        expect(output(run, "join")).toEqual({ seen: [...branches].sort() });
        expect(doubleCompletions(await history(client, runId)), `run ${runId}`).toEqual([]);
      }
    },
  };
}
