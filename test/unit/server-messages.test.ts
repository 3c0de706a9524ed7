/**
 * How queued outgoing messages become stream messages: one per item for a
 * worker that did not ask for batches, consecutive tasks and acks merged for
 * one that did, order kept, batches capped.
 */
import { describe, expect, it } from "vitest";
import { MAX_TASKS_PER_MESSAGE, serverMessages } from "../../src/api/worker-messages.js";
import type { Outgoing } from "../../src/dispatch/session.js";

const task = (n: number): Outgoing => ({
  kind: "task",
  task: {
    taskId: `r/s${n}`,
    namespace: "default",
    runId: "r",
    stepId: `s${n}`,
    workflowId: "wf",
    action: "a",
    input: { n },
    attempt: 1,
    leaseToken: BigInt(n),
  },
});
const ack = (n: number): Outgoing => ({ kind: "ack", taskId: `r/s${n}`, accepted: true });
const cancel = (n: number): Outgoing => ({ kind: "cancel", taskId: `r/s${n}`, reason: "run cancelled" });

/** A compact picture of the messages: kind and the task ids each carries. */
function shape(queued: Outgoing[], batches: boolean): string[] {
  return serverMessages(queued, { batches, json: false }).map((m) => {
    const msg = m.msg!;
    switch (msg.case) {
      case "task":
      case "ack":
      case "cancel":
        return `${msg.case}:${msg.value!.taskId}`;
      case "tasks":
        return `tasks:${msg.value!.tasks!.map((t) => t.taskId).join(",")}`;
      case "acks":
        return `acks:${msg.value!.acks!.map((a) => a.taskId).join(",")}`;
      default:
        return String(msg.case);
    }
  });
}

describe("serverMessages", () => {
  it("sends one message per item to a worker that did not ask for batches", () => {
    expect(shape([task(1), task(2), ack(3), cancel(4)], false)).toEqual([
      "task:r/s1",
      "task:r/s2",
      "ack:r/s3",
      "cancel:r/s4",
    ]);
  });

  it("merges consecutive tasks and consecutive acks, keeping the order around a cancel", () => {
    expect(shape([task(1), task(2), ack(3), ack(4), cancel(5), ack(6), task(7)], true)).toEqual([
      "tasks:r/s1,r/s2",
      "acks:r/s3,r/s4",
      "cancel:r/s5",
      "acks:r/s6",
      "tasks:r/s7",
    ]);
  });

  it("caps a tasks message and carries the task fields", () => {
    const queued = Array.from({ length: MAX_TASKS_PER_MESSAGE + 3 }, (_, i) => task(i));
    const out = serverMessages(queued, { batches: true, json: false });
    expect(out).toHaveLength(2);
    const [first, second] = out.map((m) => (m.msg!.case === "tasks" ? m.msg!.value!.tasks! : []));
    expect(first).toHaveLength(MAX_TASKS_PER_MESSAGE);
    expect(second).toHaveLength(3);
    expect(first![5]).toMatchObject({
      taskId: "r/s5",
      runId: "r",
      stepId: "s5",
      workflowId: "wf",
      action: "a",
      attempt: 1,
      leaseToken: 5n,
    });
  });

  it("carries a task's input as JSON bytes for a worker that said accepts_json, as a Value otherwise", () => {
    const [asJson] = serverMessages([task(7)], { batches: false, json: true });
    const [asValue] = serverMessages([task(7)], { batches: false, json: false });
    const t = asJson!.msg!.case === "task" ? asJson!.msg!.value! : undefined;
    expect(new TextDecoder().decode(t?.inputJson)).toBe('{"n":7}');
    expect(t?.input).toBeUndefined();
    const v = asValue!.msg!.case === "task" ? asValue!.msg!.value! : undefined;
    expect(v?.inputJson).toBeUndefined();
    expect(v?.input).toBeDefined();
  });
});
