/**
 * The shape every built-in action has: a name and a `run` that turns the
 * step's input into an outcome. Built-ins are plain functions of their input
 * and context; the control plane's builtin runner (`src/dispatch/`) claims
 * their tasks and records their results like any worker's, so leases,
 * retries, timeouts and history are the same.
 *
 * @example
 * ```ts
 * const echo: BuiltinAction = { name: "echo", run: async (input) => ({ kind: "output", output: input }) };
 * ```
 */
import { invalidInput } from "../engine/failures.js";
import type { Failure, JsonValue } from "../engine/model.js";
import type { EgressClient } from "./egress-client.js";

/** What a built-in hands back for one attempt. */
export type BuiltinOutcome =
  | { kind: "output"; output: JsonValue }
  | { kind: "error"; error: Failure }
  /** Not done yet: park the step (no slot held) until `until`, then run it again with `timerAt` set. */
  | { kind: "sleep"; until: Date };

/** Everything a built-in may know about its task. */
export interface BuiltinContext {
  runId: string;
  stepId: string;
  workflowId: string;
  attempt: number;
  /** Aborted when the task is cancelled (run cancelled or timed out, step timeout, shutdown). */
  signal: AbortSignal;
  /** The current time (the runner's clock). */
  now: Date;
  /** A durable timer set by an earlier `sleep` outcome of this step, if any. */
  timerAt?: Date;
  /** The run's input and the outputs of its succeeded steps (read on demand). */
  runContext(): Promise<{ input: JsonValue; steps: Record<string, JsonValue> }>;
  /** Largest output the server stores (`--max-payload-bytes`): read no more than this. */
  maxOutputBytes: number;
  /** The HMAC secret for signing requests of this run's workflow. */
  signingSecret(): Promise<string>;
  /** Outbound HTTP, held to the server's egress policy (`--egress-allow`, `--egress-deny`). */
  egress: EgressClient;
}

export interface BuiltinAction {
  /** The action name steps use, e.g. `http.request`. */
  name: string;
  run(input: JsonValue, ctx: BuiltinContext): Promise<BuiltinOutcome>;
}

/**
 * The outcome of a failed attempt; build the failure with the catalogue's
 * constructors (`src/engine/failures.ts`), which set its `retryable`.
 *
 * @example
 * ```ts
 * return failed(httpStatus(404, "GET https://x/y answered 404"));
 * ```
 */
export function failed(error: Failure): BuiltinOutcome {
  return { kind: "error", error };
}

/**
 * A bad input: never retried.
 *
 * @example
 * ```ts
 * return badInput("delay", "input.duration must be a duration such as 30s, 5m or 1h");
 * ```
 */
export function badInput(action: string, message: string): BuiltinOutcome {
  return failed(invalidInput(`${action}: ${message}`));
}

/** The input as an object, or undefined when it is not one. */
export function asObject(input: JsonValue): Record<string, JsonValue> | undefined {
  return input !== null && typeof input === "object" && !Array.isArray(input) ? input : undefined;
}
