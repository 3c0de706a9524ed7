/**
 * Heartbeats for running tasks. While connected, one `heartbeat` message
 * names every running task, sent every `period`: the welcome's
 * `heartbeat_interval`, or a third of the shortest `heartbeat_timeout` among
 * running tasks when that is sooner. `beat()` sends one task's heartbeat
 * early, throttled to the same third (Temporal throttles the same way).
 * Stopped while disconnected: there is nobody to tell. With `keepaliveEvery`,
 * an idle worker (no running task) sends an empty heartbeat every that many
 * periods: the server hears from it, and feeds a session it had stopped
 * feeding (its tasks lost for silence, e.g. during a database outage).
 *
 * @example
 * ```ts
 * const hb = createHeartbeater({ targets: () => running.values(), send: (ids) => link.send(heartbeat(ids)) });
 * hb.start(welcomeIntervalMs); // on welcome
 * hb.retune();                 // a task with a short heartbeat timeout started
 * hb.stop();                   // on disconnect
 * ```
 */

/** A running task as the heartbeater sees it. */
export interface HeartbeatTarget {
  readonly taskId: string;
  /** The task's heartbeat timeout; undefined: the server's interval rules. */
  readonly heartbeatTimeoutMs: number | undefined;
  /** When the server last heard of it (or when it arrived). */
  lastBeatAt: number;
}

export interface HeartbeaterOptions {
  targets(): Iterable<HeartbeatTarget>;
  /** Send one heartbeat; false when it could not go out (disconnected). */
  send(taskIds: string[]): boolean;
  now?: () => number;
  /** Floor on the period, so a tiny timeout cannot spin. Default 20 ms. */
  minPeriodMs?: number;
  /** With no running task, send an empty heartbeat every this many periods (default: never). */
  keepaliveEvery?: number;
}

export interface Heartbeater {
  /** Begin the periodic heartbeat with the server's interval. */
  start(intervalMs: number): void;
  stop(): void;
  /** Recompute the period now (a task started); only ever brings the next tick closer. */
  retune(): void;
  /** Send `target`'s heartbeat now unless one went out within its throttle; true if sent. */
  beat(target: HeartbeatTarget): boolean;
  /** The current period, undefined when stopped. */
  readonly periodMs: number | undefined;
}

/**
 * Create a heartbeater.
 *
 * @example
 * ```ts
 * const hb = createHeartbeater({ targets: () => tasks, send: (ids) => (sent.push(ids), true) });
 * ```
 */
export function createHeartbeater(opts: HeartbeaterOptions): Heartbeater {
  const now = opts.now ?? Date.now;
  const minPeriod = opts.minPeriodMs ?? 20;
  let intervalMs: number | undefined;
  let timer: NodeJS.Timeout | undefined;
  let nextAt = Infinity;
  let idleTicks = 0;

  const period = (): number => {
    let p = intervalMs ?? Infinity;
    for (const t of opts.targets()) {
      if (t.heartbeatTimeoutMs !== undefined) p = Math.min(p, t.heartbeatTimeoutMs / 3);
    }
    return Math.max(minPeriod, p);
  };

  const schedule = (ms: number): void => {
    clearTimeout(timer);
    nextAt = now() + ms;
    timer = setTimeout(tick, ms);
  };

  const tick = (): void => {
    const targets = [...opts.targets()];
    if (targets.length > 0 && opts.send(targets.map((t) => t.taskId))) {
      const at = now();
      for (const t of targets) t.lastBeatAt = at;
    }
    idleTicks = targets.length > 0 ? 0 : idleTicks + 1;
    if (opts.keepaliveEvery !== undefined && idleTicks >= opts.keepaliveEvery && opts.send([])) idleTicks = 0;
    schedule(period());
  };

  return {
    start(ms) {
      intervalMs = ms;
      schedule(period());
    },
    stop() {
      intervalMs = undefined;
      clearTimeout(timer);
      timer = undefined;
      nextAt = Infinity;
    },
    retune() {
      if (intervalMs === undefined) return;
      const p = period();
      if (nextAt > now() + p) schedule(p);
    },
    beat(target) {
      if (intervalMs === undefined) return false;
      const throttle = target.heartbeatTimeoutMs !== undefined ? target.heartbeatTimeoutMs / 3 : intervalMs;
      const at = now();
      if (at - target.lastBeatAt < throttle) return false;
      if (!opts.send([target.taskId])) return false;
      target.lastBeatAt = at;
      return true;
    },
    get periodMs() {
      return intervalMs === undefined ? undefined : period();
    },
  };
}
