import { describe, expect, it } from "vitest";
import { applyToState, copyLoaded, toRunState } from "../../src/engine/live-state.js";
import { movesOnly, runMove, stepMove, type Move, type StepPatch } from "../../src/engine/moves.js";
import { IllegalTransitionError } from "../../src/engine/transition.js";
import { ChangeSet } from "../../src/store/writes/change-set.js";
import { loadedRun, RUN_ID, step } from "./engine-fixtures.js";

const boom = { type: "APP", message: "boom" };

describe("stepMove: the check and the history event in one call", () => {
  const LEGAL = [
    {
      name: "a success names attempt and worker",
      args: ["RUNNING", "SUCCEEDED", { token: 1n, output: 2 }, { attempt: 1, workerId: "w1" }] as const,
      event: { step_status: "SUCCEEDED", attempt: 1, worker_id: "w1" },
    },
    {
      name: "a failure carries the patch's error and the message",
      args: ["RUNNING", "FAILED", { error: boom }, { attempt: 3, message: "no attempts left" }] as const,
      event: { step_status: "FAILED", attempt: 3, error: boom, message: "no attempts left" },
    },
    {
      name: "an empty worker id is left out",
      args: ["RUNNING", "QUEUED", { delayMs: 5 }, { attempt: 1, workerId: "" }] as const,
      event: { step_status: "QUEUED", attempt: 1 },
    },
    {
      name: "a skip carries its reason",
      args: ["PENDING", "SKIPPED", undefined, { message: "when is false" }] as const,
      event: { step_status: "SKIPPED", message: "when is false" },
    },
    {
      name: "RetryRun's reset, legal with its cause",
      args: ["FAILED", "PENDING", { reset: true }, { message: "retried" }, "retry"] as const,
      event: { step_status: "PENDING", message: "retried" },
    },
  ];

  it.each(LEGAL)("$name", ({ args, event }) => {
    const [from, to, patch, note, cause] = args;
    const move = stepMove(RUN_ID, "a", from, to, patch as StepPatch | undefined, note, cause);
    expect(move).toMatchObject({ kind: "step", runId: RUN_ID, stepId: "a", from, to });
    expect(move.event).toEqual({ run_id: RUN_ID, type: "STEP_STATUS", step_id: "a", ...event });
  });

  const ILLEGAL = [
    ["SUCCEEDED", "RUNNING", undefined],
    ["FAILED", "PENDING", undefined],
    ["SUCCEEDED", "PENDING", "retry"],
    ["QUEUED", "SUCCEEDED", undefined],
  ] as const;

  it.each(ILLEGAL)("refuses %s -> %s (cause %s)", (from, to, cause) => {
    expect(() => stepMove(RUN_ID, "a", from, to, undefined, undefined, cause)).toThrow(IllegalTransitionError);
  });
});

describe("runMove", () => {
  it("carries the patch's error and the message on its event", () => {
    const move = runMove(RUN_ID, "RUNNING", "CANCELLED", { error: boom }, "boom");
    expect(move).toMatchObject({ kind: "run", from: "RUNNING", to: "CANCELLED", patch: { error: boom } });
    expect(move.event).toEqual({
      run_id: RUN_ID,
      type: "RUN_STATUS",
      run_status: "CANCELLED",
      error: boom,
      message: "boom",
    });
  });

  it("refuses a move out of a finished run unless RetryRun asks, and never out of SUCCEEDED", () => {
    expect(() => runMove(RUN_ID, "FAILED", "RUNNING")).toThrow(IllegalTransitionError);
    expect(runMove(RUN_ID, "FAILED", "RUNNING", undefined, "retried", "retry").to).toBe("RUNNING");
    expect(() => runMove(RUN_ID, "SUCCEEDED", "RUNNING", undefined, undefined, "retry")).toThrow(
      IllegalTransitionError,
    );
  });
});

