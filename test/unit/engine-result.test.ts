import { describe, expect, it } from "vitest";
import { applyToState } from "../../src/engine/live-state.js";
import type { JsonValue, RetryPolicy, RunStatus } from "../../src/engine/model.js";
import type { StepMove } from "../../src/engine/moves.js";
import { decideResult, type TaskResult } from "../../src/engine/result.js";
import { loadedRun, RUN_ID, step, wf } from "./engine-fixtures.js";

const RETRY3: RetryPolicy = {
  maxAttempts: 3,
  initialIntervalMs: 1000,
  backoffCoefficient: 2,
  maxIntervalMs: 100_000,
  nonRetryableErrors: ["VALIDATION"],
};
const def = wf([{ id: "charge", retry: RETRY3 }, { id: "once" }]);
const TASK = `${RUN_ID}/charge`;

function result(outcome: TaskResult["outcome"], extra: Partial<TaskResult> = {}): TaskResult {
  return { taskId: TASK, leaseToken: 42n, workerId: "w1", outcome, ...extra };
}
const output = (value: JsonValue) => result({ kind: "output", output: value });
const error = (type: string, message = "boom", extra: Partial<TaskResult> = {}, retryable?: boolean) =>
  result({ kind: "error", error: retryable === undefined ? { type, message } : { type, message, retryable } }, extra);

/** A random source that counts its draws. */
function counted(value = 0.5) {
  const source = () => {
    source.calls++;
    return value;
  };
  source.calls = 0;
  return source;
}

interface Case {
  name: string;
  stepId?: string;
  runStatus?: RunStatus;
  attempts?: number;
  result: TaskResult;
  /** The step move: from RUNNING to this status, with a patch containing these fields. */
  to: "SUCCEEDED" | "QUEUED" | "FAILED";
  patch: Record<string, unknown>;
  /** The history event's fields besides run, type, step and status. */
  event: Record<string, unknown>;
  retries: (string | undefined)[];
  draws: number;
}

const SLEEP_UNTIL = new Date("2030-01-02T03:04:05.000Z");

const CASES: Case[] = [
  {
    name: "a success stores the output and clears the error",
    result: output({ ok: true }),
    to: "SUCCEEDED",
    patch: { token: 42n, output: { ok: true }, errorClear: true },
    event: { attempt: 1, worker_id: "w1" },
    retries: [],
    draws: 0,
  },
  {
    name: "an error with attempts left goes back to QUEUED after the backoff (plus jitter)",
    result: error("HTTP_503"),
    to: "QUEUED",
    patch: { token: 42n, error: { type: "HTTP_503", message: "boom" }, delayMs: 1100, action: "do.charge" },
    event: { attempt: 1, worker_id: "w1", error: { type: "HTTP_503", message: "boom" }, message: "retry in 1100 ms" },
    retries: ["do.charge"],
    draws: 1,
  },
  {
    name: "an error on the last attempt fails the step",
    attempts: 3,
    result: error("HTTP_503"),
    to: "FAILED",
    patch: { token: 42n, error: { type: "HTTP_503", message: "boom" } },
    event: { attempt: 3, error: { type: "HTTP_503", message: "boom" }, message: "attempt 3 of 3: no attempts left" },
    retries: [],
    draws: 1,
  },
  {
    name: "an error marked not retryable fails the step",
    result: error("HTTP_400", "bad", {}, false),
    to: "FAILED",
    patch: { error: { type: "HTTP_400", message: "bad", retryable: false } },
    event: { message: "the error is marked not retryable" },
    retries: [],
    draws: 1,
  },
  {
    name: "an error type the policy names fails the step",
    result: error("VALIDATION"),
    to: "FAILED",
    patch: { error: { type: "VALIDATION", message: "boom" } },
    event: { message: 'error type "VALIDATION" is not retryable by policy' },
    retries: [],
    draws: 1,
  },
  {
    name: "a task its worker handed back is queued at once and not counted as a retry",
    stepId: "once",
    result: error("WORKER_DRAINING", "draining", { taskId: `${RUN_ID}/once` }),
    to: "QUEUED",
    patch: { delayMs: 0, action: "do.once" },
    event: { message: "retry in 0 ms" },
    retries: [],
    draws: 1,
  },
  {
    name: "a lost lease (the server's verdict) with attempts left is retried like an error",
    result: error("LEASE_LOST", "lease lost: stream closed", { source: "server", workerId: undefined }, true),
    to: "QUEUED",
    patch: { error: { type: "LEASE_LOST", message: "lease lost: stream closed", retryable: true }, delayMs: 1100 },
    event: { worker_id: "w9", message: "retry in 1100 ms" },
    retries: ["do.charge"],
    draws: 1,
  },
  {
    name: "a step timeout on the step's last attempt fails it",
    stepId: "once",
    result: error("TIMEOUT", "step timed out", { source: "server", taskId: `${RUN_ID}/once` }, true),
    to: "FAILED",
    patch: { error: { type: "TIMEOUT", message: "step timed out", retryable: true } },
    event: { message: "attempt 1 of 1: no attempts left" },
    retries: [],
    draws: 1,
  },
  {
    name: "an output Postgres cannot store fails the step with INVALID_OUTPUT, without a retry",
    result: output({ a: ["ok", "b\u0000d"] }),
    to: "FAILED",
    patch: {
      error: {
        type: "INVALID_OUTPUT",
        message: "output holds text that cannot be stored, at output.a[1] (the NUL character (\\u0000))",
        retryable: false,
      },
    },
    event: { message: "the result cannot be stored" },
    retries: [],
    draws: 0,
  },
  {
    name: "an error message Postgres cannot store fails the step with INVALID_OUTPUT",
    result: error("HTTP_503", "bad\u0000text"),
    to: "FAILED",
    patch: { error: expect.objectContaining({ type: "INVALID_OUTPUT", retryable: false }) },
    event: { message: "the result cannot be stored" },
    retries: [],
    draws: 0,
  },
  {
    name: "a built-in's sleep parks the step until its timer, handing the attempt back",
    result: result({ kind: "sleep", until: SLEEP_UNTIL }),
    to: "QUEUED",
    patch: { token: 42n, giveBack: true, timerAt: SLEEP_UNTIL.toISOString(), action: "do.charge" },
    event: { message: `timer set: due at ${SLEEP_UNTIL.toISOString()}` },
    retries: [],
    draws: 0,
  },
  {
    name: "a built-in's requeue queues the step at once, handing the attempt back",
    result: result({ kind: "requeue", reason: "replica shutting down" }),
    to: "QUEUED",
    patch: { token: 42n, giveBack: true, action: "do.charge" },
    event: { message: "requeued: replica shutting down" },
    retries: [],
    draws: 0,
  },
];

