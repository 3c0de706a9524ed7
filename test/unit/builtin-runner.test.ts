/**
 * The built-in runner's cut-short attempts: a cancel aborts the attempt with
 * a reason carrying its failure type (the sweeper's step timeout: TIMEOUT;
 * anything else: CANCELLED, whatever its words), and a shutdown requeues it.
 * In process, with a fake dispatcher that records what is submitted.
 */
import { describe, expect, it } from "vitest";
import { createEgressClient } from "../../src/builtins/egress-client.js";
import { createEgressPolicy } from "../../src/builtins/egress-policy.js";
import { createBuiltinRegistry } from "../../src/builtins/registry.js";
import type { BuiltinAction } from "../../src/builtins/types.js";
import { createBuiltinRunner } from "../../src/dispatch/builtin-runner.js";
import type { Dispatcher } from "../../src/dispatch/dispatcher.js";
import type { WorkerSession } from "../../src/dispatch/session.js";
import { CANCELLED, STEP_TIMEOUT_CANCEL, TIMEOUT } from "../../src/engine/failures.js";
import { createLogger } from "../../src/log.js";
import type { ClaimedTask, TaskOutcome } from "../../src/store/types.js";

/** Never finishes on its own: fails once its signal aborts, as http.request does. */
const hangs: BuiltinAction = {
  name: "hangs",
  run: (_input, ctx) =>
    new Promise((resolve) =>
      ctx.signal.addEventListener("abort", () =>
        resolve({ kind: "error", error: { type: "NETWORK_ERROR", message: "aborted", retryable: true } }),
      ),
    ),
};

function setup() {
  const submitted: TaskOutcome[] = [];
  let session: WorkerSession | undefined;
  const dispatcher = {
    attach: (s: WorkerSession) => void (session = s),
    detach: async (s: WorkerSession) => s.close(), // as the dispatcher does: ends the runner's outbox loop
    heard: () => undefined,
    heartbeat: async () => undefined,
    submit: async (_s: WorkerSession, outcome: TaskOutcome) => {
      submitted.push(outcome);
      return { taskId: outcome.taskId, accepted: true };
    },
  } as unknown as Dispatcher;
  const runner = createBuiltinRunner({
    dispatcher,
    store: { getRun: async () => undefined, getWorkflow: async () => undefined },
    registry: createBuiltinRegistry([hangs]),
    logger: createLogger({ level: "silent" }),
    slots: 4,
    heartbeatIntervalMs: 60_000,
    defaultSecret: "",
    egress: createEgressClient(createEgressPolicy({ allow: [], deny: [], denyInternal: false })),
  });
  const task: ClaimedTask = {
    taskId: "r1/a",
    runId: "r1",
    namespace: "default",
    stepId: "a",
    workflowId: "wf",
    action: "hangs",
    input: null,
    attempt: 1,
    leaseToken: 7n,
  };
  session!.send({ kind: "task", task });
  const outcome = async (): Promise<TaskOutcome["outcome"]> => {
    for (let i = 0; i < 200 && submitted.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
    return submitted[0]!.outcome;
  };
  return { runner, session: session!, task, outcome };
}

describe("builtin runner: cut-short attempts", () => {
  it.each([
    [STEP_TIMEOUT_CANCEL.message, TIMEOUT],
    ["lease expired", CANCELLED],
    ["cancelled by request", CANCELLED],
    ["the run's timeout passed", CANCELLED],
    ["the order timed out", CANCELLED],
  ])("a cancel %j reports %s, retryable, with the action and the reason", async (reason, type) => {
    const { runner, session, task, outcome } = setup();
    await new Promise((r) => setTimeout(r, 10));
    session.send({ kind: "cancel", taskId: task.taskId, reason });
    expect(await outcome()).toEqual({ kind: "error", error: { type, message: `hangs: ${reason}`, retryable: true } });
    await runner.close(0);
  });

  it("a shutdown hands the attempt back without using it up", async () => {
    const { runner, outcome } = setup();
    await new Promise((r) => setTimeout(r, 10));
    await runner.close(0);
    expect(await outcome()).toEqual({ kind: "requeue", reason: "the server shut down during the attempt" });
  });
});
