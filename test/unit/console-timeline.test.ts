/**
 * The console's timeline reads a run's history into step attempts: the wait
 * in the queue, the execution, and how each attempt ended.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import { attemptsOf } from "../../console/src/timeline.js";
import { RunEventSchema, RunEventType, RunStatus, StepStatus, type RunEvent } from "../../gen/weft/v1/common_pb.js";

let seq = 0n;
const step = (at: number, stepId: string, stepStatus: StepStatus, attempt = 0): RunEvent =>
  create(RunEventSchema, {
    sequence: ++seq,
    time: timestampFromMs(at),
    type: RunEventType.STEP_STATUS,
    stepId,
    stepStatus,
    attempt,
  });

describe("attemptsOf", () => {
  it("gives each attempt its queue wait, its run and its end, a retry in the step and a retried run included", () => {
    const events = [
      create(RunEventSchema, {
        sequence: ++seq,
        time: timestampFromMs(0),
        type: RunEventType.RUN_STATUS,
        runStatus: RunStatus.RUNNING,
      }),
      step(0, "a", StepStatus.QUEUED),
      step(10, "a", StepStatus.RUNNING, 1),
      step(30, "a", StepStatus.QUEUED, 1), // an error with attempts left
      step(80, "a", StepStatus.RUNNING, 2),
      step(100, "a", StepStatus.SUCCEEDED, 2),
      step(100, "b", StepStatus.PENDING),
      step(100, "b", StepStatus.QUEUED),
      step(120, "b", StepStatus.RUNNING, 1),
      step(150, "b", StepStatus.FAILED, 1),
      step(500, "b", StepStatus.QUEUED), // RetryRun
      step(510, "b", StepStatus.RUNNING, 2),
    ];
    expect(attemptsOf(events)).toEqual([
      { stepId: "a", attempt: 1, queued: 0, started: 10, ended: 30, outcome: "requeued" },
      { stepId: "a", attempt: 2, queued: 30, started: 80, ended: 100, outcome: "succeeded" },
      { stepId: "b", attempt: 1, queued: 100, started: 120, ended: 150, outcome: "failed" },
      { stepId: "b", attempt: 2, queued: 500, started: 510, outcome: "running" },
    ]);
  });

  it("keeps a step that never left the queue open, and one cancelled in the queue closed without a start", () => {
    const events = [
      step(0, "a", StepStatus.QUEUED),
      step(0, "b", StepStatus.QUEUED),
      step(40, "b", StepStatus.CANCELLED),
    ];
    expect(attemptsOf(events)).toEqual([
      { stepId: "a", attempt: 0, queued: 0, outcome: "queued" },
      { stepId: "b", attempt: 0, queued: 0, ended: 40, outcome: "cancelled" },
    ]);
  });
});
