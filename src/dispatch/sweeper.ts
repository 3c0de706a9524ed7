/**
 * The safety net, on a timer: expired leases, stalled streams, step and run
 * timeouts, due retries and leases that vanished from Redis. Nothing on the hot path waits for it.
 * Each sweep runs its jobs one after the other; a job that fails is logged and the next one runs.
 *
 * @example
 *   const sweeper = createSweeper({ store, leases, logger, options, dispatcher, localHolder, stalled });
 *   sweeper.stop();
 */
import type { LeaseStore } from "../leases/types.js";
import type { Logger } from "../log.js";
import type { ExecutionStore, RunningTaskRef } from "../store/index.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";
import { LEASE_EXPIRED_CANCEL, STEP_TIMEOUT_CANCEL, TIMEOUT } from "../engine/failures.js";

export interface Sweeper {
  stop(): void;
}

export interface SweeperDeps {
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
}

/** What to do about the earliest due retry: wake now, wake at `at` (ms), or leave it to a later sweep. */
export type DueWake = { kind: "now" } | { kind: "at"; at: number } | { kind: "none" };

/**
 * When to wake the dispatcher for the earliest due retry: now if it is due;
 * at its time (plus a millisecond, so it is due then) if that comes within
 * two sweeps and no wake-up is set yet; otherwise a later sweep sees to it.
 *
 * @example
 *   planDueWake(1_300, 1_000, 500, false); // { kind: "at", at: 1_301 }
 *   planDueWake(900, 1_000, 500, true);    // { kind: "now" }
 */
export function planDueWake(due: number | undefined, now: number, sweepIntervalMs: number, armed: boolean): DueWake {
  if (due === undefined) return { kind: "none" };
  const wait = due - now;
  if (wait <= 0) return { kind: "now" };
  if (wait < sweepIntervalMs * 2 && !armed) return { kind: "at", at: due + 1 };
  return { kind: "none" };
}

/**
 * Create the sweeper; it sweeps every `options.sweepIntervalMs` until `stop()`.
 *
 * @example
 *   const sweeper = createSweeper({ store, leases, logger, options, dispatcher, localHolder, stalled: () => [] });
 */
export function createSweeper(deps: SweeperDeps): Sweeper {
  const { logger, options, dispatcher } = deps;
  const dueWake = createDueWake(deps);
  const jobs = [
    ["expired leases", (now: number) => expireLeases(deps, now)],
    ["stalled streams", (now: number) => stalledStreams(deps, now)],
    ["timeouts", (now: number) => stepTimeouts(deps, now)],
    ["run timeouts", (now: number) => runTimeouts(deps, now)],
    ["due retries", dueWake.check],
    ["lease scan", createLostLeaseScan(deps)],
  ] as const;
  let stopped = false;
  let busy = false;

  const tick = async () => {
    if (busy || stopped) return;
    busy = true;
    // Timers run before the event loop polls its sockets: let what arrived meanwhile (results,
    // heartbeats) be read first, so that a stalled process does not judge its streams on stale news.
    await new Promise((resolve) => setImmediate(resolve));
    const now = Date.now();
    for (const [name, job] of jobs) {
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
      dueWake.stop();
    },
  };
}

/** Cancel first (the holder's session still knows the task), then requeue. */
async function loseAll(deps: SweeperDeps, tasks: RunningTaskRef[]): Promise<void> {
  if (tasks.length === 0) return;
  await deps.dispatcher.cancel(tasks, LEASE_EXPIRED_CANCEL.message);
  const results = await Promise.all(tasks.map((t) => deps.dispatcher.lose(t, "no heartbeat within the lease time")));
  // Only the ones this replica took back: another may have requeued the task first, or its result won.
  (deps.observer ?? NO_DISPATCH_OBSERVER).leasesExpired(results.filter((r) => r.accepted).length);
}

/**
 * Expired leases are lost, except those of tasks a stream of this replica
 * holds and is still alive by this replica's own account (answered, or
 * heard from within the lease, time this process could not run not
 * counted): those are leased again. The lease store's clock runs on while
 * this process is stalled (a saturated event loop, a long GC), and the
 * worker's heartbeat or result may be waiting unread in the socket; losing
 * such a task would fail a step whose result is already here.
 */
async function expireLeases(deps: SweeperDeps, now: number): Promise<void> {
  const expired = await deps.leases.expired(now, 500);
  const tasks = expired.map((e) => ({ taskId: e.taskId, leaseToken: e.token, workerId: e.workerId }));
  const alive: RunningTaskRef[] = [];
  const lost: RunningTaskRef[] = [];
  for (const t of tasks) (deps.localHolder(t.taskId, t.workerId) ? alive : lost).push(t);
  if (alive.length > 0) await deps.dispatcher.relet(alive);
  await loseAll(deps, lost);
}

/** Streams of this replica that went quiet: their tasks are lost even if Redis no longer knows the lease. */
async function stalledStreams(deps: SweeperDeps, now: number): Promise<void> {
  deps.dispatcher.dropSilent(now);
  await loseAll(deps, deps.stalled(now));
}

async function stepTimeouts(deps: SweeperDeps, now: number): Promise<void> {
  const late = await deps.store.timedOutTasks(new Date(now), 500);
  if (late.length === 0) return;
  await deps.dispatcher.cancel(late, STEP_TIMEOUT_CANCEL.message);
  await Promise.all(
    late.map((t) => deps.dispatcher.lose(t, "the step's timeout passed", TIMEOUT).catch(() => undefined)),
  );
}

/** Runs past their workflow timeout → TIMED_OUT; the store signals `cancel` for their running tasks. */
async function runTimeouts(deps: SweeperDeps, now: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const { runIds } = await deps.store.timeOutRuns(new Date(now), 100);
    if (runIds.length < 100) return;
  }
}

/** Wakes the dispatcher when the earliest retry is due, with one timer at most (see `planDueWake`). */
function createDueWake(deps: SweeperDeps): { check(now: number): Promise<void>; stop(): void } {
  let timer: NodeJS.Timeout | undefined;
  return {
    async check(now) {
      const due = await deps.store.nextDueTime();
      const plan = planDueWake(due?.getTime(), now, deps.options.sweepIntervalMs, timer !== undefined);
      if (plan.kind === "now") deps.dispatcher.wake();
      else if (plan.kind === "at") {
        timer = setTimeout(() => {
          timer = undefined;
          deps.dispatcher.wake();
        }, plan.at - now);
      }
    },
    stop() {
      if (timer) clearTimeout(timer);
    },
  };
}

/** Leases gone from Redis (restart, FLUSHALL) for tasks no live worker heartbeats: requeue after two scans. */
function createLostLeaseScan(deps: SweeperDeps): (now: number) => Promise<void> {
  const { store, leases, options } = deps;
  let lastScan = 0;
  /** Tasks whose lease was missing at the previous scan (task id → token). */
  let missing = new Map<string, bigint>();
  return async (now) => {
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
        const result = await deps.dispatcher.lose(t, "lease missing from the lease store").catch(() => undefined);
        if (result?.accepted) (deps.observer ?? NO_DISPATCH_OBSERVER).leasesExpired(1);
      } else {
        stillMissing.set(t.taskId, t.leaseToken);
      }
    }
    missing = stillMissing;
  };
}
