/**
 * The dispatcher of one replica: knows its connected workers and their free
 * slots, claims ready steps for them in batches, leases them, pushes them down
 * the streams, and group-commits their results.
 *
 * Wake-ups come from this replica (triggers, completions, new sessions) and
 * from others (store signals); a slow timer is only the safety net.
 *
 * @example
 *   const dispatcher = createDispatcher({ store, leases, logger, options });
 *   dispatcher.attach(session);
 *   const { accepted } = await dispatcher.submit(session, outcome);
 */
import type { LeaseStore } from "../leases/types.js";
import type { Logger } from "../log.js";
import type { CompletionResult, ExecutionStore, RunningTaskRef, TaskOutcome } from "../store/types.js";
import { createCompletionBuffer } from "./completion-buffer.js";
import { NO_DISPATCH_OBSERVER, type DispatchObserver } from "./observer.js";
import type { DispatchOptions } from "./options.js";
import { limitOutput } from "./payload-limit.js";
import { beating, type WorkerSession } from "./session.js";
import { createSweeper } from "./sweeper.js";
import { NO_DISPATCH_TRACER, type DispatchTracer } from "./tracer.js";

/** Period of the event-loop stall watch (ms). */
const STALL_TICK_MS = 100;
/** Lease times a suspect session may stay silent before its stream is closed. */
const SILENT_LEASES = 6;

export interface Dispatcher {
  attach(session: WorkerSession): void;
  /** The stream ended: its tasks' leases end now and they go back to the queue. */
  detach(session: WorkerSession): Promise<void>;
  /** Look for work now (coalesced): for the action sets sharing an action with `actions`, or for all. */
  wake(actions?: readonly string[]): void;
  /** Records a result; resolves once durable (accepted) or refused (stale). */
  submit(session: WorkerSession | undefined, outcome: TaskOutcome): Promise<CompletionResult>;
  /** The worker sent something: a session suspected stalled gets tasks again. */
  heard(session: WorkerSession): void;

  /** Heartbeat: extends the leases of these tasks held by the session. */
  heartbeat(session: WorkerSession, taskIds: string[]): Promise<void>;
  /** Pushes `cancel` for tasks held by sessions of this replica. */
  cancelLocal(tasks: RunningTaskRef[], reason: string): void;
  /** Stops handing out tasks (drain). */
  pause(): void;
  sessions(): ReadonlySet<WorkerSession>;
  close(): Promise<void>;
}

