/**
 * The in-process lease store for single-node mode (no REDIS_URL): the same
 * semantics as the Redis one, in a Map. Its counter lives as long as the
 * process; `minToken` (the last token in Postgres) keeps tokens rising
 * across restarts, exactly as after a Redis wipe.
 *
 * @example
 * ```ts
 * const leases = createMemoryLeaseStore();
 * const [grant] = await leases.acquire([{ taskId: "run/step" }], "worker-1", 5_000);
 * ```
 */
import { leaseTtl, tokenFloor } from "./tokens.js";
import type { AcquireItem, ExpiredLease, HeldLease, LeaseGrant, LeaseStore } from "./types.js";

/**
 * Options of `createMemoryLeaseStore`.
 *
 * @example
 * ```ts
 * const leases = createMemoryLeaseStore({ now: () => fakeNow });
 * ```
 */
export interface MemoryLeaseStoreOptions {
  /** The clock deciding expiry (ms since the epoch); `Date.now` unless given (tests pass a fake one). */
  now?: () => number;
}

interface Entry {
  token: bigint;
  workerId: string;
  expiresAt: number;
}

/**
 * Creates an in-process lease store. An entry stays in the map after its
 * lease ends until `expired()` reports it or `release()` removes it, like
 * the Redis store's expiry index.
 *
 * @example
 * ```ts
 * let t = 0;
 * const leases = createMemoryLeaseStore({ now: () => t });
 * await leases.acquire([{ taskId: "a" }], "w", 100);
 * t = 200;
 * await leases.expired(t, 10); // [{ taskId: "a", token: 1n, workerId: "w" }]
 * ```
 */
export function createMemoryLeaseStore(options: MemoryLeaseStoreOptions = {}): LeaseStore {
  const now = options.now ?? Date.now;
  const entries = new Map<string, Entry>();
  let counter = 0n;
  let closed = false;

  const open = (): void => {
    if (closed) throw new Error("lease store is closed");
  };
  const live = (e: Entry | undefined, at: number): e is Entry => e !== undefined && e.expiresAt > at;

  return {
    async acquire(items: AcquireItem[], workerId: string, ttlMs: number): Promise<LeaseGrant[]> {
      open();
      const ttl = leaseTtl(ttlMs);
      const floors = items.map((i) => tokenFloor(i.minToken)); // validate all before changing anything
      const expiresAt = now() + ttl;
      return items.map(({ taskId }, i) => {
        const floor = floors[i]!;
        counter = counter + 1n > floor ? counter + 1n : floor;
        entries.set(taskId, { token: counter, workerId, expiresAt });
        return { taskId, token: counter, expiresAt };
      });
    },

    async renew(items: HeldLease[], workerId: string, ttlMs: number): Promise<string[]> {
      open();
      const ttl = leaseTtl(ttlMs);
      const at = now();
      const held: string[] = [];
      for (const { taskId, token } of items) {
        const e = entries.get(taskId);
        if (!live(e, at) || e.token !== token || e.workerId !== workerId) continue;
        e.expiresAt = at + ttl;
        held.push(taskId);
      }
      return held;
    },

    async check(taskId: string, token: bigint): Promise<boolean> {
      open();
      const e = entries.get(taskId);
      return live(e, now()) && e.token === token;
    },

    async release(items: HeldLease[]): Promise<void> {
      open();
      for (const { taskId, token } of items) {
        if (entries.get(taskId)?.token === token) entries.delete(taskId);
      }
    },

    async expired(_nowMs: number, limit: number): Promise<ExpiredLease[]> {
      open();
      const at = now();
      const ended = [...entries].filter(([, e]) => !live(e, at));
      ended.sort(([, a], [, b]) => a.expiresAt - b.expiresAt);
      return ended.slice(0, Math.max(0, limit)).map(([taskId, { token, workerId }]) => {
        entries.delete(taskId);
        return { taskId, token, workerId };
      });
    },

    async close(): Promise<void> {
      closed = true;
      entries.clear();
    },
  };
}