describe("decideResult: an accepted result", () => {
  it.each(CASES)("$name", (c) => {
    const stepId = c.stepId ?? "charge";
    const loaded = loadedRun(c.runStatus ?? "RUNNING", [
      step(stepId, "RUNNING", { attempts: c.attempts ?? 1, leaseToken: 42n, workerId: "w9" }),
    ]);
    const random = counted();
    const d = decideResult(loaded, def, stepId, c.result, random);

    expect(d.answer).toEqual({ taskId: c.result.taskId, accepted: true });
    expect(d.events).toEqual([]);
    expect(d.cancel).toEqual([]);
    expect(d.replan).toBe(true);
    expect(d.retries).toEqual(c.retries);
    expect(random.calls).toBe(c.draws);
    expect(d.moves).toHaveLength(1);
    const move = d.moves[0] as StepMove;
    expect(move).toMatchObject({ kind: "step", runId: RUN_ID, stepId, from: "RUNNING", to: c.to });
    expect(move.patch).toMatchObject(c.patch);
    expect(move.event).toMatchObject({ run_id: RUN_ID, type: "STEP_STATUS", step_id: stepId, step_status: c.to });
    expect(move.event).toMatchObject(c.event);
    // The event's error is the patch's: one value, written twice.
    expect(move.event.error).toBe(move.patch.error);
  });

  it("names the result's worker, else the step's", () => {
    const loaded = () => loadedRun("RUNNING", [step("charge", "RUNNING", { leaseToken: 42n, workerId: "w9" })]);
    const named = decideResult(loaded(), def, "charge", output(1), counted());
    const anonymous = decideResult(
      loaded(),
      def,
      "charge",
      result({ kind: "output", output: 1 }, { workerId: undefined }),
      counted(),
    );
    expect(named.moves[0]!.event.worker_id).toBe("w1");
    expect(anonymous.moves[0]!.event.worker_id).toBe("w9");
  });

  it("proves a PENDING run RUNNING before moving the step", () => {
    const loaded = loadedRun("PENDING", [step("charge", "RUNNING", { leaseToken: 42n })]);
    const d = decideResult(loaded, def, "charge", output(1), counted());
    expect(d.moves.map((m) => [m.kind, m.from, m.to])).toEqual([
      ["run", "PENDING", "RUNNING"],
      ["step", "RUNNING", "SUCCEEDED"],
    ]);
    expect(d.moves[0]!.event).toEqual({ run_id: RUN_ID, type: "RUN_STATUS", run_status: "RUNNING" });
    expect(d.replan).toBe(true);
  });

  it("fails an error on a finished run without asking the retry policy, and plans nothing", () => {
    const loaded = loadedRun("CANCELLED", [step("charge", "RUNNING", { leaseToken: 42n })]);
    const random = counted();
    const d = decideResult(loaded, def, "charge", error("HTTP_503"), random);
    expect(d.moves).toHaveLength(1);
    expect(d.moves[0]).toMatchObject({ to: "FAILED", event: { message: "the run is CANCELLED" } });
    expect(random.calls).toBe(0);
    expect(d.replan).toBe(false);
  });

  it("uses the default retry policy and names no action without a definition", () => {
    const loaded = loadedRun("RUNNING", [step("charge", "RUNNING", { leaseToken: 42n })]);
    const failed = decideResult(loaded, undefined, "charge", error("HTTP_503"), counted());
    expect(failed.moves[0]).toMatchObject({ to: "FAILED", event: { message: "attempt 1 of 1: no attempts left" } });
    const parked = decideResult(loaded, undefined, "charge", result({ kind: "requeue", reason: "x" }), counted());
    expect("action" in (parked.moves[0] as StepMove).patch).toBe(false);
  });

  it("does not change the loaded state itself", () => {
    const loaded = loadedRun("PENDING", [step("charge", "RUNNING", { leaseToken: 42n })]);
    decideResult(loaded, def, "charge", output(1), counted());
    expect(loaded.run.status).toBe("PENDING");
    expect(loaded.steps.get("charge")).toMatchObject({ status: "RUNNING", leaseToken: 42n });
  });
});

