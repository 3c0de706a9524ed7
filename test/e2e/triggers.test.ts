/**
 * Runs started by events and cron schedules, through real server processes
 * on Postgres and Redis: PublishEvent (listeners, filters, idempotency), a
 * schedule shared by two replicas (one run per tick), and schedules stopping
 * when the workflow is deleted or a new version drops them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
    await stack.createYaml(`id: ev-b\non:\n  event_triggers:\n    - name: order.created\n      filter: "payload.total > 100"\n${step}`);
    await stack.createYaml(`id: ev-c\non:\n  event_triggers:\n    - { name: order.created, filter: "payload.total > 1000" }\n${step}`);
    await stack.createYaml(`id: ev-d\non: { events: [order.deleted] }\n${step}`);
    const payload = jsonToValue({ total: 120, id: "o-1" });
    const { runIds } = await stack.c.workflows.publishEvent({ name: "order.created", payload, idempotencyKey: "o-1" });
    expect(runIds).toHaveLength(2);
    const runs = await Promise.all(runIds.map((id) => stack.waitRun(id)));
    expect(runs.map((r) => r.workflowId).sort()).toEqual(["ev-a", "ev-b"]);
    for (const r of runs) expect(valueToJson(r.input)).toEqual({ total: 120, id: "o-1" });
    expect(valueToJson(runs[0]!.steps[0]!.output)).toEqual({ total: 120, id: "o-1" });

    const again = await stack.c.workflows.publishEvent({ name: "order.created", payload, idempotencyKey: "o-1" });
    expect([...again.runIds].sort()).toEqual([...runIds].sort());
    const none = await stack.c.workflows.publishEvent({ name: "nobody.listens" });
    expect(none.runIds).toEqual([]);
  });
});
