/**
 * `delay`: input {duration} → output {waited_ms, until}. A durable timer:
 * the first attempt computes the due time and parks the step (a `sleep`
 * outcome: the step goes back to QUEUED with `not_before` = due time and the
 * due time kept on the step row, in Postgres). Nothing is held meanwhile, so
 * a restart of every replica during a one-hour delay does not start the hour
 * again: when the due time comes any replica claims the step and, seeing the
 * stored timer has passed, completes it.
 *
 * @example
 * ```yaml
 * - id: cool-off
 *   action: delay
 *   input: { duration: 1h }
 * ```
 */
import { parseDurationMs } from "../engine/duration-text.js";
import { asObject, badInput, type BuiltinAction } from "./types.js";

const NAME = "delay";

export const delay: BuiltinAction = {
  name: NAME,
  async run(raw, ctx) {
    const ms = parseDurationMs(asObject(raw)?.duration);
    if (ms === undefined || ms < 0) return badInput(NAME, "input.duration must be a duration such as 30s, 5m or 1h");
    if (ctx.timerAt === undefined) {
      if (ms === 0) return { kind: "output", output: { waited_ms: 0, until: ctx.now.toISOString() } };
      return { kind: "sleep", until: new Date(ctx.now.getTime() + ms) };
    }
    if (ctx.timerAt.getTime() > ctx.now.getTime()) return { kind: "sleep", until: ctx.timerAt };
    return { kind: "output", output: { waited_ms: Math.round(ms), until: ctx.timerAt.toISOString() } };
  },
};
