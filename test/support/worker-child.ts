/**
 * A worker process for kill -9 tests, spawned by `worker-process.ts` with
 * `node --import tsx`. Its configuration comes as JSON in `WEFT_TEST_WORKER`;
 * it prints one JSON line per event on stdout (`ready`, `task`, `abort`,
 * `done`) so the parent knows when to kill it.
 *
 * Behaviours per action: "hang" (until the signal aborts, then fails),
 * "echo" (returns `{ echo: input, pid }`), or `{ sleepMs }` (then echoes).
 */
import { Worker } from "../../sdk/index.js";

export type Behaviour = "hang" | "echo" | { sleepMs: number };

export interface ChildConfig {
  address: string | string[];
  name: string;
  slots: number;
  actions: Record<string, Behaviour>;
  /** SIGTERM drains (the SDK's handleSignals). Default false. */
  handleSignals?: boolean;
  drainGraceMs?: number;
}

const config = JSON.parse(process.env.WEFT_TEST_WORKER ?? "{}") as ChildConfig;
const emit = (event: string, fields: Record<string, unknown> = {}): void => {
  process.stdout.write(`${JSON.stringify({ event, pid: process.pid, ...fields })}\n`);
};

const worker = new Worker({
  address: config.address,
  name: config.name,
  slots: config.slots,
  logger: (level, msg) => process.stderr.write(`${level}: ${msg}\n`),
  reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
  handleSignals: config.handleSignals ?? false,
  ...(config.drainGraceMs === undefined ? {} : { drainGraceMs: config.drainGraceMs }),
});
worker.on("state", ({ to }) => emit("state", { to }));
for (const [action, behaviour] of Object.entries(config.actions)) {
  worker.register(action, async (input, ctx) => {
    emit("task", { action, taskId: ctx.taskId, runId: ctx.runId, stepId: ctx.stepId, attempt: ctx.attempt });
    ctx.signal.addEventListener(
      "abort",
      () => emit("abort", { taskId: ctx.taskId, reason: String((ctx.signal.reason as Error)?.message) }),
      { once: true },
    );
    if (behaviour === "hang") {
      await new Promise((_, reject) =>
        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true }),
      );
    } else if (typeof behaviour === "object") {
      await new Promise((resolve) => setTimeout(resolve, behaviour.sleepMs));
    }
    emit("done", { taskId: ctx.taskId });
    return { echo: input, pid: process.pid };
  });
}
worker.on("connected", ({ address }) => emit("connected", { address }));
await worker.start();
emit("ready");
