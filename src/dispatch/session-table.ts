/**
 * The worker sessions of one replica, by id, and what the dispatcher and its
 * sweeper ask of them: who holds a task, which held tasks missed their
 * heartbeats, which silent streams to close, and the event-loop stall watch
 * that keeps time this process could not run from ageing their heartbeats.
 *
 * @example
 *   const table = new SessionTable();
 *   table.add(session);
 *   const held = table.holding({ taskId, leaseToken, workerId: session.id });
 *   const stopWatch = table.watchStalls();
 */
import type { Logger } from "../log.js";
import type { RunningTaskRef } from "../store/index.js";
import { beating, type WorkerSession } from "./session.js";

/** Period of the event-loop stall watch (ms). */
const STALL_TICK_MS = 100;
/** Lease times a suspect session may stay silent before its stream is closed. */
const SILENT_LEASES = 6;

/**
 * The sessions of one dispatcher.
 *
 * @example
 *   const table = new SessionTable();
 *   table.add(session);
 *   table.get(session.id) === session; // true
 */
export class SessionTable {
  /** In the order they attached. */
  readonly sessions = new Set<WorkerSession>();
  readonly #byId = new Map<string, WorkerSession>();

  add(session: WorkerSession): void {
    this.sessions.add(session);
    this.#byId.set(session.id, session);
  }

  remove(session: WorkerSession): void {
    this.sessions.delete(session);
    this.#byId.delete(session.id);
  }

  get(workerId: string): WorkerSession | undefined {
    return this.#byId.get(workerId);
  }

  /** The session of this replica that holds the task under this lease token, if any. */
  holding(t: RunningTaskRef): WorkerSession | undefined {
    const session = t.workerId ? this.#byId.get(t.workerId) : undefined;
    const held = session?.inflight.get(t.taskId);
    return held && held.task.leaseToken === t.leaseToken ? session : undefined;
  }

  /** True when a live session holds the task and heartbeats it (or answered it). */
  heartbeating(taskId: string, workerId: string, now: number): boolean {
    return beating(this.#byId.get(workerId)?.inflight.get(taskId), now);
  }

  /** Tasks held by these sessions that missed their heartbeats. */
  stalled(now: number): RunningTaskRef[] {
    return [...this.sessions].flatMap((s) =>
      [...s.inflight.values()]
        .filter((h) => !beating(h, now))
        .map((h) => ({ taskId: h.task.taskId, leaseToken: h.task.leaseToken, workerId: s.id })),
    );
  }

  /**
   * Closes the streams of sessions that lost tasks for silence and have not
   * said a word for `SILENT_LEASES` lease times since: a worker that is alive
   * reconnects, one that is not is gone with its session.
   */
  dropSilent(now: number, leaseTtlMs: number, logger: Logger): void {
    for (const s of this.sessions) {
      if (s.suspect && now - s.heardAt > SILENT_LEASES * leaseTtlMs) {
        logger.warn(
          { workerId: s.id, worker: s.name, silentMs: now - s.heardAt },
          "closing the stream of a worker silent since its tasks were lost",
        );
        s.close("no message from the worker since its tasks were lost for silence; reconnect");
      }
    }
  }

  /** Pushes `cancel` for the tasks held by these sessions (under the same lease token). */
  cancel(tasks: readonly RunningTaskRef[], reason: string): void {
    for (const t of tasks) this.holding(t)?.send({ kind: "cancel", taskId: t.taskId, reason });
  }

  /**
   * Time this process could not run (an event loop blocked by a long
   * synchronous stretch, e.g. PGlite executing a large transaction, or GC)
   * does not age the tasks' heartbeats: the workers' messages were waiting
   * unread. Checked every 100 ms; a tick more than 100 ms late moves every
   * held task's last heartbeat forward by the delay. Returns the stop.
   */
  watchStalls(): () => void {
    let lastTick = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      const stall = now - lastTick - STALL_TICK_MS;
      lastTick = now;
      if (stall < STALL_TICK_MS) return;
      for (const s of this.sessions) for (const h of s.inflight.values()) h.lastBeatAt += stall;
    }, STALL_TICK_MS);
    timer.unref();
    return () => clearInterval(timer);
  }
}
