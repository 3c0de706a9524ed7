/**
 * The pure parts of built-ins and triggers: signatures, the delay timer's
 * decisions, event matching with filters, and the output payload limit.
 */
import { describe, expect, it } from "vitest";
import { delay } from "../../src/builtins/delay.js";
import { createEgressClient } from "../../src/builtins/egress-client.js";
import { createEgressPolicy } from "../../src/builtins/egress-policy.js";
import { createBuiltinRegistry } from "../../src/builtins/registry.js";
import { sign, signatureHeaders, verifySignature } from "../../src/builtins/signature.js";
import type { BuiltinContext } from "../../src/builtins/types.js";
import { limitOutput } from "../../src/dispatch/payload-limit.js";
import { matchEvent } from "../../src/engine/event-match.js";
import type { JsonValue, WorkflowDef } from "../../src/engine/model.js";

const ctx = (over: Partial<BuiltinContext> = {}): BuiltinContext => ({
  runId: "r",
  stepId: "s",
  workflowId: "w",
  attempt: 1,
  signal: new AbortController().signal,
  now: new Date("2024-01-01T00:00:00Z"),
  maxOutputBytes: 1_000_000,
  runContext: async () => ({ input: null, steps: {} }),
  signingSecret: async () => "",
  egress: createEgressClient(createEgressPolicy({ allow: [], deny: [], denyInternal: false })),
  ...over,
});

describe("signatures", () => {
  const now = new Date("2024-01-01T00:00:00Z");
  it("verifies its own header, and refuses another secret, another body or an old timestamp", () => {
    const h = signatureHeaders("k", '{"a":1}', now)["x-weft-signature"]!;
    expect(h).toBe(`t=1704067200,v1=${sign("k", 1704067200, '{"a":1}')}`);
    expect(verifySignature("k", '{"a":1}', h, now)).toBe(true);
    expect(verifySignature("other", '{"a":1}', h, now)).toBe(false);
    expect(verifySignature("k", '{"a":2}', h, now)).toBe(false);
    expect(verifySignature("k", '{"a":1}', h, new Date(now.getTime() + 301_000))).toBe(false);
    expect(verifySignature("k", '{"a":1}', undefined, now)).toBe(false);
    expect(verifySignature("k", '{"a":1}', "t=x,v1=zz", now)).toBe(false);
  });
});

describe("delay", () => {
  it("sets a durable timer first, sleeps again if woken early, completes once due", async () => {
    expect(await delay.run({ duration: "1h" }, ctx())).toEqual({
      kind: "sleep",
      until: new Date("2024-01-01T01:00:00Z"),
    });
    const due = new Date("2024-01-01T01:00:00Z");
    expect(await delay.run({ duration: "1h" }, ctx({ timerAt: due, now: new Date("2024-01-01T00:59:00Z") }))).toEqual({
      kind: "sleep",
      until: due,
    });
    expect(await delay.run({ duration: "1h" }, ctx({ timerAt: due, now: new Date("2024-01-01T01:00:01Z") }))).toEqual({
      kind: "output",
      output: { waited_ms: 3_600_000, until: due.toISOString() },
    });
  });
  it("refuses a missing or negative duration without retry", async () => {
    for (const input of [{}, { duration: "-1s" }, { duration: "soon" }, null] as JsonValue[]) {
      expect(await delay.run(input, ctx())).toMatchObject({
        kind: "error",
        error: { type: "INVALID_INPUT", retryable: false },
      });
    }
  });
  it("is registered with the other built-ins", () => {
    expect(createBuiltinRegistry().names()).toEqual(["delay", "http.request", "transform", "webhook"]);
  });
});

describe("matchEvent", () => {
  const def = (on: WorkflowDef["on"]) => ({ on }) as WorkflowDef;
  it("matches plain event names, and filtered triggers whose filter is true", () => {
    expect(matchEvent(def({ events: ["a"], schedules: [] }), "a", {})).toEqual({ match: true });
    expect(matchEvent(def({ events: ["a"], schedules: [] }), "b", {})).toEqual({ match: false });
    const filtered = def({ events: [], schedules: [], eventTriggers: [{ name: "a", filter: "payload.n > 1" }] });
    expect(matchEvent(filtered, "a", { n: 2 })).toEqual({ match: true });
    expect(matchEvent(filtered, "a", { n: 1 })).toEqual({ match: false });
    expect(matchEvent(def({ events: [], schedules: [], eventTriggers: [{ name: "a" }] }), "a", null)).toEqual({
      match: true,
    });
  });
  it("does not match when the filter fails or is not a boolean, and says why", () => {
    const bad = def({ events: [], schedules: [], eventTriggers: [{ name: "a", filter: "payload.missing.deeper" }] });
    expect(matchEvent(bad, "a", {})).toMatchObject({ match: false, problem: expect.any(String) });
    const notBool = def({ events: [], schedules: [], eventTriggers: [{ name: "a", filter: "payload.n" }] });
    expect(matchEvent(notBool, "a", { n: 3 }).problem).toContain("not a boolean");
  });
});

describe("limitOutput", () => {
  const runId = "0193c0de-0000-7000-8000-000000000001";
  it("turns an oversized output into a non-retryable failure naming run and step", () => {
    const outcome = {
      taskId: `${runId}/make`,
      leaseToken: 1n,
      outcome: { kind: "output" as const, output: "x".repeat(100) },
    };
    expect(limitOutput(outcome, 1000)).toBe(outcome);
    expect(limitOutput(outcome, 50).outcome).toMatchObject({
      kind: "error",
      error: {
        type: "PAYLOAD_TOO_LARGE",
        retryable: false,
        message: expect.stringContaining(`run ${runId} step make: output is 102 bytes`),
      },
    });
  });
});
