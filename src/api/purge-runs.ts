/**
 * `RunService.PurgeRuns`: deletes the finished runs of the caller's
 * namespace that a filter matches, in batches (`Store.purgeRuns`), until
 * none is left, the limit is reached or the caller goes away (batches done
 * stay done). Returns what it deleted; logs it; the metrics count it.
 *
 * @example
 *   router.service(RunService, { purgeRuns: (req, ctx) => purgeRuns({ store, logger }, req, ctx) });
 */
import type { HandlerContext } from "@connectrpc/connect";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { PurgeRunsRequest, PurgeRunsResponseSchema } from "../../gen/weft/v1/run_service_pb.js";
import { purgeStatuses } from "../engine/retention.js";
import type { Logger } from "../log.js";
import { namespaceKey } from "../security/index.js";
import type { Store } from "../store/index.js";
import { runStatusFromProto } from "./convert.js";
import { invalidArgument } from "./errors.js";

/**
 * @example
 *   const answer = await purgeRuns({ store }, req, ctx);
 */
export async function purgeRuns(
  deps: { store: Pick<Store, "purgeRuns">; logger?: Logger },
  req: PurgeRunsRequest,
  ctx: HandlerContext,
): Promise<MessageInitShape<typeof PurgeRunsResponseSchema>> {
  const statuses = purgeStatuses(req.statuses.map(runStatusFromProto).filter((s) => s !== undefined));
  if ("error" in statuses) throw invalidArgument([{ field: "statuses", description: statuses.error }]);
  if (req.finishedBefore === undefined)
    throw invalidArgument([{ field: "finished_before", description: "value is required" }]);
  const filter = {
    namespace: ctx.values.get(namespaceKey),
    ...(req.workflowId ? { workflowId: req.workflowId } : {}),
    statuses,
    finishedBefore: timestampDate(req.finishedBefore),
    ...(req.limit > 0n ? { limit: Number(req.limit) } : {}),
    dryRun: req.dryRun,
  };
  const started = performance.now();
  const done = await deps.store.purgeRuns(filter, { signal: ctx.signal });
  deps.logger?.info(
    { ...filter, ...done, ms: Math.round(performance.now() - started), stopped: ctx.signal.aborted },
    req.dryRun ? "PurgeRuns: dry run" : "PurgeRuns: finished runs deleted",
  );
  return {
    runs: BigInt(done.runs),
    steps: BigInt(done.steps),
    events: BigInt(done.events),
    webhookDeliveries: BigInt(done.webhookDeliveries),
    bytes: BigInt(done.bytes),
  };
}
