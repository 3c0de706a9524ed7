/**
 * `weft runs purge`: deletes finished runs (with their steps, history and
 * webhook deliveries) that finished before a time, through `PurgeRuns`.
 * Without `--yes` it only counts (a dry run) and says how to delete. The
 * deletion goes in calls of at most 10,000 runs, each a few batches on the
 * server, with a progress line after each on a terminal.
 *
 * @example
 *   weft runs purge --older-than 30d --status failed --dry-run
 *   weft runs purge --older-than 30d --workflow nightly-report --yes
 */
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { RunStatus } from "../../../gen/weft/v1/common_pb.js";
import { parseSince, type CliContext } from "../context.js";
import { EXIT, UsageError } from "../errors.js";

/** Runs asked for per call: each call's progress shows, and a dropped connection loses little. */
const PER_CALL = 10_000;

const FINISHED = ["succeeded", "failed", "cancelled", "timed_out"];

interface PurgeOptions {
  olderThan?: string;
  before?: string;
  workflow?: string;
  status?: string;
  limit?: string;
  dryRun?: boolean;
  yes?: boolean;
}

type Action = (ctx: CliContext, ...args: never[]) => Promise<number | void>;

/** Registers `purge` under `weft runs`. */
export function registerPurgeCommand(
  runs: Command,
  run: (action: Action) => (...args: unknown[]) => Promise<void>,
): void {
  runs
    .command("purge")
    .description("delete finished runs with their steps, history and webhook deliveries (admin)")
    .option("--older-than <duration>", "runs that finished longer ago than this (30s, 15m, 12h, 30d)")
    .option("--before <time>", "runs that finished before this time (ISO 8601, e.g. 2026-11-01T00:00:00Z)")
    .option("--workflow <id>", "only this workflow's runs")
    .option("--status <statuses>", `only runs in these statuses, comma-separated (${FINISHED.join(", ")}); default all`)
    .option("--limit <n>", "at most this many runs, the oldest finished first")
    .option("--dry-run", "count what would be deleted, delete nothing")
    .option("--yes", "delete (without it, a dry run)")
    .addHelpText(
      "after",
      "\nExamples:\n  weft runs purge --older-than 30d --dry-run\n  weft runs purge --older-than 7d --status failed,cancelled --yes",
    )
    .action(run(purge));
}

async function purge(ctx: CliContext, opts: PurgeOptions): Promise<number | void> {
  const request = purgeRequest(opts);
  const limit = opts.limit === undefined ? Infinity : Number(opts.limit);
  if (opts.limit !== undefined && (!Number.isInteger(limit) || limit < 1))
    throw new UsageError(`--limit: a positive integer, got "${opts.limit}"`);
  if (opts.dryRun || !opts.yes) {
    const res = await ctx.client.runs.purgeRuns({
      ...request,
      limit: Number.isFinite(limit) ? BigInt(limit) : 0n,
      dryRun: true,
    });
    if (ctx.out.format !== "table") return ctx.out.data({ dryRun: true, runs: Number(res.runs) });
    ctx.out.line(`${Number(res.runs).toLocaleString("en-US")} finished runs would be deleted`);
    if (opts.dryRun) return;
    ctx.out.line("nothing deleted: add --yes to delete them (or --dry-run to only count)");
    return EXIT.usage;
  }
  const total = { runs: 0, steps: 0, events: 0, webhookDeliveries: 0, bytes: 0 };
  for (;;) {
    const ask = Math.min(PER_CALL, limit - total.runs);
    if (ask <= 0) break;
    const res = await ctx.client.runs.purgeRuns({ ...request, limit: BigInt(ask) });
    total.runs += Number(res.runs);
    total.steps += Number(res.steps);
    total.events += Number(res.events);
    total.webhookDeliveries += Number(res.webhookDeliveries);
    total.bytes += Number(res.bytes);
    if (ctx.out.format === "table" && ctx.out.tty)
      ctx.out.line(ctx.out.dim(`… ${total.runs.toLocaleString("en-US")} runs deleted`));
    if (Number(res.runs) < ask) break;
  }
  if (ctx.out.format !== "table") return ctx.out.data(total);
  const mb = (total.bytes / 1_048_576).toFixed(1);
  ctx.out.line(
    `deleted ${total.runs.toLocaleString("en-US")} runs with ${total.steps.toLocaleString("en-US")} steps, ` +
      `${total.events.toLocaleString("en-US")} history events and ${total.webhookDeliveries.toLocaleString("en-US")} webhook deliveries (${mb} MB of rows)`,
  );
}

/** The request's filter from the options; a usage error for a missing or malformed one. */
function purgeRequest(opts: PurgeOptions) {
  if ((opts.olderThan === undefined) === (opts.before === undefined))
    throw new UsageError("say which runs: --older-than <duration> or --before <time> (one of them)");
  let finishedBefore: number;
  if (opts.olderThan !== undefined) finishedBefore = Date.now() - parseSince(opts.olderThan, "--older-than");
  else {
    finishedBefore = Date.parse(opts.before!);
    if (!/^\d{4}-\d{2}-\d{2}/.test(opts.before!) || Number.isNaN(finishedBefore))
      throw new UsageError(`--before: expected an ISO 8601 time such as 2026-11-01T00:00:00Z, got "${opts.before}"`);
  }
  const statuses = (opts.status ?? "")
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const name = s.toUpperCase().replace(/^RUN_STATUS_/, "");
      if (!FINISHED.includes(name.toLowerCase()))
        throw new UsageError(`--status: finished statuses only (${FINISHED.join(", ")}), got "${s}"`);
      return (RunStatus as unknown as Record<string, RunStatus>)[name]!;
    });
  return { workflowId: opts.workflow ?? "", statuses, finishedBefore: timestampFromMs(finishedBefore) };
}
