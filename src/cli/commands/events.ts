/**
 * `weft events publish NAME [--payload JSON]`.
 *
 * @example
 *   weft events publish order.created --payload '{"id": "o-1"}' --key o-1
 */
import type { Command } from "commander";
import { jsonToValue } from "../../../sdk/index.js";
import { parseJsonArg, type CliContext } from "../context.js";

type Run = (
  action: (ctx: CliContext, ...args: never[]) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

/** Registers `events` on the program. */
export function registerEventCommands(program: Command, run: Run): void {
  const events = program.command("events").description("publish events that start runs");
  events
    .command("publish <name>")
    .description("start a run of every workflow listening for the event")
    .option("--payload <json>", "the event's payload: JSON, or @file (@- for standard input)")
    .option("--key <idempotency-key>", "publishing again with the same key starts no new runs")
    .addHelpText("after", '\nExample:\n  weft events publish order.created --payload \'{"id": "o-1", "total": 120}\'')
    .action(
      run(async (ctx, name: string, opts: { payload?: string; key?: string }) => {
        const payload = opts.payload === undefined ? {} : parseJsonArg(opts.payload, "--payload");
        const { runIds } = await ctx.client.workflows.publishEvent({
          name,
          payload: jsonToValue(payload),
          idempotencyKey: opts.key ?? "",
        });
        if (ctx.out.format !== "table") return ctx.out.data({ runIds });
        if (runIds.length === 0) return ctx.out.line(`no workflow listens for "${name}"`);
        for (const id of runIds) ctx.out.line(`run ${id} started`);
      }),
    );
}
