/**
 * A run's step attempts from its history, for the timeline: when each was
 * queued, started and ended, and how it ended.
 *
 * @example
 *   attemptsOf(events); // [{ stepId: "greet", attempt: 1, queued, started, ended, outcome: "succeeded" }, …]
 */
import { RunEventType, StepStatus, type RunEvent } from "../../gen/weft/v1/common_pb.js";
import { ms, stepStatusName } from "./format.js";

export interface Attempt {
  stepId: string;
  attempt: number;
  queued: number;
  started?: number;
  ended?: number;
  outcome: string;
}

/** Attempts in the order they were queued, from the step-status events of a run's history. */
export function attemptsOf(events: RunEvent[]): Attempt[] {
  const out: Attempt[] = [];
  const open = new Map<string, Attempt>();
  for (const e of events) {
    if (e.type !== RunEventType.STEP_STATUS) continue;
    const t = ms(e.time) ?? 0;
    const cur = open.get(e.stepId);
    if (e.stepStatus === StepStatus.QUEUED) {
      if (cur) close(cur, t, "requeued");
      const a: Attempt = { stepId: e.stepId, attempt: e.attempt, queued: t, outcome: "queued" };
      open.set(e.stepId, a);
      out.push(a);
    } else if (e.stepStatus === StepStatus.RUNNING && cur) {
      cur.started = t;
      cur.attempt = e.attempt || cur.attempt + 1;
      cur.outcome = "running";
    } else if (cur && e.stepStatus !== StepStatus.PENDING) {
      close(cur, t, stepStatusName(e.stepStatus));
      open.delete(e.stepId);
    }
  }
  return out;
}

function close(a: Attempt, t: number, outcome: string): void {
  a.ended = t;
  a.outcome = outcome;
}
