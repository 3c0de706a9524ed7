/**
 * `handleSignals`: SIGTERM or SIGINT stops the worker (a drain); a second
 * one, while it drains, ends the grace period at once.
 *
 * @example
 * ```ts
 * const unhook = hookStopSignals({ running: () => state === "RUNNING", stop, endGrace, logger });
 * unhook(); // after the drain; calling it again does nothing
 * ```
 */
import type { WorkerLogger } from "./worker-options.js";

/**
 * Listen for SIGTERM and SIGINT until the returned function is called.
 *
 * @example
 * ```ts
 * const unhook = hookStopSignals({ running: () => true, stop: () => void worker.stop(), endGrace, logger });
 * ```
 */
export function hookStopSignals(opts: {
  /** False once stop() began: the next signal ends the grace period. */
  running(): boolean;
  stop(): void;
  /** Aborts the running handlers now instead of at the end of the grace period. */
  endGrace(): void;
  logger: WorkerLogger;
}): () => void {
  const onSignal = (signal: NodeJS.Signals): void => {
    if (opts.running()) {
      opts.logger("info", `${signal}: draining (send it again to abort running tasks)`);
      opts.stop();
    } else {
      opts.logger("warn", `${signal} again: aborting running tasks`);
      opts.endGrace();
    }
  };
  process.on("SIGTERM", onSignal);
  process.on("SIGINT", onSignal);
  let hooked = true;
  return () => {
    if (!hooked) return;
    hooked = false;
    process.off("SIGTERM", onSignal);
    process.off("SIGINT", onSignal);
  };
}
