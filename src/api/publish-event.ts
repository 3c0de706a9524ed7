/**
 * `PublishEvent`: starts a run of every live workflow of the namespace whose latest version
 * listens for the event (`on.events`, or `on.event_triggers` whose CEL filter
 * over `payload` is true), with the payload as the run input, in one
 * transaction. An idempotency key is applied per workflow (`event:<name>:<key>`),
 * so publishing the same event again returns the same runs.
 *
 * @example
 *   const runIds = await publishEvent({ store }, req, "default");
 */
import type { PublishEventRequest } from "../../gen/weft/v1/workflow_service_pb.js";
import { matchEvent } from "../engine/event-match.js";
import { NO_TRIGGER_TRACER, type TriggerTracer } from "../dispatch/tracer.js";
import type { Logger } from "../log.js";
import type { Store } from "../store/index.js";
import { valueToJson } from "./convert.js";
import { checkPayload } from "./payload.js";

export async function publishEvent(
  deps: { store: Store; logger?: Logger; maxPayloadBytes?: number; triggerTracer?: TriggerTracer },
  req: PublishEventRequest,
  namespace: string,
  headers?: Headers,
): Promise<string[]> {
  const payload = valueToJson(req.payload, {});
  checkPayload(payload, deps.maxPayloadBytes ?? Number.POSITIVE_INFINITY, `payload of event "${req.name}"`);
  const listeners = (await deps.store.eventListeners(namespace, req.name)).filter((wf) => {
    const { match, problem } = matchEvent(wf.def, req.name, payload);
    if (problem !== undefined)
      deps.logger?.warn({ workflowId: wf.workflowId, event: req.name, problem }, "event filter did not evaluate");
    return match;
  });
  if (listeners.length === 0) return [];
  const results = await (deps.triggerTracer ?? NO_TRIGGER_TRACER).trigger(
    listeners.map((wf) => ({
      namespace,
      trigger: "event" as const,
      workflowId: wf.workflowId,
      version: wf.version,
      input: payload,
      ...(req.idempotencyKey ? { idempotencyKey: `event:${req.name}:${req.idempotencyKey}` } : {}),
    })),
    (inputs) => deps.store.triggerRuns(inputs),
    headers,
  );
  // A workflow deleted between the read and the insert simply starts nothing.
  return results.flatMap((r) => (r.ok ? [r.runId] : []));
}
