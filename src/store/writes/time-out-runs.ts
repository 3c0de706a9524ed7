/**
 * The run timeout (the workflow's `timeout`, stored as `runs.deadline_at`):
 * unfinished runs past their deadline → TIMED_OUT, their unfinished steps →
 * CANCELLED with error `{ type: "TIMED_OUT" }`. One transaction for a batch:
 * find candidates (index `runs_deadline`), lock them in id order, keep those
 * still unfinished and lock their open steps (`stop-runs.ts`), let the engine
 * stop them (`planRunTimeouts`), write with one statement.
 */
import { sql, type Kysely } from "kysely";
import type { RunStatus } from "../../engine/model.js";
import { planRunTimeouts, stoppable } from "../../engine/stop.js";
import { finishedRuns, type CommitFacts } from "../observer.js";
import { lockRuns } from "./run-state.js";
import type { Database } from "../db/schema.js";
import type { SignalBus } from "../signals/signal-bus.js";
import { lockOpenSteps, writeStop } from "./stop-runs.js";
import type { RunningTaskRef, StoreSignal } from "../types.js";

const UNFINISHED: RunStatus[] = ["PENDING", "RUNNING"];

/**
 * Times out up to `limit` runs whose deadline is at or before `now`.
 *
 * @example
 * ```ts
 * const { result, signals } = await timeOutRuns(db, new Date(), 100, bus);
 * ```
 */
export async function timeOutRuns(
  db: Kysely<Database>,
  now: Date,
  limit: number,
  bus: SignalBus,
): Promise<{ result: { runIds: string[]; running: RunningTaskRef[] }; signals: StoreSignal[]; facts?: CommitFacts }> {
  const candidates = await db
    .selectFrom("runs")
    .select("id")
    .where(
      "status",
      "in",
      UNFINISHED.map((s) => sql.lit(s)),
    )
    .where("deadline_at", "<=", now)
    .orderBy("deadline_at")
    .limit(Math.max(1, Math.floor(limit)))
    .execute();
  if (candidates.length === 0) return { result: { runIds: [], running: [] }, signals: [] };
  return db.transaction().execute(async (trx) => {
    const locked = await lockRuns(
      trx,
      candidates.map((c) => c.id),
    );
    const runs = stoppable(locked.values());
    const decision = planRunTimeouts(runs, await lockOpenSteps(trx, runs));
    const { running, signals, changes } = await writeStop(trx, decision, bus);
    return {
      result: { runIds: runs.map((r) => r.id), running },
      signals,
      facts: { finished: finishedRuns(changes, runs) },
    };
  });
}
