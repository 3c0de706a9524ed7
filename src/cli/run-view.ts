/**
 * The live view of one run while `weft trigger --wait` or `weft runs watch`
 * follows it over `WatchRun`: a line per step with its status, attempt and
 * duration, redrawn in place on a terminal; elsewhere (a pipe, a CI log) a
 * plain line per change, so nothing is printed twice.
 *
 * @example
 *   const view = createRunView(out);
 *   for await (const { event } of client.runs.watchRun({ runId })) if (event) view.apply(event);
 *   view.done();
 */
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { RunEventType, RunStatus, StepStatus, type Run, type RunEvent } from "../../gen/weft/v1/common_pb.js";
import { formatDuration, visibleLength, type Output } from "./output.js";

interface StepLine {
  id: string;
  status: StepStatus;
  attempt: number;
  startedAt?: number;
  endedAt?: number;
  error?: string;
}

export interface RunView {
  /** Takes one WatchRun event. */
  apply(event: RunEvent): void;
  /** The run as last seen (from a snapshot or the final event). */
  readonly run: Run | undefined;
  /** Stops redrawing and prints the run's end. */
  done(): void;
}

const runStatusName = (s: RunStatus): string => RunStatus[s] ?? String(s);
const stepStatusName = (s: StepStatus): string => StepStatus[s] ?? String(s);

/** Lines for the steps, oldest first, with durations measured up to `now` for those running. */
export function stepLines(steps: readonly StepLine[], out: Pick<Output, "status" | "dim">, now: number): string[] {
  const idWidth = Math.max(4, ...steps.map((s) => s.id.length));
  return steps.map((s) => {
    const duration = s.startedAt === undefined ? "" : formatDuration((s.endedAt ?? now) - s.startedAt);
    const attempt = s.attempt > 0 ? `attempt ${s.attempt}` : "";
    const status = out.status(stepStatusName(s.status));
    const pad = " ".repeat(Math.max(0, 10 - visibleLength(status)));
    return `${s.id.padEnd(idWidth)}  ${status}${pad}  ${attempt.padEnd(10)}  ${duration.padEnd(7)}${s.error ? `  ${out.dim(s.error)}` : ""}`.trimEnd();
  });
}

/**
 * Creates the view; `out.tty` decides between redrawing and a line log.
 *
 * @example
 *   const view = createRunView(createOutput({ format: "table", stream: process.stdout }));
 */
export function createRunView(out: Output): RunView {
  const steps = new Map<string, StepLine>();
  let run: Run | undefined;
  let drawn = 0;
  let ticker: NodeJS.Timeout | undefined;

  const redraw = (): void => {
    const lines = stepLines([...steps.values()], out, Date.now());
    const up = drawn > 0 ? `\x1b[${drawn}F` : "";
    process.stdout.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join("\n")}\n`);
    drawn = lines.length;
  };

  const fromRun = (r: Run): void => {
    run = r;
    for (const s of r.steps) {
      steps.set(s.stepId, {
        id: s.stepId,
        status: s.status,
        attempt: s.attempts,
        ...(s.startTime ? { startedAt: timestampMs(s.startTime) } : {}),
        ...(s.endTime ? { endedAt: timestampMs(s.endTime) } : {}),
        ...(s.error?.message ? { error: `${s.error.type}: ${s.error.message}` } : {}),
      });
    }
  };

  const onStep = (event: RunEvent): void => {
    const at = event.time ? timestampMs(event.time) : Date.now();
    const line = steps.get(event.stepId) ?? { id: event.stepId, status: StepStatus.UNSPECIFIED, attempt: 0 };
    line.status = event.stepStatus;
    if (event.attempt > 0) line.attempt = event.attempt;
    if (event.stepStatus === StepStatus.RUNNING) {
      line.startedAt = at;
      delete line.endedAt;
      delete line.error;
    } else if (event.stepStatus !== StepStatus.QUEUED && event.stepStatus !== StepStatus.PENDING) {
      line.endedAt = at;
    }
    if (event.error?.message) line.error = `${event.error.type}: ${event.error.message}`;
    steps.set(event.stepId, line);
    if (!out.tty) out.line(stepLines([line], out, at)[0]!);
  };

  return {
    apply(event) {
      if (event.run) fromRun(event.run);
      if (event.type === RunEventType.STEP_STATUS) onStep(event);
      else if (event.type === RunEventType.SNAPSHOT && !out.tty)
        for (const l of stepLines([...steps.values()], out, Date.now())) out.line(l);
      if (out.tty) {
        redraw();
        ticker ??= setInterval(redraw, 250);
      }
    },
    get run() {
      return run;
    },
    done() {
      clearInterval(ticker);
      if (out.tty && steps.size > 0) redraw();
      if (!run) return;
      const took =
        run.startTime && run.endTime
          ? ` in ${formatDuration(timestampMs(run.endTime) - timestampMs(run.startTime))}`
          : "";
      out.line(
        `run ${run.id} ${out.status(runStatusName(run.status))}${took}${run.error?.message ? `: ${run.error.type}: ${run.error.message}` : ""}`,
      );
    },
  };
}