describe("applyToState: the loaded rows follow the moves", () => {
  const running = () => step("a", "RUNNING", { attempts: 2, leaseToken: 9n, workerId: "w1", error: boom });
  const CASES: { name: string; move: Move; after: Record<string, unknown> }[] = [
    {
      name: "a success: output set, error and token cleared",
      move: stepMove(RUN_ID, "a", "RUNNING", "SUCCEEDED", { token: 9n, output: null, errorClear: true }),
      after: {
        status: "SUCCEEDED",
        attempts: 2,
        output: null,
        error: undefined,
        leaseToken: undefined,
        workerId: "w1",
      },
    },
    {
      name: "a retry: the new error, no token",
      move: stepMove(RUN_ID, "a", "RUNNING", "QUEUED", { token: 9n, error: { type: "X", message: "x" }, delayMs: 1 }),
      after: { status: "QUEUED", attempts: 2, error: { type: "X", message: "x" }, leaseToken: undefined },
    },
    {
      name: "a give-back: the attempt returned",
      move: stepMove(RUN_ID, "a", "RUNNING", "QUEUED", { token: 9n, giveBack: true }),
      after: { status: "QUEUED", attempts: 1, leaseToken: undefined },
    },
    {
      name: "a stop: the attempt and worker stay, the token is no longer current",
      move: stepMove(RUN_ID, "a", "RUNNING", "CANCELLED", { error: boom }),
      after: { status: "CANCELLED", attempts: 2, workerId: "w1", leaseToken: undefined },
    },
  ];

  it.each(CASES)("$name", ({ move, after }) => {
    const loaded = loadedRun("RUNNING", [running()]);
    applyToState(loaded, movesOnly([move]));
    expect({ ...loaded.steps.get("a") }).toMatchObject(after);
  });

  it("a reset: attempts 0, output, error and worker forgotten", () => {
    const loaded = loadedRun("FAILED", [step("a", "FAILED", { attempts: 3, output: 1, error: boom, workerId: "w1" })]);
    const patch = { reset: true, outputClear: true, errorClear: true, inputClear: true };
    applyToState(loaded, movesOnly([stepMove(RUN_ID, "a", "FAILED", "PENDING", patch, undefined, "retry")]));
    expect(loaded.steps.get("a")).toEqual({
      stepId: "a",
      status: "PENDING",
      attempts: 0,
      output: undefined,
      error: undefined,
      leaseToken: undefined,
      workerId: undefined,
    });
  });

  it("moves the run, and ignores the moves of other runs", () => {
    const loaded = loadedRun("PENDING", [step("a", "QUEUED")]);
    applyToState(
      loaded,
      movesOnly([runMove(RUN_ID, "PENDING", "RUNNING"), stepMove("other", "a", "QUEUED", "CANCELLED")]),
    );
    expect(loaded.run.status).toBe("RUNNING");
    expect(loaded.steps.get("a")!.status).toBe("QUEUED");
  });

  it("copyLoaded gives rows that can move without touching the original", () => {
    const loaded = loadedRun("RUNNING", [running()]);
    const copy = copyLoaded(loaded);
    applyToState(copy, movesOnly([runMove(RUN_ID, "RUNNING", "FAILED"), stepMove(RUN_ID, "a", "RUNNING", "FAILED")]));
    expect(loaded.run.status).toBe("RUNNING");
    expect(loaded.steps.get("a")!.status).toBe("RUNNING");
    expect(copy.steps.get("a")!.status).toBe("FAILED");
  });

  it("toRunState gives the planner the statuses, attempts, outputs and errors", () => {
    const loaded = loadedRun("RUNNING", [step("a", "SUCCEEDED", { output: 0, leaseToken: 1n })]);
    expect(toRunState(loaded)).toEqual({
      runId: RUN_ID,
      workflowId: "w",
      workflowVersion: 1,
      status: "RUNNING",
      input: { n: 1 },
      steps: { a: { status: "SUCCEEDED", attempts: 1, output: 0 } },
    });
  });
});

describe("ChangeSet.add: the store writes the engine's move records", () => {
  it("boxes JSON, writes tokens as text, keeps events in order and merges moves of one row", () => {
    const changes = new ChangeSet();
    changes.add(
      movesOnly([
        runMove(RUN_ID, "FAILED", "RUNNING", { deadlineMs: 60_000 }, "retried after FAILED", "retry"),
        stepMove(RUN_ID, "a", "FAILED", "PENDING", { reset: true, outputClear: true }, { message: "retried" }, "retry"),
        stepMove(RUN_ID, "a", "PENDING", "QUEUED", { input: null, action: "do.a" }),
        stepMove(RUN_ID, "b", "RUNNING", "SUCCEEDED", { token: 12345678901234567890n, output: { ok: 1 } }),
        runMove(RUN_ID, "RUNNING", "SUCCEEDED", { output: null }),
      ]),
    );
    expect(changes.steps.get(`${RUN_ID}/a`)).toEqual({
      run_id: RUN_ID,
      step_id: "a",
      from: "FAILED",
      to: "QUEUED",
      reset: true,
      output_clear: true,
      input: { v: null },
    });
    expect(changes.steps.get(`${RUN_ID}/b`)).toMatchObject({ token: "12345678901234567890", output: { v: { ok: 1 } } });
    expect(changes.runs.get(RUN_ID)).toEqual({
      id: RUN_ID,
      from: "FAILED",
      to: "SUCCEEDED",
      output: { v: null },
      deadline_ms: 60_000,
    });
    expect(changes.events.map((e) => e.step_status ?? e.run_status)).toEqual([
      "RUNNING",
      "PENDING",
      "QUEUED",
      "SUCCEEDED",
      "SUCCEEDED",
    ]);
    expect(changes.signals()).toEqual([
      { kind: "queued", actions: ["do.a"] },
      { kind: "run", runIds: [RUN_ID] },
    ]);
  });

  it("refuses a move that does not start where the row's last move ended", () => {
    const changes = new ChangeSet();
    changes.add(movesOnly([stepMove(RUN_ID, "a", "RUNNING", "SUCCEEDED")]));
    expect(() => changes.add(movesOnly([stepMove(RUN_ID, "a", "RUNNING", "FAILED")]))).toThrow(/recorded after a move/);
  });
});