describe("decideResult: a stale result", () => {
  const STALE = [
    {
      name: "another token",
      step: step("charge", "RUNNING", { attempts: 2, leaseToken: 43n }),
      reason: "stale result: lease token 42 is not current (step RUNNING, attempt 2, current token 43)",
    },
    {
      name: "a step no longer RUNNING",
      step: step("charge", "SUCCEEDED"),
      reason: "stale result: lease token 42 is not current (step SUCCEEDED, attempt 1, current token none)",
    },
    {
      name: "a step that does not exist",
      step: undefined,
      reason: "unknown step",
    },
  ];

  it.each(STALE)("from a worker, $name: refused with a STALE_RESULT event", (c) => {
    const loaded = loadedRun("RUNNING", c.step ? [c.step] : []);
    const d = decideResult(loaded, def, "charge", output(1), counted());
    expect(d.answer).toEqual({ taskId: TASK, accepted: false, reason: c.reason });
    expect(d.moves).toEqual([]);
    expect(d.replan).toBe(false);
    expect(d.events).toEqual([
      {
        run_id: RUN_ID,
        type: "STALE_RESULT",
        step_id: "charge",
        ...(c.step ? { attempt: c.step.attempts } : {}),
        worker_id: "w1",
        message: c.reason,
      },
    ]);
  });

  it.each(STALE)("from the server, $name: refused and nothing recorded", (c) => {
    const loaded = loadedRun("RUNNING", c.step ? [c.step] : []);
    const d = decideResult(loaded, def, "charge", error("LEASE_LOST", "lost", { source: "server" }), counted());
    expect(d.answer).toEqual({ taskId: TASK, accepted: false, reason: c.reason });
    expect(d.moves).toEqual([]);
    expect(d.events).toEqual([]);
    expect(d.retries).toEqual([]);
  });
});

describe("decideResult + applyToState: several results of one run in one batch", () => {
  it("reads what the earlier decisions decided", () => {
    const loaded = loadedRun("PENDING", [
      step("charge", "RUNNING", { leaseToken: 42n }),
      step("once", "RUNNING", { leaseToken: 7n }),
    ]);
    const first = decideResult(loaded, def, "charge", output("paid"), counted());
    applyToState(loaded, first);
    const again = decideResult(loaded, def, "charge", output("paid"), counted());
    applyToState(loaded, again);
    const other = decideResult(
      loaded,
      def,
      "once",
      { ...output(2), taskId: `${RUN_ID}/once`, leaseToken: 7n },
      counted(),
    );

    expect(first.moves.map((m) => m.kind)).toEqual(["run", "step"]);
    expect(again.answer.reason).toBe(
      "stale result: lease token 42 is not current (step SUCCEEDED, attempt 1, current token none)",
    );
    // The run was proven RUNNING by the first result: no second run move.
    expect(other.moves.map((m) => [m.kind, m.to])).toEqual([["step", "SUCCEEDED"]]);
    expect(loaded.steps.get("charge")).toMatchObject({ status: "SUCCEEDED", output: "paid" });
  });
});
