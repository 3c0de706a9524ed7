/**
 * DAG execution through a real server process with SDK workers: data passing
 * along a diamond (default input and `${ CEL }` templates), branches running
 * at the same time, `when` skips that propagate, and the trigger rules
 * (`ANY_FAILED` handlers, `ALL_DONE` cleanups). On Postgres + Redis and on the
 * embedded backend.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { TaskError, valueToJson } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis } from "../support/redis.js";
import { defineWorkflow, describeRun, statuses, step, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { e2eBackends, START_EMBEDDED_MS, startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

/** Resolves when `promise` does, or rejects after `ms` (so a missing overlap fails instead of hanging). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([
    promise,
    new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms),
    ),
  ]);
}

describe.each(e2eBackends(hasPostgres, hasRedis))("DAG execution on $name", ({ skip, opts }) => {
  let weft: Weft;
  const workers = new WorkerPool();

  beforeAll(async () => {
    if (!skip) weft = await startWeft(opts);
  }, START_EMBEDDED_MS + 10_000);
  afterEach(() => workers.stopAll());
  afterAll(async () => {
    await weft?.stop();
  });

  it.skipIf(skip)("passes data along a diamond, and runs its two branches at the same time", async () => {
    const id = uniqueId("diamond");
    const received: Record<string, unknown> = {};
    const started: Record<string, number> = {};
    const ended: Record<string, number> = {};
    let leftStarted!: () => void;
    let rightStarted!: () => void;
    const left = new Promise<void>((r) => (leftStarted = r));
    const right = new Promise<void>((r) => (rightStarted = r));
    const record = (name: string, input: unknown) => {
      received[name] = input;
      started[name] = Date.now();
    };
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "a", action: `${id}.a` },
        { id: "b", action: `${id}.b`, depends_on: ["a"] },
        {
          id: "c",
          action: `${id}.c`,
          depends_on: ["a"],
          input: {
            label: "c of ${ input.name }",
            n: "${ steps.a.n * 10.0 }",
            tags: ["${ steps.a.word }", "fixed"],
            run: "${ run.workflow_id }",
          },
        },
        { id: "d", action: `${id}.d`, depends_on: ["b", "c"] },
      ],
      output: "{'sum': steps.d.sum, 'from_b': steps.b.out}",
    });
    await workers.start(
      { address: weft.url, slots: 4 },
      {
        [`${id}.a`]: (input: unknown) => {
          record("a", input);
          return { n: 3, word: "three" };
        },
        [`${id}.b`]: async (input: unknown) => {
          record("b", input);
          leftStarted();
          await within(right, 10_000, "the right branch starting while the left one runs");
          ended.b = Date.now();
          return { out: "from-b" };
        },
        [`${id}.c`]: async (input: { n: number }) => {
          record("c", input);
          rightStarted();
          await within(left, 10_000, "the left branch starting while the right one runs");
          ended.c = Date.now();
          return { n: input.n + 1 };
        },
        [`${id}.d`]: (input: { steps: { c: { n: number } } }) => {
          record("d", input);
          return { sum: input.steps.c.n };
        },
      },
    );

    const runId = await trigger(weft.client, id, { name: "diamond", x: 2 });
    const run = await waitForRun(weft.client, runId);
    expect(run.status, describeRun(run)).toBe(RunStatus.SUCCEEDED);

    expect(received.a).toEqual({ input: { name: "diamond", x: 2 }, steps: {} });
    expect(received.b).toEqual({ input: { name: "diamond", x: 2 }, steps: { a: { n: 3, word: "three" } } });
    expect(received.c).toEqual({ label: "c of diamond", n: 30, tags: ["three", "fixed"], run: id });
    // The fan-in sees its direct dependencies only.
    expect(received.d).toEqual({ input: { name: "diamond", x: 2 }, steps: { b: { out: "from-b" }, c: { n: 31 } } });

    // Both branches were running at once.
    expect(started.b!).toBeLessThanOrEqual(ended.c!);
    expect(started.c!).toBeLessThanOrEqual(ended.b!);
    expect(started.d!).toBeGreaterThanOrEqual(Math.max(ended.b!, ended.c!));

    expect(valueToJson(run.output)).toEqual({ sum: 31, from_b: "from-b" });
    expect(step(run, "d").attempts).toBe(1);
    // GetRun says what each step got: the default inputs with the run input put back, the rendered template.
    for (const name of ["a", "b", "c", "d"]) expect(valueToJson(step(run, name).input), name).toEqual(received[name]);
  });

  it.skipIf(skip)("skips on a false `when`, propagates skips, and honours ANY_FAILED and ALL_DONE", async () => {
    const id = uniqueId("rules");
    const ran: string[] = [];
    const inputs: Record<string, unknown> = {};
    const handler = (name: string, result: unknown) => (input: unknown) => {
      ran.push(name);
      inputs[name] = input;
      if (result instanceof Error) throw result;
      return result;
    };
    await defineWorkflow(weft.client, {
      id,
      steps: [
        { id: "check", action: `${id}.check` },
        // false → SKIPPED, and its dependents under ALL_SUCCEEDED are skipped too
        { id: "gated", action: `${id}.gated`, depends_on: ["check"], when: "steps.check.go == true" },
        { id: "after_gated", action: `${id}.after_gated`, depends_on: ["gated"] },
        // true → runs
        { id: "wanted", action: `${id}.wanted`, depends_on: ["check"], when: "input.flag && steps.check.go == false" },
        { id: "explode", action: `${id}.explode`, depends_on: ["check"] },
        { id: "after_explode", action: `${id}.after_explode`, depends_on: ["explode"] },
        { id: "on_failure", action: `${id}.on_failure`, depends_on: ["explode"], trigger_rule: "ANY_FAILED" },
        { id: "not_on_failure", action: `${id}.not_on_failure`, depends_on: ["wanted"], trigger_rule: "ANY_FAILED" },
        {
          id: "cleanup",
          action: `${id}.cleanup`,
          depends_on: ["after_gated", "after_explode", "on_failure", "wanted"],
          trigger_rule: "ALL_DONE",
        },
      ],
    });
    await workers.start(
      { address: weft.url, slots: 4 },
      {
        [`${id}.check`]: handler("check", { go: false }),
        [`${id}.gated`]: handler("gated", "must not run"),
        [`${id}.after_gated`]: handler("after_gated", "must not run"),
        [`${id}.wanted`]: handler("wanted", { wanted: true }),
        [`${id}.explode`]: handler("explode", TaskError.nonRetryable("BOOM", "exploded on purpose")),
        [`${id}.after_explode`]: handler("after_explode", "must not run"),
        [`${id}.on_failure`]: handler("on_failure", { handled: true }),
        [`${id}.not_on_failure`]: handler("not_on_failure", "must not run"),
        [`${id}.cleanup`]: handler("cleanup", { cleaned: true }),
      },
    );

    const runId = await trigger(weft.client, id, { flag: true });
    const run = await waitForRun(weft.client, runId);
    expect(statuses(run)).toEqual({
      check: "SUCCEEDED",
      gated: "SKIPPED",
      after_gated: "SKIPPED",
      wanted: "SUCCEEDED",
      explode: "FAILED",
      after_explode: "SKIPPED",
      on_failure: "SUCCEEDED",
      not_on_failure: "SKIPPED",
      cleanup: "SUCCEEDED",
    });
    expect(ran.sort()).toEqual(["check", "cleanup", "explode", "on_failure", "wanted"]);
    expect(step(run, "explode").error?.type).toBe("BOOM");
    expect(step(run, "gated").attempts).toBe(0);
    // A step failed for good: the run fails, though its handler and cleanup ran.
    expect(run.status).toBe(RunStatus.FAILED);
    // The cleanup's default input holds the outputs its succeeded dependencies had.
    expect((inputs.cleanup as { steps: Record<string, unknown> }).steps).toMatchObject({
      on_failure: { handled: true },
      wanted: { wanted: true },
    });
  });
});
