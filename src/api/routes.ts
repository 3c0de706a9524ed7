/**
 * The one place every service is registered, with the interceptors all of
 * them share.
 *
 * @example
 *   createHttpServer({ routes: (router) => registerRoutes(router, deps), ... });
 */
import { Code, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import { file_weft_v1_admin_service } from "../../gen/weft/v1/admin_service_pb.js";
import { file_weft_v1_run_service } from "../../gen/weft/v1/run_service_pb.js";
import { file_weft_v1_worker_service } from "../../gen/weft/v1/worker_service_pb.js";
import { file_weft_v1_workflow_service } from "../../gen/weft/v1/workflow_service_pb.js";
import type { Dispatcher } from "../dispatch/dispatcher.js";
import type { RunChanges } from "../dispatch/run-changes.js";
import type { WorkerPresence } from "../dispatch/worker-presence.js";
import type { Logger } from "../log.js";
import type { WorkerRegistry } from "../registry/types.js";
import type { ExecutionStore, Store, TriggerInput, TriggerResult } from "../store/index.js";
import { toConnectError } from "./errors.js";
import { registerAdminService } from "./admin-service.js";
import { registerHealth } from "./health.js";
import { registerReflection } from "./reflection.js";
import type { RequestChecks } from "./request-checks.js";
import { registerRunService } from "./run-service.js";
import { registerWorkerService } from "./worker-service.js";
import { registerWorkflowService } from "./workflow-service.js";
import type { TriggerTracer } from "../dispatch/tracer.js";

export interface ApiDeps {
  store: Store & ExecutionStore;
  checks: RequestChecks;
  logger: Logger;
  dispatcher: Dispatcher;
  presence: WorkerPresence;
  registry: WorkerRegistry;
  changes: RunChanges;
  heartbeatIntervalMs: number;
  /** Largest run input (JSON bytes); larger triggers get RESOURCE_EXHAUSTED. */
  maxPayloadBytes?: number;
  /** Starts runs (the server's trigger buffer); default `store.triggerRuns`. */
  triggerRuns?: (inputs: TriggerInput[]) => Promise<TriggerResult[]>;
  /** Trigger spans (tracing on); default none. */
  triggerTracer?: TriggerTracer;
}

/** The weft.v1 files served by reflection. */
export const WEFT_FILES = [
  file_weft_v1_workflow_service,
  file_weft_v1_run_service,
  file_weft_v1_worker_service,
  file_weft_v1_admin_service,
];

export function registerRoutes(router: ConnectRouter, deps: ApiDeps): void {
  registerWorkflowService(router, deps);
  registerRunService(router, deps);
  registerWorkerService(router, deps);
  registerAdminService(router, { access: deps.store.access });
  registerHealth(router, { check: () => deps.store.ready() });
  registerReflection(router, { files: WEFT_FILES });
}

/**
 * Makes sure no handler failure reaches a client as `UNKNOWN`: unexpected
 * errors are logged with their stack and answered as `INTERNAL`.
 */
export function createErrorInterceptor(logger: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      const ce = toConnectError(err);
      if (ce.code === Code.Internal || ce.code === Code.Unknown) {
        logger.error({ err: ce.cause ?? err, procedure: req.url }, "request failed");
      } else if (ce.code === Code.Unavailable && ce.cause !== undefined) {
        logger.warn({ err: String(ce.cause), procedure: req.url }, "request failed: the database is unreachable");
      }
      throw ce;
    }
  };
}
