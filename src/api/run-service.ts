/**
 * `weft.v1.RunService`: read, watch, cancel, retry and purge runs.
 *
 * @example
 *   registerRunService(router, { store, changes, dispatcher });
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, type HandlerContext } from "@connectrpc/connect";
import { RunEventSchema, RunEventType } from "../../gen/weft/v1/common_pb.js";
import { RunService, WatchRunResponseSchema } from "../../gen/weft/v1/run_service_pb.js";
import { FINISHED_RUN_STATUSES } from "../engine/model.js";
import type { Logger } from "../log.js";
import type { RunChanges } from "../dispatch/run-changes.js";
import { namespaceKey } from "../security/index.js";
import type { ExecutionStore, Store } from "../store/index.js";
import { runEventToProto, runStatusFromProto, runStatusToProto, runToProto } from "./convert.js";
import { notFound } from "./errors.js";
import { purgeRuns } from "./purge-runs.js";
import { pageSize } from "./paging.js";

export interface RunServiceDeps {
  store: Store & ExecutionStore;
  /** Where each PurgeRuns' totals are logged; default nowhere. */
  logger?: Logger;
  changes: RunChanges;
  /** How long a WatchRun stream waits for a signal before looking anyway (ms). */
  watchPollMs?: number;
}

export function registerRunService(router: ConnectRouter, deps: RunServiceDeps): void {
  const { store, changes } = deps;
  const pollMs = deps.watchPollMs ?? 1000;
  /** The run, if it is in the call's namespace: one of another namespace is as unknown as a missing one. */
  const mustGetRun = async (runId: string, ctx: HandlerContext) => {
    const run = await store.getRun(runId);
    if (!run || run.namespace !== ctx.values.get(namespaceKey)) throw notFound(`run "${runId}" not found`);
    return run;
  };
  router.service(RunService, {
    async getRun(req, ctx) {
      return { run: runToProto(await mustGetRun(req.runId, ctx)) };
    },
    async listRuns(req, ctx) {
      const page = await store.listRuns({
        namespace: ctx.values.get(namespaceKey),
        workflowId: req.workflowId || undefined,
        status: runStatusFromProto(req.status),
        pageSize: pageSize(req.pageSize),
        pageToken: req.pageToken || undefined,
      });
      return { runs: page.items.map(runToProto), nextPageToken: page.next ?? "" };
    },
    async getRunHistory(req, ctx) {
      await mustGetRun(req.runId, ctx);
      const events = await store.getRunHistory(req.runId);
      return { events: events.map((e, i) => runEventToProto(e, i + 1)) };
    },
    async cancelRun(req, ctx) {
      const reason = req.reason || "cancelled by request";
      const result = await store.cancelRun(req.runId, reason, ctx.values.get(namespaceKey));
      if (!result) throw notFound(`run "${req.runId}" not found`);
      return { run: runToProto(result.run) };
    },
    async retryRun(req, ctx) {
      const result = await store.retryRun(req.runId, ctx.values.get(namespaceKey));
      if ("error" in result) {
        if (result.error === "NOT_FOUND") throw notFound(`run "${req.runId}" not found`);
        throw new ConnectError(
          result.error === "SUCCEEDED"
            ? "the run succeeded: nothing to retry"
            : "the run has not finished: cancel it or wait",
          Code.FailedPrecondition,
        );
      }
      return { run: runToProto(result.run) };
    },
    purgeRuns: (req, ctx) => purgeRuns(deps, req, ctx),
    async *watchRun(req, ctx) {
      // History first (to know where the snapshot stands), then the snapshot, then every later event.
      const history = await store.getRunHistory(req.runId);
      const run = await mustGetRun(req.runId, ctx);
      let lastId = history.length > 0 ? history[history.length - 1]!.id : 0n;
      let sequence = history.length;
      yield create(WatchRunResponseSchema, {
        event: create(RunEventSchema, {
          sequence: BigInt(sequence),
          type: RunEventType.SNAPSHOT,
          runStatus: runStatusToProto[run.status],
          run: runToProto(run),
        }),
      });
      let finished = FINISHED_RUN_STATUSES.includes(run.status);
      while (!finished && !ctx.signal.aborted) {
        await changes.wait(req.runId, pollMs, ctx.signal);
        for (;;) {
          const events = await store.runEventsAfter(req.runId, lastId, 500);
          for (const e of events) {
            lastId = e.id;
            const event = runEventToProto(e, ++sequence);
            if (e.type === "RUN_STATUS" && e.runStatus && FINISHED_RUN_STATUSES.includes(e.runStatus)) {
              finished = true;
              event.run = runToProto(await mustGetRun(req.runId, ctx));
            }
            yield create(WatchRunResponseSchema, { event });
          }
          if (events.length < 500) break;
        }
      }
    },
  });
}
