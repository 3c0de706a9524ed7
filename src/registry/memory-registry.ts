/**
 * The in-process worker registry for single-node mode (no REDIS_URL): the
 * same semantics as the Redis one, in a Map, with an injectable clock.
 *
 * @example
 * ```ts
 * const registry = createMemoryRegistry();
 * await registry.put([entry], 7_500);
 * ```
 */
import type { WorkerEntry, WorkerPage, WorkerQuery, WorkerRegistry } from "./types.js";

/**
 * Options of `createMemoryRegistry`.
 *
 * @example
 * ```ts
 * const registry = createMemoryRegistry({ now: () => fakeNow });
 * ```
 */
export interface MemoryRegistryOptions {
  /** The clock deciding expiry (ms); `Date.now` unless given (tests pass a fake one). */
  now?: () => number;
}

/**
 * Whether an entry passes the query's filters (both stores list the same way).
 *
 * @example
 * ```ts
 * entries.filter((e) => matches(e, { action: "charge", limit: 10 }));
 * ```
 */
export function matches(entry: WorkerEntry, query: WorkerQuery): boolean {
  return (
    (!query.name || entry.name === query.name) &&
    (!query.action || entry.actions.includes(query.action)) &&
    (!query.namespace || entry.namespace === query.namespace)
  );
}

/**
 * Creates an in-process registry. Expired entries are dropped when listed.
 *
 * @example
 * ```ts
 * let t = 0;
 * const registry = createMemoryRegistry({ now: () => t });
 * await registry.put([entry], 100);
 * t = 200;
 * await registry.list({ limit: 10 }); // { workers: [] }
 * ```
 */
export function createMemoryRegistry(options: MemoryRegistryOptions = {}): WorkerRegistry {
  const now = options.now ?? Date.now;
  const entries = new Map<string, { entry: WorkerEntry; expiresAt: number }>();
  return {
    async put(workers, ttlMs) {
      const expiresAt = now() + ttlMs;
      for (const w of workers) entries.set(w.workerId, { entry: structuredClone(w), expiresAt });
    },
    async remove(workerIds) {
      for (const id of workerIds) entries.delete(id);
    },
    async list(query): Promise<WorkerPage> {
      const at = now();
      for (const [id, { expiresAt }] of entries) if (expiresAt <= at) entries.delete(id);
      const after = query.after ?? "";
      const hits = [...entries.keys()]
        .filter((id) => id > after)
        .sort()
        .map((id) => entries.get(id)!.entry)
        .filter((e) => matches(e, query));
      const page = hits.slice(0, query.limit).map((e) => structuredClone(e));
      return hits.length > query.limit ? { workers: page, next: page.at(-1)!.workerId } : { workers: page };
    },
    async close() {
      entries.clear();
    },
  };
}
