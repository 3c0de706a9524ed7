/**
 * Gauges read at scrape time rather than kept up to date on the hot path:
 * ready tasks per action (one grouped query, cached, so scrapes cannot
 * hammer Postgres) and this replica's connected workers and free slots per
 * action (from the dispatcher's sessions, in memory).
 *
 * @example
 *   const sources = createScrapeGauges(registry, actions, { ttlMs: 5_000, logger });
 *   sources.watch({ sessions: () => dispatcher.sessions(), readyTaskCounts: () => store.readyTaskCounts() });
 */
import { Gauge, type Registry } from "prom-client";
import type { Logger } from "../log.js";
import type { LabelBudget } from "./labels.js";

/** What a session offers the gauges (a `WorkerSession` fits). */
export interface SessionView {
  readonly actions: readonly string[];
  readonly free: number;
  readonly closed: boolean;
}

export interface GaugeSources {
  /** The worker sessions of this replica (the built-in runner's included). */
  sessions(): Iterable<SessionView>;
  /** Ready tasks per action, from the store. */
  readyTaskCounts(): Promise<{ action: string; count: number }[]>;
}

export interface ScrapeGauges {
  /** Where the gauges read from; until called they report nothing. */
  watch(sources: GaugeSources): void;
}

/**
 * Calls `load` at most once per `ttlMs`, sharing the answer (and a call in
 * flight) between callers, and waits at most `waitMs` for it: a database
 * that hangs makes a scrape miss the gauge, not hang, and a stuck query is
 * never joined by a second one. A failure counts as an answer (undefined).
 *
 * @example
 *   const counts = cachedLoad(() => store.readyTaskCounts(), { ttlMs: 5_000, waitMs: 2_000 });
 *   const latest = await counts();
 */
export function cachedLoad<T>(
  load: () => Promise<T>,
  opts: { ttlMs: number; waitMs: number; onError?: (err: unknown) => void },
): () => Promise<T | undefined> {
  let last: { at: number; value: T | undefined } | undefined;
  let inflight: Promise<void> | undefined;
  return async () => {
    if (last !== undefined && performance.now() - last.at < opts.ttlMs) return last.value;
    inflight ??= load()
      .then(
        (value) => void (last = { at: performance.now(), value }),
        (err: unknown) => {
          last = { at: performance.now(), value: undefined };
          opts.onError?.(err);
        },
      )
      .finally(() => (inflight = undefined));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, opts.waitMs).unref()));
    const answered = await Promise.race([inflight.then(() => true), late.then(() => false)]);
    clearTimeout(timer);
    return answered ? last?.value : undefined;
  };
}

/**
 * Creates the scrape-time gauges on `registry`.
 *
 * @example
 *   createScrapeGauges(new Registry(), new LabelBudget(), { ttlMs: 5_000 });
 */
export function createScrapeGauges(
  registry: Registry,
  actions: LabelBudget,
  opts: { ttlMs: number; logger?: Logger },
): ScrapeGauges {
  let sources: GaugeSources | undefined;
  const readyCounts = cachedLoad(() => sources!.readyTaskCounts(), {
    ttlMs: opts.ttlMs,
    waitMs: 2_000,
    onError: (err) => opts.logger?.warn({ err }, "metrics: could not count the ready tasks"),
  });
  /** Sums per bounded action label: names beyond the budget add up under `other`. */
  const byAction = (entries: Iterable<[string, number]>): Map<string, number> => {
    const sums = new Map<string, number>();
    for (const [name, n] of entries) {
      const label = actions.admit(name);
      sums.set(label, (sums.get(label) ?? 0) + n);
    }
    return sums;
  };
  const show = (gauge: Gauge<string>, values: Map<string, number>): void => {
    gauge.reset();
    for (const [action, n] of values) gauge.labels(action).set(n);
  };

  const ready: Gauge<string> = new Gauge({
    name: "weft_ready_tasks",
    help: "Tasks ready to be claimed (QUEUED and due), by action; counted across replicas, cached a few seconds.",
    labelNames: ["action"],
    registers: [registry],
    async collect() {
      // Before `watch` there is nothing to count (and nothing to cache).
      const counts = sources === undefined ? undefined : await readyCounts();
      show(ready, byAction((counts ?? []).map((c): [string, number] => [c.action, c.count])));
    },
  });
  /** Per action over this replica's open sessions: `value` of each session, summed. */
  const overSessions = (value: (session: SessionView) => number): Map<string, number> => {
    const entries: [string, number][] = [];
    for (const session of sources?.sessions() ?? []) {
      if (session.closed) continue;
      for (const action of session.actions) entries.push([action, value(session)]);
    }
    return byAction(entries);
  };
  const workers: Gauge<string> = new Gauge({
    name: "weft_workers_connected",
    help: "Worker streams open on this replica, by action (the built-in runner counts as one worker).",
    labelNames: ["action"],
    registers: [registry],
    collect: () =>
      show(
        workers,
        overSessions(() => 1),
      ),
  });
  const freeSlots: Gauge<string> = new Gauge({
    name: "weft_worker_free_slots",
    help: "Free slots of this replica's workers, by action (a worker of several actions counts under each).",
    labelNames: ["action"],
    registers: [registry],
    collect: () =>
      show(
        freeSlots,
        overSessions((session) => session.free),
      ),
  });

  return {
    watch(s) {
      sources = s;
    },
  };
}
