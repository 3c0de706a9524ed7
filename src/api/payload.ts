/**
 * The payload limit (`--max-payload-bytes`) on what clients send as run
 * input (TriggerWorkflow(s), PublishEvent): larger values are refused with
 * RESOURCE_EXHAUSTED naming the value, before anything is stored.
 *
 * @example
 *   checkPayload(input, 1_048_576, 'input of a run of workflow "billing"');
 */
import { jsonBytes } from "../dispatch/payload-limit.js";
import type { JsonValue } from "../engine/model.js";
import { resourceExhausted } from "./errors.js";

export function checkPayload(input: JsonValue, maxBytes: number, what: string): void {
  const size = jsonBytes(input);
  if (size > maxBytes)
    throw resourceExhausted(
      `${what}: ${size} bytes, above the payload limit of ${maxBytes} bytes (--max-payload-bytes)`,
    );
}
