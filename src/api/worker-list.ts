/**
 * `weft.v1.WorkerService.ListWorkers`: the worker registry as protobuf.
 * Every replica answers with the workers of all of them; while the registry
 * (Redis) is unreachable the answer is `UNAVAILABLE`, not this replica's own
 * workers: a partial list reads like a complete one to any client that does
 * not look for a flag, and which replica a load balancer picks is chance.
 *
 * @example
 *   router.service(WorkerService, { listWorkers: (req) => listWorkers(registry, req) });
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type {
  ListWorkersRequest,
  ListWorkersResponseSchema,
  WorkerInfoSchema,
} from "../../gen/weft/v1/worker_service_pb.js";
import { RegistryUnavailableError, type WorkerEntry, type WorkerRegistry } from "../registry/types.js";
import { decodePageToken, encodePageToken, RUN_ID_PATTERN } from "../store/index.js";
import { pageSize } from "./paging.js";

/**
 * One registry entry as a `WorkerInfo`.
 *
 * @example
 *   const info = workerInfo(entry); // { workerId, name, …, replica: { id, address } }
 */
export function workerInfo(e: WorkerEntry): MessageInitShape<typeof WorkerInfoSchema> {
  return {
    workerId: e.workerId,
    name: e.name,
    actions: e.actions,
    slots: e.slots,
    slotsInUse: e.slotsInUse,
    labels: e.labels,
    replica: { id: e.replicaId, address: e.replicaAddress },
    connectedAt: timestampFromMs(e.connectedAt),
    lastSeenAt: timestampFromMs(e.lastSeenAt),
    reportedAt: timestampFromMs(e.reportedAt),
    namespace: e.namespace,
  };
}

/**
 * Answers `ListWorkers`: the namespace's workers in id order (the order they connected in,
 * ids being UUIDv7), filtered by action and name, paged by the last id.
 *
 * @example
 *   const res = await listWorkers(registry, create(ListWorkersRequestSchema, { action: "charge" }), "default");
 */
export async function listWorkers(
  registry: WorkerRegistry,
  req: ListWorkersRequest,
  namespace: string,
): Promise<MessageInitShape<typeof ListWorkersResponseSchema>> {
  // Worker ids are UUIDs like run ids; anything else in a token is not one we made.
  const after = decodePageToken(req.pageToken || undefined, RUN_ID_PATTERN);
  try {
    const page = await registry.list({
      action: req.action || undefined,
      name: req.name || undefined,
      namespace,
      after,
      limit: pageSize(req.pageSize),
    });
    return {
      workers: page.workers.map(workerInfo),
      nextPageToken: page.next === undefined ? "" : encodePageToken(page.next),
    };
  } catch (err) {
    // No cause attached: the error interceptor would log it as an unreachable database.
    if (err instanceof RegistryUnavailableError)
      throw new ConnectError("the worker registry (Redis) is unreachable; try again shortly", Code.Unavailable);
    throw err;
  }
}
