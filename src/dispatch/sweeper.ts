/**
 * The safety net, on a timer: expired leases, stalled streams, step and run
 * timeouts, due retries and leases that vanished from Redis. Nothing on the hot path waits for it.
 *
 * @example
 *   const sweeper = createSweeper({ store, leases, logger, options, dispatcher, localHolder });
 *   sweeper.stop();
 */
import type { LeaseStore } from "../leases/types.js";
import type { Logger } from "../log.js";
import type { ExecutionStore, RunningTaskRef } from "../store/types.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";

export interface Sweeper {
  stop(): void;
}

export function createSweeper(deps: {
  store: ExecutionStore;
  leases: LeaseStore;
  logger: Logger;
  options: DispatchOptions;
  /** Counts the tasks taken back for an expired or vanished lease; default none. */
  observer?: Pick<DispatchObserver, "leasesExpired">;
  dispatcher: {
    /** Requeues the task; `accepted` false when it had moved on (finished, or taken back elsewhere). */
    lose(task: RunningTaskRef, why: string, type?: string): Promise<{ accepted: boolean }>;
    wake(): void;
    /** Closes the streams of suspect sessions that stayed silent too long. */
    dropSilent(now: number): void;
    cancel(tasks: RunningTaskRef[], reason: string): Promise<void>;
    /** Leases these tasks again for the sessions of this replica that hold them. */
    relet(tasks: RunningTaskRef[]): Promise<void>;
  };
  /** True when a live session of this replica holds the task and heartbeats it. */
  localHolder(taskId: string, workerId: string): boolean;
  /** Tasks held by this replica's sessions that missed their heartbeats (whatever Redis says). */
  stalled(nowMs: number): RunningTaskRef[];
}): Sweeper {
  const { store, leases, logger, options, dispatcher } = deps;
  const observer = deps.observer ?? NO_DISPATCH_OBSERVER;
  let stopped = false;
  let busy = false;
  let dueTimer: NodeJS.Timeout | undefined;
  let lastScan = 0;
  /** Tasks whose lease was missing at the previous scan (task id → token). */
  let missing = new Map<string, bigint>();

  /** Cancel first (the holder's session still knows the task), then requeue. */
  const loseAll = async (tasks: RunningTaskRef[]) => {
    if (tasks.length === 0) return;
    await dispatcher.cancel(tasks, "lease expired");
    const results = await Promise.all(tasks.map((t) => dispatcher.lose(t, "no heartbeat within the lease time")));
    // Only the ones this replica took back: another may have requeued the task first, or its result won.
    observer.leasesExpired(results.filter((r) => r.accepted).length);
  };

  /**
   * Expired leases are lost, except those of tasks a stream of this replica
   * holds and is still alive by this replica's own account (answered, or
   * heard from within the lease, time this process could not run not
   * counted): those are leased again. The lease store's clock runs on while
   * this process is stalled (a saturated event loop, a long GC), and the
   * worker's heartbeat or result may be waiting unread in the socket; losing
   * such a task would fail a step whose result is already here.
   */
  const expireLeases = async (now: number) => {
    const expired = await leases.expired(now, 500);
    const tasks = expired.map((e) => ({ taskId: e.taskId, leaseToken: e.token, workerId: e.workerId }));
    const alive: RunningTaskRef[] = [];
    const lost: RunningTaskRef[] = [];
    for (const t of tasks) (deps.localHolder(t.taskId, t.workerId) ? alive : lost).push(t);
    if (alive.length > 0) await dispatcher.relet(alive);
    await loseAll(lost);
  };

  /** Streams of this replica that went quiet: their tasks are lost even if Redis no longer knows the lease. */
  const stalledStreams = async (now: number) => {
    dispatcher.dropSilent(now);
    await loseAll(deps.stalled(now));
  };

  const timeouts = async (now: number) => {
    const late = await store.timedOutTasks(new Date(now), 500);
    if (late.length === 0) return;
    await dispatcher.cancel(late, "step timed out");
    await Promise.all(
      late.map((t) => dispatcher.lose(t, "the step's timeout passed", "TIMEOUT").catch(() => undefined)),
    );
  };

  /** Runs past their workflow timeout → TIMED_OUT; the store signals `cancel` for their running tasks. */
  const runTimeouts = async (now: number) => {
    for (let i = 0; i < 10; i++) {
      const { runIds } = await store.timeOutRuns(new Date(now), 100);
      if (runIds.length < 100) return;
    }
  };

  const dueRetries = async (now: number) => {
    const due = await store.nextDueTime();
    if (!due) return;
    const wait = due.getTime() - now;
    if (wait <= 0) {
      dispatcher.wake();
    } else if (wait < options.sweepIntervalMs * 2 && !dueTimer) {
      dueTimer = setTimeout(() => {
        dueTimer = undefined;
        dispatcher.wake();
      }, wait + 1);
    }
  };

  /** Leases gone from Redis (restart, FLUSHALL) for tasks no live worker heartbeats: requeue after two scans. */
  const scanLostLeases = async (now: number) => {
    if (now - lastScan < Math.max(options.leaseTtlMs, 2_000)) return;
    lastScan = now;
    const running = await store.runningTasks({ startedBefore: new Date(now - options.leaseTtlMs), limit: 1000 });
    const stillMissing = new Map<string, bigint>();
    const checks = await Promise.all(
      running.map(async (t) => ({
        t,
        held: (t.workerId && deps.localHolder(t.taskId, t.workerId)) || (await leases.check(t.taskId, t.leaseToken)),
      })),
    );
    for (const { t, held } of checks) {
      if (held) continue;
      if (missing.get(t.taskId) === t.leaseToken) {
        const result = await dispatcher.lose(t, "lease missing from the lease store").catch(() => undefined);
        if (result?.accepted) observer.leasesExpired(1);
      } else {
        stillMissing.set(t.taskId, t.leaseToken);
      }
    }
    missing = stillMissing;
  };

  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    // Timers run before the event loop polls its sockets: let what arrived meanwhile (results,
    // heartbeats) be read first, so that a stalled process does not judge its streams on stale news.
    await new Promise((resolve) => setImmediate(resolve));
    const now = Date.now();
    for (const [name, job] of [
      ["expired leases", expireLeases],
      ["stalled streams", stalledStreams],
      ["timeouts", timeouts],
      ["run timeouts", runTimeouts],
      ["due retries", dueRetries],
      ["lease scan", scanLostLeases],
    ] as const) {
      try {
        await job(now);
      } catch (err) {
        logger.warn({ err, job: name }, "sweep failed");
      }
    }
    dispatcher.wake();
    busy = false;
  };

  const timer = setInterval(() => void tick(), options.sweepIntervalMs);
  timer.unref();
  return {
    stop() {
      stopped = true;
      clearInterval(timer);
      if (dueTimer) clearTimeout(dueTimer);
    },
  };
}
