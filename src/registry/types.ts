/**
 * The worker registry: which worker streams are open right now, on which
 * replica. Every replica writes its own workers' entries (on connect, then
 * every few seconds) and removes them on disconnect; each entry lives a TTL
 * unless written again, so the workers of a replica that died vanish by
 * themselves. Any replica lists all of them.
 *
 * Live state like the leases, not truth: losing it all (a Redis restart)
 * costs one refresh period of an incomplete list, nothing else. Two
 * implementations: Redis (replicas share it) and in-process (single node).
 *
 * @example
 * ```ts
 * await registry.put([entry], 7_500);
 * const { workers, next } = await registry.list({ action: "charge", limit: 50 });
 * await registry.remove([entry.workerId]);
 * ```
 */

/**
 * One worker stream, as its replica last wrote it. Times are ms since the
 * epoch on that replica's clock.
 *
 * @example
 * ```ts
 * const entry: WorkerEntry = { workerId, name: "billing", actions: ["charge"], slots: 4, slotsInUse: 1, labels: {},
 *   replicaId: "host:42:a1b2c3", replicaAddress: "http://host:8080", connectedAt, lastSeenAt, reportedAt: Date.now() };
 * ```
 */
export interface WorkerEntry {
  /** The session id (`Welcome.worker_id`). */
  workerId: string;
  name: string;
  actions: string[];
  slots: number;
  slotsInUse: number;
  labels: Record<string, string>;
  replicaId: string;
  /** Where the replica listens (`http://host:port`); empty when unknown. */
  replicaAddress: string;
  connectedAt: number;
  /** When the worker last sent anything. */
  lastSeenAt: number;
  /** When the replica wrote this entry. */
  reportedAt: number;
  /** Whose tasks it takes. */
  namespace: string;
}

/**
 * What `list` returns: entries in worker id order, only those matching every
 * filter given, after `after`, at most `limit`.
 *
 * @example
 * ```ts
 * const query: WorkerQuery = { name: "billing", after: previous.next, limit: 100 };
 * ```
 */
export interface WorkerQuery {
  /** Only workers running this action. */
  action?: string;
  /** Only workers with exactly this name. */
  name?: string;
  /** Only workers of this namespace. */
  namespace?: string;
  /** Only worker ids above this one (the `next` of the previous page). */
  after?: string;
  /** Page size, at least 1. */
  limit: number;
}

/**
 * One page of `list`.
 *
 * @example
 * ```ts
 * for (let page = await registry.list({ limit: 100 }); ; page = await registry.list({ limit: 100, after: page.next })) {
 *   show(page.workers);
 *   if (page.next === undefined) break;
 * }
 * ```
 */
export interface WorkerPage {
  workers: WorkerEntry[];
  /** The last worker id of this page when more match after it; undefined on the last page. */
  next?: string;
}

/**
 * The shared list of live worker streams.
 *
 * @example
 * ```ts
 * await registry.put(entries, 3 * refreshMs); // every refreshMs
 * const page = await registry.list({ limit: 50 });
 * ```
 */
export interface WorkerRegistry {
  /** Writes or rewrites these entries; each is listed for `ttlMs` from now unless written again. */
  put(workers: WorkerEntry[], ttlMs: number): Promise<void>;
  /** Drops these entries at once (the streams ended). */
  remove(workerIds: string[]): Promise<void>;
  /**
   * Live entries only: one whose TTL passed is never listed, even while an
   * index still names it. Rejects with `RegistryUnavailableError` when the
   * registry cannot be reached.
   */
  list(query: WorkerQuery): Promise<WorkerPage>;
  /** Closes connections the registry opened itself. */
  close(): Promise<void>;
}

/**
 * The registry could not be reached (Redis down or not answering): the list
 * cannot be complete, so it is not given at all.
 *
 * @example
 * ```ts
 * try { await registry.list({ limit: 50 }); } catch (err) { if (err instanceof RegistryUnavailableError) retryLater(); }
 * ```
 */
export class RegistryUnavailableError extends Error {
  override readonly name = "RegistryUnavailableError";
  constructor(cause: unknown) {
    super(`the worker registry is unreachable: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
