/**
 * Keeps this replica's worker streams listed in the worker registry: an
 * entry is written when a stream opens, rewritten for every open stream on a
 * timer (slots in use, last message), and removed when the stream ends. The
 * entries live three refresh periods, so those of a replica killed with
 * `kill -9` vanish on their own.
 *
 * Registry writes never hold up dispatch: they go one at a time, in order,
 * off the hot path (a removal can never be overtaken by an older write of the
 * same entry), and a failed one is logged and redone at the next refresh.
 * Heartbeats do not write: the timer samples what they changed.
 *
 * @example
 *   const presence = createWorkerPresence({ registry, replica: () => replica, refreshMs: 2_500, logger });
 *   presence.attached(session); // after dispatcher.attach
 *   presence.detached(session); // after dispatcher.detach
 *   await presence.close();
 */
import type { Logger } from "../log.js";
import type { WorkerEntry, WorkerRegistry } from "../registry/types.js";
import type { WorkerSession } from "./session.js";

/** Refresh periods an entry outlives its last write. */
const TTL_PERIODS = 3;

export interface WorkerPresence {
  /** A worker stream opened (not the built-in runner's session: it is nobody's worker). */
  attached(session: WorkerSession): void;
  /** The stream ended: its entry goes now. */
  detached(session: WorkerSession): void;
  /** Stops the timer and removes the entries of streams still open. */
  close(): Promise<void>;
}

/**
 * The refresh period for a lease time: half of it, between 250 ms and 5 s,
 * so a dead replica's workers vanish within 1.5 lease times (7.5 s by
 * default), on the scale at which its tasks are offered again.
 *
 * @example
 *   registryRefreshMs(5_000); // 2_500
 */
export function registryRefreshMs(leaseTtlMs: number): number {
  return Math.min(5_000, Math.max(250, Math.round(leaseTtlMs / 2)));
}

type Replica = { id: string; address: string };

/** A session as a registry entry, written at `reportedAt`. */
function entryOf(s: WorkerSession, replica: Replica, reportedAt: number): WorkerEntry {
  return {
    workerId: s.id,
    name: s.name,
    actions: s.actions,
    slots: s.slots,
    slotsInUse: s.inflight.size,
    labels: s.labels,
    replicaId: replica.id,
    replicaAddress: replica.address,
    connectedAt: s.connectedAt,
    lastSeenAt: s.heardAt,
    reportedAt,
    namespace: s.namespace ?? "*",
  };
}

/**
 * The registry writes of one replica, one call at a time and in order, so a
 * removal never lands before an older write of the same entry. A failed
 * round stops the loop until the next `flush()` (the refresh timer's).
 */
function createSerialWriter(deps: {
  registry: WorkerRegistry;
  ttlMs: number;
  logger: Logger;
  replica: () => Replica;
  /** Whether the session is still open: a write queued before its stream ended is dropped. */
  open: (s: WorkerSession) => boolean;
}) {
  const { registry, ttlMs, logger } = deps;
  let toPut = new Set<WorkerSession>();
  /** Worker id → when its stream ended. A failed removal is redone while the entry could still be listed. */
  let toRemove = new Map<string, number>();
  let busy = false;
  let writing: Promise<void> = Promise.resolve();
  let failing = false;

  /** One removal and one write of what is due; false when the registry failed. */
  const writeOnce = async (): Promise<boolean> => {
    const removing = toRemove;
    const putting = [...toPut].filter(deps.open);
    toRemove = new Map();
    toPut = new Set();
    try {
      if (removing.size > 0) await registry.remove([...removing.keys()]);
      const at = Date.now();
      if (putting.length > 0)
        await registry.put(
          putting.map((s) => entryOf(s, deps.replica(), at)),
          ttlMs,
        );
      if (failing) logger.info("worker registry: writes succeed again");
      failing = false;
      return true;
    } catch (err) {
      const at = Date.now();
      for (const [id, since] of removing) if (at - since < ttlMs && !toRemove.has(id)) toRemove.set(id, since);
      // The entries not written are written with every other at the next refresh.
      if (failing) logger.debug({ err }, "worker registry: write failed again");
      else logger.warn({ err }, "worker registry: write failed; retrying at each refresh, ListWorkers may be stale");
      failing = true;
      return false;
    }
  };

  const flush = (): Promise<void> => {
    if (busy) return writing;
    busy = true;
    writing = (async () => {
      try {
        while (toRemove.size > 0 || toPut.size > 0) if (!(await writeOnce())) break;
      } finally {
        busy = false;
      }
    })();
    return writing;
  };

  return {
    put(s: WorkerSession): void {
      toPut.add(s);
    },
    remove(s: WorkerSession): void {
      toPut.delete(s);
      toRemove.set(s.id, Date.now());
    },
    /** Starts writing what is due, unless a round is running (it picks the new items up); resolves when idle. */
    flush,
  };
}

/**
 * Starts the refresh timer (unref'd: it never keeps the process alive).
 *
 * @example
 *   const presence = createWorkerPresence({ registry, replica: () => ({ id, address }), refreshMs: 2_500, logger });
 */
export function createWorkerPresence(deps: {
  registry: WorkerRegistry;
  /** This process; the address may be set only once it listens. */
  replica: () => Replica;
  refreshMs: number;
  logger: Logger;
}): WorkerPresence {
  const sessions = new Set<WorkerSession>();
  const writer = createSerialWriter({
    ...deps,
    ttlMs: TTL_PERIODS * deps.refreshMs,
    open: (s) => sessions.has(s),
  });
  let closed = false;

  const timer = setInterval(() => {
    if (closed) return;
    for (const s of sessions) writer.put(s);
    void writer.flush();
  }, deps.refreshMs);
  timer.unref();

  return {
    attached(session) {
      if (closed) return;
      sessions.add(session);
      writer.put(session);
      void writer.flush();
    },
    detached(session) {
      if (!sessions.delete(session)) return;
      writer.remove(session);
      void writer.flush();
    },
    async close() {
      closed = true;
      clearInterval(timer);
      for (const s of sessions) writer.remove(s);
      sessions.clear();
      await writer.flush();
    },
  };
}
