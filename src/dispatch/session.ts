/**
 * One connected worker: what it runs, its free slots, the tasks it holds and
 * the queue of messages going down its stream.
 *
 * The dispatcher never has more tasks out on a session than its slots; a slot
 * frees when the worker answers for the task (accepted or stale) or the
 * session ends.
 */
import type { ClaimedTask } from "../store/index.js";
import { Channel } from "./channel.js";
import { NO_SLOT, WORKER_DRAINING, WORKER_SHUTDOWN } from "../engine/failures.js";

/** A message for the worker, independent of protobuf (the API layer encodes it). */
export type Outgoing =
  | { kind: "task"; task: ClaimedTask }
  | { kind: "cancel"; taskId: string; reason: string }
  | { kind: "ack"; taskId: string; accepted: boolean; reason?: string; retryLater?: boolean };

export interface Inflight {
  task: ClaimedTask;
  /** Lease time to live: the step's heartbeat timeout or the server default. */
  ttlMs: number;
  /**
   * When the task was sent or last heartbeated (ms, this replica's clock).
   * The replica that holds the stream decides on its own when a task missed
   * its heartbeats, so a stalled stream loses its tasks even when Redis lost
   * the lease (restart, FLUSHALL) or another process took its expiry.
   */
  lastBeatAt: number;
  /** When the task was handed to the stream (`performance.now()`): its attempt's duration counts from here. */
  sentAt?: number;
  /**
   * Set when the worker's result for this task arrived (it is being
   * committed): the worker stops heartbeating a task it has answered, so
   * from then on silence is not a stall.
   */
  answered?: boolean;
}

/** Failure types by which a worker says it is going away (see the SDK's drain). */
const DRAINING_TYPES = new Set([WORKER_DRAINING, WORKER_SHUTDOWN]);
/** How long a worker that answered NO_SLOT gets no new tasks (unless it sends another result first). */
const NO_SLOT_PAUSE_MS = 1_000;

/**
 * Whether a held task counts as alive: answered (its result is being
 * committed) or heartbeated within its lease time.
 *
 * @example
 *   const stalled = [...session.inflight.values()].filter((h) => !beating(h, Date.now()));
 */
export function beating(held: Inflight | undefined, now: number): boolean {
  return held !== undefined && (held.answered === true || now - held.lastBeatAt <= held.ttlMs);
}

export class WorkerSession {
  readonly inflight = new Map<string, Inflight>();
  readonly outbox = new Channel<Outgoing>();
  /** Namespace and sorted action list: sessions with equal keys claim from the same queue. */
  readonly actionKey: string;
  closed = false;
  /**
   * Set when the session's tasks were lost for missed heartbeats: it gets no
   * new tasks until the worker sends something again (a heartbeat, an idle
   * worker's keepalive, or a result), so a stalled stream does not swallow
   * every retry of a task. One that stays silent is closed (the dispatcher's
   * `dropSilent`): a live worker reconnects, a dead one is gone.
   */
  suspect = false;
  /** When the stream was opened (ms, this replica's clock). */
  readonly connectedAt = Date.now();
  /** When the worker last sent anything (ms, this replica's clock). */
  heardAt = Date.now();
  /** Why the server ended the stream (answered as UNAVAILABLE, so the worker reconnects); unset otherwise. */
  dropped: string | undefined;
  /**
   * Set once the worker handed a task back because it is draining or
   * stopping (WORKER_DRAINING, WORKER_SHUTDOWN): it gets no new tasks, which
   * it would only hand back too, until its stream ends.
   */
  draining = false;
  /**
   * Until when (ms) the worker is taken to be full: it refused a task with
   * NO_SLOT (handlers that outlived a reconnect still hold its slots). Ends
   * at its next other result, or after a second.
   */
  fullUntil = 0;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly actions: string[],
    readonly slots: number,
    readonly labels: Record<string, string>,
    /** Whose tasks it takes; undefined: every namespace's (the in-process built-ins). */
    readonly namespace: string | undefined,
  ) {
    this.actionKey = `${namespace ?? "*"}/${[...actions].sort().join(",")}`;
  }

  get free(): number {
    return this.closed || this.suspect || this.draining || Date.now() < this.fullUntil
      ? 0
      : Math.max(0, this.slots - this.inflight.size);
  }

  /**
   * The worker sent a result (`errorType` undefined: an output). Called
   * before it commits: marks the task answered, and the session draining
   * (WORKER_DRAINING / WORKER_SHUTDOWN) or briefly full (NO_SLOT).
   */
  noteResult(taskId: string, leaseToken: bigint, errorType: string | undefined): void {
    const held = this.inflight.get(taskId);
    if (held && held.task.leaseToken === leaseToken) held.answered = true;
    if (errorType !== undefined && DRAINING_TYPES.has(errorType)) this.draining = true;
    // NO_SLOT: the worker is full whatever its slot count says; give it a moment (or its next result).
    this.fullUntil = errorType === NO_SLOT ? Date.now() + NO_SLOT_PAUSE_MS : 0;
  }

  /**
   * The result could not be recorded: the task is owed one again (the worker
   * is asked to resend it), and its silence counts again from now.
   */
  resultLost(taskId: string, leaseToken: bigint): void {
    const held = this.inflight.get(taskId);
    if (!held || held.task.leaseToken !== leaseToken) return;
    held.answered = false;
    held.lastBeatAt = Date.now();
  }

  /** Whether this task's result (with this token) is being committed: a resend of it has nothing to add. */
  committing(taskId: string, leaseToken: bigint): boolean {
    const held = this.inflight.get(taskId);
    return held !== undefined && held.answered === true && held.task.leaseToken === leaseToken;
  }

  send(msg: Outgoing): void {
    this.outbox.push(msg);
  }

  /**
   * These messages leave for the stream now: a task's silence counts from
   * here, not from its claim. Under load a claimed task can wait in the
   * outbox (the stream's writes back up behind a busy event loop); the
   * worker cannot heartbeat a task it has not received.
   */
  sending(msgs: readonly Outgoing[], now = Date.now()): void {
    for (const m of msgs) {
      if (m.kind !== "task") continue;
      const held = this.inflight.get(m.task.taskId);
      if (held && held.task.leaseToken === m.task.leaseToken) held.lastBeatAt = now;
    }
  }

  /** Ends the stream; with `dropped`, the worker is told why and reconnects. */
  close(dropped?: string): void {
    if (dropped !== undefined && !this.closed) this.dropped = dropped;
    this.closed = true;
    this.outbox.close();
  }
}
