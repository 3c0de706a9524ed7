/**
 * The payload limit (`--max-payload-bytes`) on step outputs: an output whose
 * JSON is larger fails its step at once with `PAYLOAD_TOO_LARGE` (not
 * retryable), naming the run and step, instead of being stored, so a step
 * never hangs in RUNNING because of its payload.
 *
 * @example
 *   const outcome = limitOutput(raw, 1_048_576);
 */
import { payloadTooLarge } from "../engine/failures.js";
import type { JsonValue } from "../engine/model.js";
import { parseTaskId, type TaskOutcome } from "../store/index.js";

/** Bytes of the value's JSON text. */
export function jsonBytes(value: JsonValue | undefined): number {
  return value === undefined ? 0 : Buffer.byteLength(JSON.stringify(value), "utf8");
}

/** The outcome, or a failure in its place when its output is above `maxBytes`. */
export function limitOutput(outcome: TaskOutcome, maxBytes: number): TaskOutcome {
  if (outcome.outcome.kind !== "output") return outcome;
  const size = jsonBytes(outcome.outcome.output);
  if (size <= maxBytes) return outcome;
  const at = parseTaskId(outcome.taskId);
  const where = at ? `run ${at.runId} step ${at.stepId}` : `task ${outcome.taskId}`;
  return {
    ...outcome,
    outcome: {
      kind: "error",
      error: payloadTooLarge(
        `${where}: output is ${size} bytes, above the payload limit of ${maxBytes} bytes (--max-payload-bytes / WEFT_MAX_PAYLOAD_BYTES)`,
      ),
    },
  };
}
