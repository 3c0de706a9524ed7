/**
 * `weft.v1.WorkflowService`: define workflows and start runs. Thin: checks,
 * conversions and error codes; the store does the work.
 *
 * @example
 *   registerWorkflowService(router, { store, checks });
 */
import { create } from "@bufbuild/protobuf";
import type { ConnectRouter, HandlerContext } from "@connectrpc/connect";
import {
  TriggerWorkflowResponseSchema,
  WorkflowService,
  type TriggerWorkflowRequest,
} from "../../gen/weft/v1/workflow_service_pb.js";
import { NO_TRIGGER_TRACER, type TriggerTracer } from "../dispatch/tracer.js";
import type { Logger } from "../log.js";
import { namespaceKey } from "../security/index.js";
import type { Store, TriggerInput, TriggerResult } from "../store/index.js";
import { valueToJson, workflowToProto } from "./convert.js";
import { notFound } from "./errors.js";
import { checkPayload } from "./payload.js";
import { pageSize } from "./paging.js";
import type { RequestChecks } from "./request-checks.js";
import { publishEvent } from "./publish-event.js";
import { readWorkflowSpec } from "./workflow-spec.js";

export interface WorkflowServiceDeps {
  store: Store;
  checks: RequestChecks;
  /** Starts runs; default `store.triggerRuns` (the server passes its trigger buffer). */
  triggerRuns?: (inputs: TriggerInput[]) => Promise<TriggerResult[]>;
  /** Trigger spans (tracing on); default none. */
  triggerTracer?: TriggerTracer;
  logger?: Logger;
  /** Largest run input (JSON bytes). */
  maxPayloadBytes?: number;
}

export function registerWorkflowService(router: ConnectRouter, deps: WorkflowServiceDeps): void {
  const { store, checks } = deps;
  const triggerRuns = deps.triggerRuns ?? ((inputs: TriggerInput[]) => store.triggerRuns(inputs));
  const tracer = deps.triggerTracer ?? NO_TRIGGER_TRACER;

  const maxPayloadBytes = deps.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
  const trigger = async (reqs: TriggerWorkflowRequest[], fieldPrefix: (i: number) => string, ctx: HandlerContext) => {
    const namespace = ctx.values.get(namespaceKey);
    const inputs = reqs.map((r, i) => {
      const input = valueToJson(r.input, {});
      checkPayload(input, maxPayloadBytes, `${fieldPrefix(i)}input of a run of workflow "${r.workflowId}"`);
      return {
        namespace,
        workflowId: r.workflowId,
        version: r.version || undefined,
        input,
        idempotencyKey: r.idempotencyKey || undefined,
      };
    });
    // No wake-up call here: the store's `queued` signal wakes the dispatcher at the commit.
    const results = await tracer.trigger(inputs, triggerRuns, ctx.requestHeader);
    return results.map((r: TriggerResult, i) => {
      if (!r.ok) throw notFound(`${fieldPrefix(i)}${r.message}`);
      return create(TriggerWorkflowResponseSchema, { runId: r.runId, created: r.created });
    });
  };

  router.service(WorkflowService, {
    async createWorkflow(req, ctx) {
      const { def, specJson, specHash } = readWorkflowSpec(req, checks);
      const namespace = ctx.values.get(namespaceKey);
      const { workflow, created } = await store.createWorkflow({
        namespace,
        id: def.id,
        spec: specJson,
        def,
        specHash,
      });
      return { workflow: workflowToProto(workflow), created };
    },
    async getWorkflow(req, ctx) {
      const namespace = ctx.values.get(namespaceKey);
      const workflow = await store.getWorkflow(namespace, req.id, req.version || undefined);
      if (!workflow) {
        throw notFound(
          req.version ? `workflow "${req.id}" version ${req.version} not found` : `workflow "${req.id}" not found`,
        );
      }
      return { workflow: workflowToProto(workflow), versions: await store.listWorkflowVersions(namespace, req.id) };
    },
    async listWorkflows(req, ctx) {
      const page = await store.listWorkflows({
        namespace: ctx.values.get(namespaceKey),
        pageSize: pageSize(req.pageSize),
        pageToken: req.pageToken || undefined,
      });
      return { workflows: page.items.map(workflowToProto), nextPageToken: page.next ?? "" };
    },
    async deleteWorkflow(req, ctx) {
      if (!(await store.deleteWorkflow(ctx.values.get(namespaceKey), req.id)))
        throw notFound(`workflow "${req.id}" not found`);
      return {};
    },
    async triggerWorkflow(req, ctx) {
      const [result] = await trigger([req], () => "", ctx);
      return result!;
    },
    async triggerWorkflows(req, ctx) {
      return { runs: await trigger(req.triggers, (i) => `triggers[${i}]: `, ctx) };
    },
    async publishEvent(req, ctx) {
      return { runIds: await publishEvent(deps, req, ctx.values.get(namespaceKey), ctx.requestHeader) };
    },
  });
}
