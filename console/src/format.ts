/**
 * How the console writes statuses, times, durations and JSON.
 *
 * @example
 *   runStatusName(RunStatus.SUCCEEDED); // "succeeded"
 */
import { timestampDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { RunStatus, RunTrigger, StepStatus, type Run } from "../../gen/weft/v1/common_pb.js";

export const RUN_STATUSES = ["pending", "running", "succeeded", "failed", "cancelled", "timed_out"] as const;

export function runStatusName(s: RunStatus): string {
  return (RunStatus[s] ?? "unspecified").toLowerCase();
}

export function stepStatusName(s: StepStatus): string {
  return (StepStatus[s] ?? "unspecified").toLowerCase();
}

/** `RunStatus` from its lower-case name (a URL filter); UNSPECIFIED (all) when unknown. */
export function runStatusFromName(name: string | null): RunStatus {
  const v = (RunStatus as unknown as Record<string, number | undefined>)[(name ?? "").toUpperCase()];
  return typeof v === "number" ? v : RunStatus.UNSPECIFIED;
}

export function isFinished(s: RunStatus): boolean {
  return s !== RunStatus.PENDING && s !== RunStatus.RUNNING && s !== RunStatus.UNSPECIFIED;
}

export function ms(t: Timestamp | undefined): number | undefined {
  return t ? timestampDate(t).getTime() : undefined;
}

export function when(t: Timestamp | undefined): string {
  const at = ms(t);
  return at === undefined ? "—" : new Date(at).toLocaleString();
}

export function duration(millis: number | undefined): string {
  if (millis === undefined || millis < 0) return "—";
  if (millis < 1000) return `${Math.round(millis)} ms`;
  const s = millis / 1000;
  if (s < 60) return `${s.toFixed(s < 10 ? 2 : 1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${Math.round(s % 60)} s`;
  return `${Math.floor(m / 60)} h ${m % 60} min`;
}

/** From start (or creation) to end, or to now while it runs. */
export function runDuration(run: Run, now: number): number | undefined {
  const start = ms(run.startTime) ?? ms(run.createTime);
  if (start === undefined) return undefined;
  return (ms(run.endTime) ?? (isFinished(run.status) ? start : now)) - start;
}

/** What started the run (`Run.trigger`); runs from before Weft recorded it say so. */
export function triggerSource(run: Run): string {
  switch (run.trigger) {
    case RunTrigger.API:
      return "api";
    case RunTrigger.EVENT:
      return "event";
    case RunTrigger.SCHEDULE:
      return "schedule";
    default:
      return "unknown";
  }
}

/** Said where the trigger is shown. */
export const TRIGGER_NOTE = "What started the run: TriggerWorkflow (api), PublishEvent (event) or a cron schedule";

export function json(v: unknown): string {
  return v === undefined || v === null ? "null" : JSON.stringify(v, null, 2);
}

/** "since" filters in the URL: 15m, 1h, 24h, 7d → milliseconds. */
export const SINCE: Record<string, number> = { "15m": 15 * 60e3, "1h": 3600e3, "24h": 86400e3, "7d": 7 * 86400e3 };
