/**
 * Runs started by events and cron schedules, through real server processes
 * on Postgres and Redis: PublishEvent (listeners, filters, idempotency), a
 * schedule shared by two replicas (one run per tick), and schedules stopping
 * when the workflow is deleted or a new version drops them. Each run says
 * what started it (`Run.trigger`).
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunTrigger } from "../../gen/weft/v1/common_pb.js";
import { jsonToValue, valueToJson } from "../../src/api/convert.js";
import { stackAvailable, startStack, type Stack } from "../support/stack.js";

const available = await stackAvailable();

describe.skipIf(!available)("event and cron triggers", () => {
  let stack: Stack;

  beforeAll(async () => {
    stack = await startStack({ env: { WEFT_SCHEDULE_INTERVAL_MS: "200" } });
  }, 60_000);
  afterAll(async () => {
    await stack?.stop();
  }, 60_000);

  const step = `steps:\n  - id: s\n    action: transform\n    input: { expression: "input" }\n`;

  it("one event starts the two listening workflows; the filter excludes a third; the key dedupes", async () => {
    await stack.createYaml(`id: ev-a\non: { events: [order.created] }\n${step}`);
    await stack.createYaml(
      `id: ev-b\non:\n  event_triggers:\n    - name: order.created\n      filter: "payload.total > 100"\n${step}`,
    );
    await stack.createYaml(
      `id: ev-c\non:\n  event_triggers:\n    - { name: order.created, filter: "payload.total > 1000" }\n${step}`,
    );
    await stack.createYaml(`id: ev-d\non: { events: [order.deleted] }\n${step}`);
    const payload = jsonToValue({ total: 120, id: "o-1" });
    const { runIds } = await stack.c.workflows.publishEvent({ name: "order.created", payload, idempotencyKey: "o-1" });
    expect(runIds).toHaveLength(2);
    const runs = await Promise.all(runIds.map((id) => stack.waitRun(id)));
    expect(runs.map((r) => r.workflowId).sort()).toEqual(["ev-a", "ev-b"]);
    expect(runs.map((r) => r.trigger)).toEqual([RunTrigger.EVENT, RunTrigger.EVENT]);
    for (const r of runs) expect(valueToJson(r.input)).toEqual({ total: 120, id: "o-1" });
    expect(valueToJson(runs[0]!.steps[0]!.output)).toEqual({ total: 120, id: "o-1" });

    const again = await stack.c.workflows.publishEvent({ name: "order.created", payload, idempotencyKey: "o-1" });
    expect([...again.runIds].sort()).toEqual([...runIds].sort());
    const none = await stack.c.workflows.publishEvent({ name: "nobody.listens" });
    expect(none.runIds).toEqual([]);
    // Without a key too: an event is an event, not an API call.
    const unkeyed = await stack.c.workflows.publishEvent({ name: "order.deleted" });
    expect((await stack.waitRun(unkeyed.runIds[0]!)).trigger).toBe(RunTrigger.EVENT);
    const { runId } = await stack.c.workflows.triggerWorkflow({ workflowId: "ev-d" });
    expect((await stack.waitRun(runId)).trigger).toBe(RunTrigger.API);
  });

  const scheduledAt = async (workflowId: string) => {
    const { runs } = await stack.c.runs.listRuns({ workflowId, pageSize: 1000 });
    expect(runs.every((r) => r.trigger === RunTrigger.SCHEDULE)).toBe(true);
    return runs.map((r) => (valueToJson(r.input) as { scheduled_at: string }).scheduled_at).sort();
  };

  it("two replicas, a schedule every second for 6 s: 6 runs (±1), no tick twice; a new version without it stops it", async () => {
    await stack.addReplica();
    const yaml = `id: tick\non: { schedules: ["* * * * * *"] }\n${step}`;
    await stack.createYaml(yaml);
    await new Promise((r) => setTimeout(r, 6_000));
    await stack.createYaml(`id: tick\n${step}`); // version 2 drops the schedule
    const fired = await scheduledAt("tick");
    expect(fired.length).toBeGreaterThanOrEqual(5);
    expect(fired.length).toBeLessThanOrEqual(7);
    expect(new Set(fired).size).toBe(fired.length);
    // Consecutive seconds: no tick skipped in the middle.
    const secs = fired.map((t) => Date.parse(t) / 1000);
    secs.slice(1).forEach((s, i) => expect(s - secs[i]!).toBe(1));
    await new Promise((r) => setTimeout(r, 2_500));
    expect(await scheduledAt("tick")).toEqual(fired);
  }, 30_000);

  it("deleting a workflow stops its schedule", async () => {
    await stack.createYaml(`id: doomed-tick\non: { schedules: ["* * * * * *"] }\n${step}`);
    await new Promise((r) => setTimeout(r, 2_500));
    await stack.c.workflows.deleteWorkflow({ id: "doomed-tick" });
    const atDelete = (await scheduledAt("doomed-tick")).length;
    expect(atDelete).toBeGreaterThanOrEqual(1);
    await new Promise((r) => setTimeout(r, 2_500));
    expect((await scheduledAt("doomed-tick")).length).toBe(atDelete);
  }, 30_000);
});
