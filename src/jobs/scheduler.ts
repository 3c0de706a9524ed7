/**
 * Cron schedules (`on.schedules`): each replica runs this loop; every tick
 * starts exactly one run across all replicas.
 *
 * Exactly once: the run for a tick is triggered with the idempotency key
 * `schedule:<cron>@<tick ISO time>`, and runs are unique per (workflow,
 * idempotency key) in Postgres, so replicas racing for one tick insert one
 * run between them (the losers get the same run id back). The key leaves the
 * version out: a new version keeping the same schedule does not fire a tick
 * twice.
 *
 * Catch-up policy (documented in the README): a replica remembers, per
 * schedule, up to when it handled ticks; it fires every tick since then. A
 * replica that just started does not know, and fires only the latest tick at
 * or before now (a no-op when another replica already fired it). So after
 * downtime of the whole cluster, missed ticks produce one run, for the latest
 * one. Ticks before the workflow version was created never fire.
 *
 * Each pass reads the latest version of every live workflow with schedules:
 * deleting the workflow, or a version without the schedule, stops it. The
 * loop sleeps until the next tick of any schedule, at most `intervalMs`.
 *
 * @example
 *   const scheduler = createScheduler({ store, logger, intervalMs: 1000 });
 *   scheduler.stop();
 */
import { dueTicks, nextTick } from "../engine/cron.js";
import type { Logger } from "../log.js";
import type { Store, TriggerInput } from "../store/index.js";
import { NO_TRIGGER_TRACER, type TriggerTracer } from "../dispatch/tracer.js";

export interface Scheduler {
  stop(): void;
}

export function createScheduler(deps: {
  store: Pick<Store, "scheduledWorkflows" | "triggerRuns">;
  logger: Logger;
  /** Longest sleep between passes (ms). */
  intervalMs: number;
  /** Trigger spans (tracing on): each tick's run starts a trace of its own. */
  tracer?: TriggerTracer;
}): Scheduler {
  const { store, logger } = deps;
  /** `${namespace} ${workflowId} ${cron}` → the time up to which its ticks are handled. */
  let handled = new Map<string, Date>();
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const pass = async (): Promise<number> => {
    const now = new Date();
    const workflows = await store.scheduledWorkflows();
    const inputs: TriggerInput[] = [];
    const next = new Map<string, Date>();
    let wake = now.getTime() + deps.intervalMs;
    for (const wf of workflows) {
      for (const cron of new Set(wf.def.on.schedules)) {
        const key = `${wf.namespace} ${wf.workflowId} ${cron}`;
        try {
          for (const tick of dueTicks(cron, handled.get(key), now)) {
            if (tick.getTime() < wf.createdAt.getTime()) continue;
            const at = tick.toISOString();
            inputs.push({
              namespace: wf.namespace,
              trigger: "schedule",
              workflowId: wf.workflowId,
              version: wf.version,
              input: { schedule: cron, scheduled_at: at },
              idempotencyKey: `schedule:${cron}@${at}`,
            });
          }
          const upcoming = nextTick(cron, now);
          if (upcoming) wake = Math.min(wake, upcoming.getTime());
        } catch (err) {
          logger.warn(
            { err, namespace: wf.namespace, workflowId: wf.workflowId, cron },
            "schedule could not be evaluated",
          );
        }
        next.set(key, now);
      }
    }
    if (inputs.length > 0) {
      const results = await (deps.tracer ?? NO_TRIGGER_TRACER).trigger(inputs, (i) => store.triggerRuns(i));
      const created = results.flatMap((r) => (r.ok && r.created ? [r.runId] : []));
      if (created.length > 0) {
        logger.info({ runs: created.length }, "schedules started runs");
      }
    }
    // Only after the runs are recorded: a failed pass fires the same ticks next time.
    handled = next;
    return wake;
  };

  const loop = async () => {
    if (stopped) return;
    let wake = Date.now() + deps.intervalMs;
    try {
      wake = await pass();
    } catch (err) {
      logger.warn({ err }, "schedule pass failed");
    }
    if (stopped) return;
    timer = setTimeout(() => void loop(), Math.max(5, wake - Date.now() + 5));
    timer.unref();
  };
  void loop();

  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}
