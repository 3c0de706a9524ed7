/**
 * The lease-store side of this replica's tasks: leases written when tasks are
 * claimed, renewed by heartbeats, written again when the lease store lost
 * them while the worker lives, and released once a result is durable. Postgres
 * fences every result, so a lease-store failure here delays work and never
 * loses it.
 *
 * @example
 *   const taskLeases = createTaskLeases({ leases, logger });
 *   await taskLeases.acquire(session, tasks, 5_000);
 *   await taskLeases.heartbeat(session, ["task-1"]);
 *   taskLeases.release("task-1");
 */
import type { LeaseStore } from "../leases/types.js";
import type { Logger } from "../log.js";
import type { ClaimedTask, RunningTaskRef } from "../store/index.js";
import type { WorkerSession } from "./session.js";

export interface TaskLeases {
  /** Leases freshly claimed tasks to the session; a lease store that cannot be reached is logged, not thrown. */
  acquire(session: WorkerSession, tasks: readonly ClaimedTask[], ttlMs: number): Promise<void>;
  /** The worker heartbeated these tasks: extends the leases it holds, and leases again those the store lost. */
  heartbeat(session: WorkerSession, taskIds: string[]): Promise<void>;
  /** Leases these tasks again for the sessions of this replica that hold them (`sessionOf`: by worker id). */
  relet(tasks: readonly RunningTaskRef[], sessionOf: (workerId: string) => WorkerSession | undefined): Promise<void>;
  /** The task's result is durable: its lease goes with the next release call. */
  release(taskId: string): void;
}

/**
 * Create the lease keeper of one dispatcher.
 *
 * @example
 *   const taskLeases = createTaskLeases({ leases: createMemoryLeaseStore(), logger });
 */
export function createTaskLeases(deps: { leases: LeaseStore; logger: Logger }): TaskLeases {
  const { leases, logger } = deps;
  /** Lease-store token per task (it may differ from the Postgres fencing token). */
  const tokens = new Map<string, bigint>();
  const releaseSoon = batchedReleases(leases, logger);

  const leaseAgain = async (
    session: WorkerSession,
    items: { taskId: string; minToken: bigint }[],
    ttlMs: number,
  ): Promise<void> => {
    const grants = await leases.acquire(items, session.id, ttlMs);
    grants.forEach((g) => tokens.set(g.taskId, g.token));
  };

  return {
    async acquire(session, tasks, ttlMs) {
      try {
        const grants = await leases.acquire(
          tasks.map((t) => ({ taskId: t.taskId, minToken: t.leaseToken - 1n })),
          session.id,
          ttlMs,
        );
        grants.forEach((g) => tokens.set(g.taskId, g.token));
      } catch (err) {
        // Redis down: Postgres still fences results; the lease scan re-creates or expires them.
        logger.warn({ err }, "could not write leases; continuing on Postgres fencing");
      }
    },

    async heartbeat(session, taskIds) {
      const now = Date.now();
      const items = taskIds.flatMap((taskId) => {
        const held = session.inflight.get(taskId);
        if (held) held.lastBeatAt = now;
        const token = tokens.get(taskId);
        return held && token !== undefined ? [{ taskId, token, ttlMs: held.ttlMs }] : [];
      });
      if (items.length === 0) return;
      const ttl = Math.max(...items.map((i) => i.ttlMs));
      try {
        const held = new Set(await leases.renew(items, session.id, ttl));
        const lost = items.filter((i) => !held.has(i.taskId));
        if (lost.length > 0) {
          // Redis lost them (restart, FLUSHALL) while the worker is alive: Postgres is the truth, lease again.
          await leaseAgain(
            session,
            lost.map((i) => ({ taskId: i.taskId, minToken: i.token })),
            ttl,
          );
        }
      } catch (err) {
        logger.warn({ err }, "heartbeat could not reach the lease store");
      }
    },

    async relet(tasks, sessionOf) {
      const bySession = new Map<WorkerSession, { items: { taskId: string; minToken: bigint }[]; ttlMs: number }>();
      for (const t of tasks) {
        const session = sessionOf(t.workerId ?? "");
        const held = session?.inflight.get(t.taskId);
        if (!session || !held) continue;
        const entry = bySession.get(session) ?? { items: [], ttlMs: 0 };
        entry.items.push({ taskId: t.taskId, minToken: t.leaseToken });
        entry.ttlMs = Math.max(entry.ttlMs, held.ttlMs);
        bySession.set(session, entry);
      }
      await Promise.all([...bySession].map(([session, { items, ttlMs }]) => leaseAgain(session, items, ttlMs)));
    },

    release(taskId) {
      const token = tokens.get(taskId);
      tokens.delete(taskId);
      if (token !== undefined) releaseSoon({ taskId, token });
    },
  };
}

/**
 * Lease releases of finished tasks, sent as one lease-store call per event
 * loop turn: the results of one completion flush resolve together, so their
 * releases share one Redis script call instead of one round trip each.
 * Only cleanup: the result is already durable and Postgres fences anything late.
 */
function batchedReleases(leases: LeaseStore, logger: Logger): (item: { taskId: string; token: bigint }) => void {
  let releases: { taskId: string; token: bigint }[] = [];
  let scheduled = false;
  return (item) => {
    releases.push(item);
    if (scheduled) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const batch = releases;
      releases = [];
      leases.release(batch).catch((err: unknown) => logger.debug({ err, count: batch.length }, "lease release failed"));
    });
  };
}
