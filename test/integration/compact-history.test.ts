/**
 * Migration 0012 (history rows keep one-byte codes), on Postgres and PGlite:
 * - every event type and status has a code, and reads back its name;
 * - rows written before 0012 (text, no codes) and after (codes, no text)
 *   read back identically: history, events after an id, the run;
 * - the migration rewrites no row: old rows keep their text, new ones get codes.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../src/engine/model.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { createMigrator } from "../../src/store/migrations/index.js";
import { requirePostgres } from "../support/db.js";
import { backends, claimAll, completeAll, failed, ok, start, uniqueId, workflow } from "../support/execution.js";

const hasPostgres = await requirePostgres();
const TYPES = ["RUN_STATUS", "STEP_STATUS", "STALE_RESULT", "WEBHOOK"];

/** How the history rows keep their type: `text` before 0012, `code` since. */
async function forms(store: KyselyStore, runId: string): Promise<string[]> {
  const { rows } = await sql<{ form: string }>`
    select case when type is not null then 'text' else 'code' end as form from run_events where run_id = ${runId} order by id`.execute(
    store.db,
  );
  return [...new Set(rows.map((r) => r.form))];
}

describe.each(backends(hasPostgres))("compact history ($name)", ({ skip, fresh }) => {
  it.skipIf(skip)("every event type and status has its own code and reads back", async () => {
    const db = await fresh();
    const store = await db.open();
    try {
      await store.migrate();
      const names = [...TYPES, ...new Set([...Object.values(RunStatus), ...Object.values(StepStatus)])];
      const { rows } = await sql<{ name: string; code: string | null; back: string | null }>`
        select n as name, weft_code(n) as code, weft_name(weft_code(n)) as back from unnest(${names}::text[]) n`.execute(
        store.db,
      );
      expect(rows.every((r) => r.code !== null && r.back === r.name)).toBe(true);
      expect(new Set(rows.map((r) => r.code)).size).toBe(names.length);
    } finally {
      await store.close();
      await db.dispose();
    }
  });

  it.skipIf(skip)("history written before 0012 reads back the same after it, and is not rewritten", async () => {
    const db = await fresh();
    const store = await db.open();
    try {
      await store.migrate();
      const wf = workflow(uniqueId("compact"), { a: {}, b: { deps: ["a"], retry: { maxAttempts: 1 } } });
      const [runId] = await start(store, wf, [{ n: 1, text: "x".repeat(40) }]);
      await completeAll(
        store,
        (await claimAll(store, [`${wf.id}.a`], "w-a")).map((t) => ok(t, { a: 1 }, "w-a")),
      );
      const [b] = await claimAll(store, [`${wf.id}.b`], "w-b");
      await completeAll(store, [failed(b!, "BOOM", "no")]);
      await sql`insert into run_events (run_id, type_code, step_id, attempt, message)
                values (${runId}, weft_code('WEBHOOK'), 'b', 1, 'POST failed')`.execute(store.db);
      const history = await store.getRunHistory(runId!);
      const run = await store.getRun(runId!);
      const after = await store.runEventsAfter(runId!, history[2]!.id, 100);
      expect(
        history.map((e) => [e.type, e.runStatus ?? e.stepStatus ?? null, e.stepId ?? null, e.workerId ?? null]),
      ).toEqual([
        ["RUN_STATUS", "PENDING", null, null],
        ["STEP_STATUS", "QUEUED", "a", null],
        ["RUN_STATUS", "RUNNING", null, null],
        ["STEP_STATUS", "RUNNING", "a", "w-a"],
        ["STEP_STATUS", "SUCCEEDED", "a", "w-a"],
        ["STEP_STATUS", "QUEUED", "b", null],
        ["STEP_STATUS", "RUNNING", "b", "w-b"],
        ["STEP_STATUS", "FAILED", "b", "w1"],
        ["RUN_STATUS", "FAILED", null, null],
        ["WEBHOOK", null, "b", null],
      ]);
      expect(await forms(store, runId!)).toEqual(["code"]);

      // Back to 0010: the rows take the form the writers before 0012 gave them (text only, no code columns).
      const { error } = await createMigrator(store.db as never).migrateTo("0010_run_trigger");
      expect(error).toBeUndefined();
      expect(await forms(store, runId!)).toEqual(["text"]);
      await sql`insert into run_events (run_id, type, step_id, message) values (${runId}, 'STALE_RESULT', 'a', 'late')`.execute(
        store.db,
      );

      await store.migrate();
      expect(await forms(store, runId!)).toEqual(["text"]);
      const read = await store.getRunHistory(runId!);
      expect(read.slice(0, -1)).toEqual(history);
      expect(read.at(-1)).toMatchObject({ type: "STALE_RESULT", stepId: "a", message: "late" });
      expect(await store.runEventsAfter(runId!, history[2]!.id, 100)).toEqual([...after, read.at(-1)]);
      expect(await store.getRun(runId!)).toEqual(run);

      // New events of the same run are written with codes, beside the old ones.
      const wf2 = workflow(uniqueId("compact-new"), { a: {} });
      const [newRun] = await start(store, wf2, [{}]);
      expect(await forms(store, newRun!)).toEqual(["code"]);
      expect((await store.getRunHistory(newRun!)).map((e) => [e.type, e.runStatus ?? e.stepStatus])).toEqual([
        ["RUN_STATUS", "PENDING"],
        ["STEP_STATUS", "QUEUED"],
      ]);
    } finally {
      await store.close();
      await db.dispose();
    }
  });
});
