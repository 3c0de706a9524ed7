/**
 * Migration 0012 (smaller rows for finished runs), on Postgres and PGlite:
 * - every event type and status has a code, and reads back its name;
 * - rows written before 0012 (text, no codes) and after (codes, no text)
 *   read back identically: history, events after an id, the run;
 * - the migration rewrites no row: old rows keep their text, new ones get codes;
 * - a finished run keeps its input deflated, and GetRun, ListRuns and a
 *   retry's claim give back exactly what the jsonb input gave (keys in
 *   jsonb's order included), before and after a migration down and up.
 */
import { sql } from "kysely";
import { describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../src/engine/model.js";
import type { KyselyStore } from "../../src/store/kysely-store.js";
import { eventName } from "../../src/store/db/event-codes.js";
import { createMigrator } from "../../src/store/migrations/index.js";
import { requirePostgres } from "../support/db.js";
import { backends, claimAll, completeAll, failed, ok, start, uniqueId, workflow } from "../support/execution.js";
import type { JsonValue } from "../../src/engine/model.js";
import { packJson, unpackJson } from "../../src/store/db/packed-json.js";

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

describe.each(backends(hasPostgres))("compact rows ($name)", ({ skip, fresh }) => {
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
      // The reads decode in TypeScript: the same names.
      expect(rows.every((r) => eventName(null, r.code) === r.name)).toBe(true);
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
      // A server's worker id (a UUID, kept as uuid), and ids kept as text: another form, upper case.
      const server = "0190a0b0-0000-7000-8000-0000000000bb";
      const upper = "0190A0B0-0000-7000-8000-0000000000AA";
      await completeAll(
        store,
        (await claimAll(store, [`${wf.id}.a`], upper)).map((t) => ok(t, { a: 1 }, upper)),
      );
      const [b] = await claimAll(store, [`${wf.id}.b`], server);
      const running = await store.getRun(runId!);
      expect(running?.steps.map((s) => s.workerId)).toEqual([upper, server]);
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
        ["STEP_STATUS", "RUNNING", "a", upper],
        ["STEP_STATUS", "SUCCEEDED", "a", upper],
        ["STEP_STATUS", "QUEUED", "b", null],
        ["STEP_STATUS", "RUNNING", "b", server],
        ["STEP_STATUS", "FAILED", "b", "w1"],
        ["RUN_STATUS", "FAILED", null, null],
        ["WEBHOOK", null, "b", null],
      ]);
      expect(await forms(store, runId!)).toEqual(["code"]);
      const kept = await sql<{ t: string | null; u: string | null }>`
        select worker_id as t, worker_uuid::text as u from run_events where run_id = ${runId} and step_id = 'b' and attempt = 1 order by id limit 1`.execute(
        store.db,
      );
      expect(kept.rows).toEqual([{ t: null, u: server }]);

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

  it.skipIf(skip)("a finished run keeps its input deflated and reads back the same", async () => {
    const db = await fresh();
    const store = await db.open();
    try {
      await store.migrate();
      // Keys jsonb orders unlike JavaScript: by byte length, integer-like ones among them, non-ASCII by UTF-8 bytes.
      const input: JsonValue = {
        zz: 1,
        b: [{ y: 1, x: 2 }, "two"],
        a: null,
        "10": true,
        "9": 0.5,
        "\uffff": "last of three bytes",
        "\u{1f600}": "four bytes",
        é: "two bytes",
        note: "words ".repeat(80),
      };
      const wf = workflow(uniqueId("packed"), { a: {}, b: { deps: ["a"], retry: { maxAttempts: 1 } } });
      const [runId] = await start(store, wf, [input]);
      const [a] = await claimAll(store, [`${wf.id}.a`]);
      await completeAll(store, [ok(a!, { a: 1 })]);
      const [b] = await claimAll(store, [`${wf.id}.b`]);
      const live = await store.getRun(runId!);
      await completeAll(store, [failed(b!, "BOOM")]);
      // Packing puts an object's keys in jsonb's order whatever order it was given in.
      const jsonb = await sql<{ v: JsonValue }>`select cast(${JSON.stringify(input)} as jsonb) as v`.execute(store.db);
      const roundTrip = unpackJson(Buffer.from(packJson(input)!, "base64"));
      expect(JSON.stringify(roundTrip)).toBe(JSON.stringify(jsonb.rows[0]?.v));
      expect(JSON.stringify(roundTrip)).not.toBe(JSON.stringify(input));
      const packed = await sql<{ input: unknown; z: boolean }>`
        select input, input_z is not null as z from runs where id = ${runId}`.execute(store.db);
      expect(packed.rows).toEqual([{ input: null, z: true }]);

      const finished = await store.getRun(runId!);
      expect(finished?.status).toBe("FAILED");
      // Same values and the same key order as the jsonb column gave.
      const asText = (run: typeof live) => JSON.stringify([run?.input, run?.steps.map((s) => s.input)]);
      expect(asText(finished)).toBe(asText(live));
      expect(finished?.input).toEqual(input);
      const listed = await store.listRuns({ namespace: "default", workflowId: wf.id, pageSize: 10 });
      expect(JSON.stringify(listed.items[0]?.input)).toBe(JSON.stringify(live?.input));

      // A retry claims b again: its input has the run input put back, as the first claim had it.
      const retried = await store.retryRun(runId!);
      if ("error" in retried) throw new Error(retried.error);
      const [again] = await claimAll(store, [`${wf.id}.b`]);
      expect(JSON.stringify(again?.input)).toBe(JSON.stringify(b?.input));
      await completeAll(store, [failed(again!, "BOOM")]);
      const twice = await store.getRun(runId!);

      // Down to 0010 (the input back in jsonb) and up again: the same run.
      const { error } = await createMigrator(store.db as never).migrateTo("0010_run_trigger");
      expect(error).toBeUndefined();
      const down = await sql<{ input: JsonValue }>`select input from runs where id = ${runId}`.execute(store.db);
      expect(JSON.stringify(down.rows[0]?.input)).toBe(JSON.stringify(live?.input));
      await store.migrate();
      expect(await store.getRun(runId!)).toEqual(twice);
      expect(asText(twice)).toBe(asText(live));
    } finally {
      await store.close();
      await db.dispose();
    }
  });
});
