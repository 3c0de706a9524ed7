/**
 * `weft workers ls`: every worker connected to any replica.
 *
 * @example
 *   weft workers ls --action greet
 */
import { toJson } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { WorkerInfoSchema, type WorkerInfo } from "../../../gen/weft/v1/worker_service_pb.js";
import type { CliContext } from "../context.js";
import { formatDuration } from "../output.js";

type Run = (
  action: (ctx: CliContext, ...args: never[]) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

/** Registers `workers` on the program. */
export function registerWorkerCommands(program: Command, run: Run): void {
  const workers = program.command("workers").description("the workers connected to the control plane");
  workers
    .command("ls")
    .description("list connected workers across all replicas")
    .option("--action <name>", "only workers that run this action")
    .option("--name <name>", "only workers with this name")
    .addHelpText("after", "\nExample:\n  weft workers ls --action greet -o json")
    .action(
      run(async (ctx, opts: { action?: string; name?: string }) => {
        const items: WorkerInfo[] = [];
        let pageToken = "";
        do {
          const page = await ctx.client.workers.listWorkers({
            action: opts.action ?? "",
            name: opts.name ?? "",
            pageToken,
          });
          items.push(...page.workers);
          pageToken = page.nextPageToken;
        } while (pageToken);
        if (ctx.out.format !== "table") return ctx.out.data(items.map((w) => toJson(WorkerInfoSchema, w)));
        const ago = (t: WorkerInfo["lastSeenAt"]): string =>
          t ? `${formatDuration(Date.now() - timestampMs(t))} ago` : "";
        ctx.out.table(
          ["WORKER", "NAME", "ACTIONS", "SLOTS", "LABELS", "REPLICA", "CONNECTED", "LAST SEEN"],
          items.map((w) => [
            w.workerId,
            w.name,
            w.actions.join(","),
            `${w.slotsInUse}/${w.slots}`,
            Object.entries(w.labels)
              .map(([k, v]) => `${k}=${v}`)
              .join(","),
            w.replica?.address ?? "",
            ago(w.connectedAt),
            ago(w.lastSeenAt),
          ]),
        );
      }),
    );
}
