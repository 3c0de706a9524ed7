/**
 * `weft trigger` and `weft runs ls|get|watch|history|cancel|retry|purge`.
 *
 * @example
 *   weft trigger hello --input '{"name": "Ada"}' --wait
 *   weft runs ls --workflow hello --status failed --since 1h
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampDate, timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import {
  RunEventSchema,
  RunEventType,
  RunSchema,
  RunStatus,
  StepStatus,
  type Run,
} from "../../../gen/weft/v1/common_pb.js";
import { jsonToValue } from "../../../sdk/index.js";
import { parseJsonArg, parseSince, type CliContext } from "../context.js";
import { EXIT, UsageError } from "../errors.js";
import { formatDuration } from "../output.js";
import { createRunView } from "../run-view.js";
import { registerPurgeCommand } from "./purge.js";

type Run_ = (
  action: (ctx: CliContext, ...args: never[]) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

const STATUS_NAMES = Object.keys(RunStatus).filter((k) => Number.isNaN(Number(k)) && k !== "UNSPECIFIED");

/** `failed` / `FAILED` / `RUN_STATUS_FAILED` → the enum value. */
export function parseRunStatus(text: string): RunStatus {
  const name = text.toUpperCase().replace(/^RUN_STATUS_/, "");
  const value = (RunStatus as unknown as Record<string, number>)[name];
  if (value === undefined || name === "UNSPECIFIED") {
    throw new UsageError(
      `--status: expected one of ${STATUS_NAMES.map((s) => s.toLowerCase()).join(", ")}, got "${text}"`,
    );
  }
  return value;
}

/** Follows a run to its end with the live view; the exit code says whether it succeeded. */
async function follow(ctx: CliContext, runId: string): Promise<number> {
  const view = createRunView(ctx.out);
  let run: Run | undefined;
  for await (const { event } of ctx.client.runs.watchRun({ runId })) {
    if (!event) continue;
    if (ctx.out.format === "table") view.apply(event);
    if (event.run) run = event.run;
  }
  run ??= (await ctx.client.runs.getRun({ runId })).run;
  if (ctx.out.format === "table") view.done();
  else if (run) ctx.out.data(toJson(RunSchema, run));
  return run?.status === RunStatus.SUCCEEDED ? EXIT.ok : EXIT.runFailed;
}

const runDuration = (r: Run): string =>
  r.startTime ? formatDuration((r.endTime ? timestampMs(r.endTime) : Date.now()) - timestampMs(r.startTime)) : "";

/** Registers `trigger` and `runs` on the program. */
export function registerRunCommands(program: Command, run: Run_): void {
  program
    .command("trigger <workflow>")
    .description("start a run of a workflow")
    .option("--input <json>", "the run's input: JSON, or @file (@- for standard input)")
    .option("--key <idempotency-key>", "the same key never starts a second run")
    .option("--version <n>", "pin a workflow version (default: latest)")
    .option("--wait", "follow the run live until it ends; exit 0 only if it succeeded")
    .addHelpText(
      "after",
      '\nExamples:\n  weft trigger hello --input \'{"name": "Ada"}\' --wait\n  weft trigger etl --input @input.json --key nightly-2026-12-05',
    )
    .action(run(trigger));

  const runs = program.command("runs").description("list, inspect, follow, cancel and retry runs");
  runs
    .command("ls")
    .description("list runs, newest first")
    .option("--workflow <id>", "only this workflow's runs")
    .option("--status <status>", `only runs in this status (${STATUS_NAMES.map((s) => s.toLowerCase()).join(", ")})`)
    .option("--since <duration>", "only runs created within this long (30s, 15m, 1h, 7d)")
    .option("--limit <n>", "at most this many", "20")
    .addHelpText("after", "\nExample:\n  weft runs ls --workflow hello --status failed --since 1h")
    .action(run(listRuns));
  runs
    .command("get <run-id>")
    .description("show a run and its steps")
    .addHelpText("after", "\nExample:\n  weft runs get 0193… -o json")
    .action(run(showRun));
  runs
    .command("watch <run-id>")
    .description("follow a run live until it ends; exit 0 only if it succeeded")
    .addHelpText("after", "\nExample:\n  weft runs watch 0193…")
    .action(run((ctx, runId: string) => follow(ctx, runId)));
  runs
    .command("history <run-id>")
    .description("every event of a run, oldest first")
    .addHelpText("after", "\nExample:\n  weft runs history 0193…")
    .action(run(showHistory));
  for (const [name, verb] of [
    ["cancel", "cancel a run: running tasks are told to stop"],
    ["retry", "run again the failed and cancelled steps of a finished run"],
  ] as const) {
    runs
      .command(`${name} <run-id>`)
      .description(verb)
      .addHelpText("after", `\nExample:\n  weft runs ${name} 0193…`)
      .action(run((ctx, runId: string) => steer(ctx, name, runId)));
  }
  registerPurgeCommand(runs, run);
}