export function createDispatcher(deps: {
  store: ExecutionStore;
  leases: LeaseStore;
  logger: Logger;
  options: DispatchOptions;
  /** Largest step output (JSON bytes); a larger one fails its step (`payload-limit.ts`). */
  maxPayloadBytes?: number;
  observer?: DispatchObserver;
  tracer?: DispatchTracer;
}): Dispatcher {
  const { store, leases, logger, options, observer = NO_DISPATCH_OBSERVER, tracer = NO_DISPATCH_TRACER } = deps;
  const maxPayloadBytes = deps.maxPayloadBytes ?? Number.POSITIVE_INFINITY;
  const sessions = new Set<WorkerSession>();
  const bySessionId = new Map<string, WorkerSession>();
  /** Redis lease token per task (it may differ from the Postgres fencing token). */
  const leaseTokens = new Map<string, bigint>();
  let paused = false;
  let closed = false;

  const buffer = createCompletionBuffer({
    complete: (outcomes) => store.completeTasks(outcomes),
    windowMs: options.completionWindowMs,
    maxBatch: options.completionBatchSize,
    concurrency: options.completionConcurrency,
  });

  /**
   * Claiming. Up to `claimConcurrency` claims run at once (one per session),
   * so the workers of one replica are fed while a claim waits for Postgres
   * and Redis (a claim's round trip on a busy server is a few times its
   * Postgres time; docs/benchmarks.md#claim-policy). A claim that finds fewer tasks than it
   * asked for marks its action set empty until the next wake-up, so idle
   * sessions do not query an empty queue in a loop.
   *
   * Sessions of one action set claim side by side only while the last claim
   * of that set filled its batch (a backlog); otherwise one claims and the
   * others wait for its answer. A trickle of work then costs one claim per
   * wake-up instead of one per session, most of which would find nothing
   * (docs/benchmarks.md#claim-policy).
   */
  /** Sessions with a claim in flight (at most one each), and whether a claim of a shared action overlapped it. */
  const claiming = new Map<WorkerSession, { overlapped: boolean }>();
  /** Counts wake-ups. */
  let generation = 0;
  /** The last wake-up for every action set. */
  let wokeAll = 0;
  /** Action set → the last wake-up naming one of its actions. */
  const wokeSet = new Map<string, number>();
  /** The last wake-up that concerned this action set: new work may exist for it since. */
  const generationOf = (key: string): number => Math.max(wokeAll, wokeSet.get(key) ?? 0);
  /** Action set → the generation in which a claim found its queue empty. */
  const emptyAt = new Map<string, number>();
  /** Action set → the generation in which a claim that ran alone came back short (the queue was empty). */
  const emptyAloneAt = new Map<string, number>();
  /** Action set → how its last claim came back: no task at all, fewer than asked for, or a full batch. */
  const lastClaim = new Map<string, "none" | "short" | "full">();
  /** Whether a session of this action set has a claim in flight. */
  const setClaiming = (key: string): boolean => {
    for (const s of claiming.keys()) if (s.actionKey === key) return true;
    return false;
  };

  /** Claims, leases and sends up to `limit` tasks for one session; returns how many went out. */
  const claimFor = async (session: WorkerSession, limit: number): Promise<number> => {
    const askedAt = performance.now();
    const claim = { workerId: session.id, actions: session.actions, limit, traceparents: tracer.enabled };
    const tasks = await store.claimTasks(claim);
    if (tasks.length === 0) return 0;
    const ttls = tasks.map((t) => t.heartbeatTimeoutMs ?? options.leaseTtlMs);
    try {
      const grants = await leases.acquire(
        tasks.map((t) => ({ taskId: t.taskId, minToken: t.leaseToken - 1n })),
        session.id,
        Math.max(...ttls),
      );
      grants.forEach((g) => leaseTokens.set(g.taskId, g.token));
    } catch (err) {
      // Redis down: Postgres still fences results; the lease scan re-creates or expires them.
      logger.warn({ err }, "could not write leases; continuing on Postgres fencing");
    }
    tasks.forEach((task, i) => {
      if (session.closed) return;
      session.inflight.set(task.taskId, { task, ttlMs: ttls[i]!, lastBeatAt: Date.now(), sentAt: performance.now() });
      tracer.sending(task, session.id);
      session.send({ kind: "task", task });
      observer.sent(task, askedAt, session.id);
    });
    if (session.closed) {
      // The stream ended while we claimed: these tasks go straight back.
      void Promise.all(tasks.map((t) => lose(session, t.taskId, t.leaseToken, "worker stream closed")));
    }
    return tasks.length;
  };

  const startClaim = (session: WorkerSession): void => {
    const key = session.actionKey;
    const limit = Math.min(session.free, options.claimBatchSize);
    const gen = generationOf(key);
    const self = { overlapped: false };
    for (const [other, claim] of claiming) {
      if (!other.actions.some((a) => session.actions.includes(a))) continue;
      claim.overlapped = true;
      self.overlapped = true;
    }
    claiming.set(session, self);
    let got = 0;
    claimFor(session, limit)
      .then(
        (n) => (got = n),
        (err: unknown) => logger.error({ err }, "dispatch pass failed"),
      )
      .finally(() => {
        claiming.delete(session);
        if (got < limit && gen === generationOf(key)) {
          emptyAt.set(key, gen);
          // No other claim of this replica for these actions could have skipped rows under it: the queue was empty.
          if (!self.overlapped) emptyAloneAt.set(key, gen);
        }
        lastClaim.set(key, got === 0 ? "none" : got === limit ? "full" : "short");
        pump();
      });
  };

  /** Starts claims for sessions with free slots, up to the concurrency. */
  const pump = (): void => {
    if (paused || closed) return;
    for (const session of sessions) {
      if (claiming.size >= options.claimConcurrency) return;
      if (
        claiming.has(session) ||
        session.free <= 0 ||
        emptyAt.get(session.actionKey) === generationOf(session.actionKey)
      )
        continue;
      // Beside a claim of its set, a session claims only in a backlog, and only for a quarter of what
      // it can take at once or more: a claim of a few tasks costs a round trip and a commit like a
      // full one, and waiting for the claim in flight lets more slots free up (docs/benchmarks.md#claim-policy).
      const backlog = lastClaim.get(session.actionKey) === "full";
      if (
        setClaiming(session.actionKey) &&
        (!backlog || session.free < Math.min(session.slots, options.claimBatchSize) / 4)
      )
        continue;
      startClaim(session);
    }
  };

  /**
   * A wake-up naming actions (the store's `queued` signal names the actions
   * of the steps it queued) concerns only the action sets sharing one: a
   * trigger for one worker type does not send every other type, and the
   * built-in runner, to claim an empty queue (docs/benchmarks.md#claim-policy).
   */
  const wake = (actions?: readonly string[]): void => {
    generation++;
    if (actions === undefined) wokeAll = generation;
    else {
      for (const session of sessions) {
        if (wokeSet.get(session.actionKey) !== generation && session.actions.some((a) => actions.includes(a)))
          wokeSet.set(session.actionKey, generation);
      }
    }
    pump();
  };

  /**
   * Lease releases of finished tasks, sent as one lease-store call per event
   * loop turn: the results of one completion flush resolve together, so their
   * releases share one Redis script call instead of one round trip each.
   * Only cleanup: the result is already durable and Postgres fences anything late.
   */
  let releases: { taskId: string; token: bigint }[] = [];
  let releaseScheduled = false;
  const releaseSoon = (item: { taskId: string; token: bigint }): void => {
    releases.push(item);
    if (releaseScheduled) return;
    releaseScheduled = true;
    setImmediate(() => {
      releaseScheduled = false;
      const batch = releases;
      releases = [];
      leases.release(batch).catch((err: unknown) => logger.debug({ err, count: batch.length }, "lease release failed"));
    });
  };

  const afterResult = (session: WorkerSession | undefined, outcome: TaskOutcome): void => {
    const held = session?.inflight.get(outcome.taskId);
    if (session && held && held.task.leaseToken === outcome.leaseToken) {
      session.inflight.delete(outcome.taskId);
      const lt = leaseTokens.get(outcome.taskId);
      leaseTokens.delete(outcome.taskId);
      if (lt !== undefined) releaseSoon({ taskId: outcome.taskId, token: lt });
      // A freed slot after claims that found nothing is not news: claim only if a wake-up
      // (the store's `queued` signal, from this replica or another) said there is work. Nor after a
      // short claim that ran alone, with no wake-up since: the queue was empty then, and whatever was
      // queued later woke us. Otherwise look again at once, as the last claims still found work: a
      // short claim beside others is no proof of an empty queue (SKIP LOCKED passes over rows a
      // concurrent claim holds), and pumping only here cost S1 throughput (docs/benchmarks.md#claim-policy).
      if (
        lastClaim.get(session.actionKey) === "none" ||
        emptyAloneAt.get(session.actionKey) === generationOf(session.actionKey)
      )
        pump();
      else wake(session.actions);
    }
  };

  const submit = async (session: WorkerSession | undefined, outcome: TaskOutcome): Promise<CompletionResult> => {
    // Before the commit (which wakes the pump): the re-queued task must not go straight back to this worker.
    const fromWorker = outcome.source !== "server";
    if (session && fromWorker)
      session.noteResult(
        outcome.taskId,
        outcome.leaseToken,
        outcome.outcome.kind === "error" ? outcome.outcome.error.type : undefined,
      );
    let result: CompletionResult;
    try {
      result = await buffer.submit(limitOutput(outcome, maxPayloadBytes));
    } catch (err) {
      if (session && fromWorker) session.resultLost(outcome.taskId, outcome.leaseToken);
      throw err;
    }
    observer.settled(outcome, result, session?.inflight.get(outcome.taskId));
    tracer.settled(outcome, result);
    afterResult(session, outcome);
    return result;
  };

  const lose = (session: WorkerSession | undefined, taskId: string, token: bigint, why: string, type = "LEASE_LOST") =>
    submit(session, {
      taskId,
      leaseToken: token,
      workerId: session?.id,
      source: "server",
      outcome: {
        kind: "error",
        error: { type, message: type === "LEASE_LOST" ? `lease lost: ${why}` : why, retryable: true },
      },
    });

  /**
   * Time this process could not run (an event loop blocked by a long
   * synchronous stretch, e.g. PGlite executing a large transaction, or GC)
   * does not age the tasks' heartbeats: the workers' messages were waiting
   * unread. Checked every 100 ms; a tick more than 100 ms late moves every
   * held task's last heartbeat forward by the delay.
   */
  let lastTick = Date.now();
  const stallWatch = setInterval(() => {
    const now = Date.now();
    const stall = now - lastTick - STALL_TICK_MS;
    lastTick = now;
    if (stall < STALL_TICK_MS) return;
    for (const s of sessions) for (const h of s.inflight.values()) h.lastBeatAt += stall;
  }, STALL_TICK_MS);
  stallWatch.unref();

  /** Leases these tasks of one session again (the lease store lost or expired them while the worker lives). */
  const leaseAgain = async (
    session: WorkerSession,
    items: { taskId: string; minToken: bigint }[],
    ttlMs: number,
  ): Promise<void> => {
    const grants = await leases.acquire(items, session.id, ttlMs);
    grants.forEach((g) => leaseTokens.set(g.taskId, g.token));
  };

  /**
   * Closes the streams of sessions that lost tasks for silence and have not
   * said a word for `SILENT_LEASES` lease times since: a worker that is alive
   * reconnects, one that is not is gone with its session.
   */
  const dropSilent = (now: number): void => {
    for (const s of sessions) {
      if (s.suspect && now - s.heardAt > SILENT_LEASES * options.leaseTtlMs) {
        logger.warn(
          { workerId: s.id, worker: s.name, silentMs: now - s.heardAt },
          "closing the stream of a worker silent since its tasks were lost",
        );
        s.close("no message from the worker since its tasks were lost for silence; reconnect");
      }
    }
  };

  const sweeper = createSweeper({
    store,
    leases,
    logger,
    options,
    observer,
    dispatcher: {
      lose: (t, why, type) => {
        const session = bySessionId.get(t.workerId ?? "");
        // Lost for silence (not for a timeout): stop feeding this stream until it speaks again.
        const held = session?.inflight.get(t.taskId);
        if (
          session &&
          held &&
          held.task.leaseToken === t.leaseToken &&
          type === undefined &&
          !beating(held, Date.now())
        )
          session.suspect = true;
        return lose(session, t.taskId, t.leaseToken, why, type);
      },
      wake,
      dropSilent,
      cancel: (tasks, reason) => store.signal({ kind: "cancel", tasks, reason }),
      relet: async (tasks) => {
        const bySession = new Map<WorkerSession, { items: { taskId: string; minToken: bigint }[]; ttlMs: number }>();
        for (const t of tasks) {
          const session = bySessionId.get(t.workerId ?? "");
          const held = session?.inflight.get(t.taskId);
          if (!session || !held) continue;
          const entry = bySession.get(session) ?? { items: [], ttlMs: 0 };
          entry.items.push({ taskId: t.taskId, minToken: t.leaseToken });
          entry.ttlMs = Math.max(entry.ttlMs, held.ttlMs);
          bySession.set(session, entry);
        }
        await Promise.all([...bySession].map(([session, { items, ttlMs }]) => leaseAgain(session, items, ttlMs)));
      },
    },
    localHolder: (taskId, workerId) => beating(bySessionId.get(workerId)?.inflight.get(taskId), Date.now()),
    stalled: (now) =>
      [...sessions].flatMap((s) =>
        [...s.inflight.values()]
          .filter((h) => !beating(h, now))
          .map((h) => ({ taskId: h.task.taskId, leaseToken: h.task.leaseToken, workerId: s.id })),
      ),
  });

  return {
    attach(session) {
      sessions.add(session);
      bySessionId.set(session.id, session);
      wake();
    },
    async detach(session) {
      sessions.delete(session);
      bySessionId.delete(session.id);
      session.close();
      const held = [...session.inflight.values()];
      await Promise.all(
        held.map((h) =>
          lose(session, h.task.taskId, h.task.leaseToken, "worker stream closed").catch((err: unknown) =>
            logger.error({ err }, "could not requeue task"),
          ),
        ),
      );
      session.inflight.clear();
      wake();
    },
    wake,
    submit,
    heard(session) {
      session.heardAt = Date.now();
      if (!session.suspect) return;
      session.suspect = false;
      wake();
    },

    async heartbeat(session, taskIds) {
      const now = Date.now();
      const items = taskIds.flatMap((taskId) => {
        const held = session.inflight.get(taskId);
        if (held) held.lastBeatAt = now;
        const token = leaseTokens.get(taskId);
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
    cancelLocal(tasks, reason) {
      for (const t of tasks) {
        const session = t.workerId ? bySessionId.get(t.workerId) : undefined;
        const held = session?.inflight.get(t.taskId);
        if (session && held && held.task.leaseToken === t.leaseToken)
          session.send({ kind: "cancel", taskId: t.taskId, reason });
      }
    },
    pause() {
      paused = true;
    },
    sessions: () => sessions,
    async close() {
      closed = true;
      sweeper.stop();
      clearInterval(stallWatch);
      await buffer.drain();
    },
  };
}
