/**
 * The metrics of one server process, in Prometheus' text format, on a
 * registry of its own (never prom-client's global one, so two servers in one
 * process, as in tests, do not collide). The composition root creates one
 * `Metrics` and hands its observers to the store, the dispatcher and the
 * webhook deliverer; each of those takes an optional observer that does
 * nothing by default, so tests and tools need none.
 *
 * What is counted where, and why it stays cheap: `store-metrics.ts` (facts
 * of committed transactions), `dispatch-metrics.ts` (per task, on cached
 * label children), `gauges.ts` (read at scrape time only). Every metric is
 * listed in docs/metrics.md.
 *
 * @example
 *   const metrics = createMetrics({ logger });
 *   const store = await openStore(config, logger, metrics.store);
 *   metrics.watch({ sessions: () => dispatcher.sessions(), readyTaskCounts: () => store.readyTaskCounts() });
 *   const { contentType, body } = await metrics.scrape();
 */
import { collectDefaultMetrics, Registry } from "prom-client";
import type { DispatchObserver, WebhookObserver } from "../dispatch/observer.js";
import type { Logger } from "../log.js";
import type { StoreObserver } from "../store/index.js";
import { createDispatchMetrics } from "./dispatch-metrics.js";
import { createScrapeGauges, type GaugeSources } from "./gauges.js";
import { DEFAULT_LABEL_LIMIT, LabelBudget } from "./labels.js";
import { createStoreMetrics } from "./store-metrics.js";

/** How long the ready-task counts are reused: one grouped query per replica per this many ms, whoever scrapes. */
export const READY_TASKS_TTL_MS = 5_000;

/** prom-client's default gauges whose names end in `_total`, which Prometheus keeps for counters. */
const TOTAL_NAMED_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

export interface MetricsOptions {
  /** Distinct workflow names, and distinct action names, before the rest count as `other` (default 1,000 each). */
  labelLimit?: number;
  /** See {@link READY_TASKS_TTL_MS}. */
  readyTasksTtlMs?: number;
  /** Node's process metrics (CPU, memory, GC, event-loop lag) too; default true. */
  processMetrics?: boolean;
  /** Where a failed ready-task count is reported. */
  logger?: Logger;
}

export interface Metrics {
  readonly registry: Registry;
  readonly store: StoreObserver;
  readonly dispatch: DispatchObserver & WebhookObserver;
  /** Where the scrape-time gauges read from; until called they report nothing. */
  watch(sources: GaugeSources): void;
  /** The text exposition and its content type (`text/plain; version=0.0.4; charset=utf-8`). */
  scrape(): Promise<{ contentType: string; body: string }>;
}

/**
 * Creates the registry and every metric on it.
 *
 * @example
 *   const metrics = createMetrics({ processMetrics: false });
 *   metrics.store.committed({ started: ["billing"] });
 *   (await metrics.scrape()).body; // … weft_runs_started_total{workflow="billing"} 1 …
 */
export function createMetrics(opts: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (opts.processMetrics !== false) {
    // Event-loop lag (nodejs_eventloop_lag_*), heap, GC, CPU and handles, under their usual names.
    collectDefaultMetrics({ register: registry });
    // Except three gauges named like counters (`promtool check metrics` refuses them); the same
    // numbers are the sums of nodejs_active_handles / _requests / _resources by type.
    for (const name of TOTAL_NAMED_GAUGES) registry.removeSingleMetric(name);
  }
  const limit = opts.labelLimit ?? DEFAULT_LABEL_LIMIT;
  const workflows = new LabelBudget(limit);
  const actions = new LabelBudget(limit);
  const gauges = createScrapeGauges(registry, actions, {
    ttlMs: opts.readyTasksTtlMs ?? READY_TASKS_TTL_MS,
    ...(opts.logger ? { logger: opts.logger } : {}),
  });
  return {
    registry,
    store: createStoreMetrics(registry, { workflows, actions }),
    dispatch: createDispatchMetrics(registry, actions),
    watch: (sources) => gauges.watch(sources),
    scrape: async () => ({ contentType: registry.contentType, body: await registry.metrics() }),
  };
}