/** `weft trigger`: starts a run; with `--wait`, follows it to its end. */
async function trigger(
  ctx: CliContext,
  workflowId: string,
  opts: { input?: string; key?: string; version?: string; wait?: boolean },
): Promise<number | void> {
  const input = opts.input === undefined ? {} : parseJsonArg(opts.input, "--input");
  const res = await ctx.client.workflows.triggerWorkflow({
    workflowId,
    input: jsonToValue(input),
    idempotencyKey: opts.key ?? "",
    version: opts.version ? Number(opts.version) : 0,
  });
  if (!opts.wait) {
    if (ctx.out.format !== "table") return ctx.out.data({ runId: res.runId, created: res.created });
    return ctx.out.line(`run ${res.runId} ${res.created ? "started" : "already existed (same idempotency key)"}`);
  }
  if (ctx.out.format === "table") ctx.out.line(ctx.out.dim(`run ${res.runId} of ${workflowId}`));
  return follow(ctx, res.runId);
}

/** `weft runs ls`: pages through runs, newest first, until `--limit` or a run older than `--since`. */
async function listRuns(
  ctx: CliContext,
  opts: { workflow?: string; status?: string; since?: string; limit: string },
): Promise<void> {
  const limit = Number(opts.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new UsageError(`--limit: a positive integer, got "${opts.limit}"`);
  const status = opts.status ? parseRunStatus(opts.status) : RunStatus.UNSPECIFIED;
  const after = opts.since ? Date.now() - parseSince(opts.since) : 0;
  const items: Run[] = [];
  let pageToken = "";
  paging: do {
    const page = await ctx.client.runs.listRuns({
      workflowId: opts.workflow ?? "",
      status,
      pageSize: Math.min(1000, limit),
      pageToken,
    });
    for (const r of page.runs) {
      // Newest first: the first run older than --since ends the listing.
      if (r.createTime && timestampMs(r.createTime) < after) break paging;
      items.push(r);
      if (items.length >= limit) break paging;
    }
    pageToken = page.nextPageToken;
  } while (pageToken);
  if (ctx.out.format !== "table") return ctx.out.data(items.map((r) => toJson(RunSchema, r)));
  ctx.out.table(
    ["RUN", "WORKFLOW", "STATUS", "CREATED", "DURATION"],
    items.map((r) => [
      r.id,
      `${r.workflowId}@${r.workflowVersion}`,
      ctx.out.status(RunStatus[r.status]),
      r.createTime ? timestampDate(r.createTime).toISOString() : "",
      runDuration(r),
    ]),
  );
}

/** `weft runs get`: the run, its error, and a table of its steps. */
async function showRun(ctx: CliContext, runId: string): Promise<void> {
  const r = (await ctx.client.runs.getRun({ runId })).run!;
  if (ctx.out.format !== "table") return ctx.out.data(toJson(RunSchema, r));
  ctx.out.line(
    `run ${r.id} of ${r.workflowId}@${r.workflowVersion}: ${ctx.out.status(RunStatus[r.status])} ${runDuration(r)}`,
  );
  if (r.error?.message) ctx.out.line(`error: ${r.error.type}: ${r.error.message}`);
  ctx.out.table(
    ["STEP", "ACTION", "STATUS", "ATTEMPTS", "DURATION", "ERROR"],
    r.steps.map((s) => [
      s.stepId,
      s.action,
      ctx.out.status(StepStatus[s.status]),
      String(s.attempts),
      s.startTime ? formatDuration((s.endTime ? timestampMs(s.endTime) : Date.now()) - timestampMs(s.startTime)) : "",
      s.error?.message ? `${s.error.type}: ${s.error.message}` : "",
    ]),
  );
}

/** `weft runs history`: every event of the run, oldest first. */
async function showHistory(ctx: CliContext, runId: string): Promise<void> {
  const { events } = await ctx.client.runs.getRunHistory({ runId });
  if (ctx.out.format !== "table") return ctx.out.data(events.map((e) => toJson(RunEventSchema, e)));
  ctx.out.table(
    ["#", "TIME", "EVENT", "STEP", "STATUS", "ATTEMPT", "DETAIL"],
    events.map((e) => [
      String(e.sequence),
      e.time ? timestampDate(e.time).toISOString() : "",
      RunEventType[e.type] ?? "",
      e.stepId,
      e.type === RunEventType.RUN_STATUS
        ? ctx.out.status(RunStatus[e.runStatus])
        : e.stepStatus
          ? ctx.out.status(StepStatus[e.stepStatus])
          : "",
      e.attempt ? String(e.attempt) : "",
      e.error?.message ? `${e.error.type}: ${e.error.message}` : e.message,
    ]),
  );
}

/** `weft runs cancel` and `weft runs retry`: the run as the call left it. */
async function steer(ctx: CliContext, name: "cancel" | "retry", runId: string): Promise<void> {
  const res =
    name === "cancel" ? await ctx.client.runs.cancelRun({ runId }) : await ctx.client.runs.retryRun({ runId });
  const r = res.run!;
  if (ctx.out.format !== "table") return ctx.out.data(toJson(RunSchema, r));
  ctx.out.line(`run ${r.id}: ${ctx.out.status(RunStatus[r.status])}`);
}
