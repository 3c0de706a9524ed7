/**
 * The metrics without a server: bounded label values (names beyond the
 * limit count under `other`, in counters and gauges alike), the cached
 * ready-task load (one query per TTL, never two at once, never waiting on a
 * hung one), attempt outcomes, registries that stay apart, and
 * docs/metrics.md and the Grafana dashboard agreeing with what is served.
 */
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { attemptOutcome } from "../../src/observability/dispatch-metrics.js";
import { cachedLoad } from "../../src/observability/gauges.js";
import { Children, LabelBudget, OTHER } from "../../src/observability/labels.js";
import { createMetrics } from "../../src/observability/metrics.js";
import type { TaskOutcome } from "../../src/store/types.js";
import { parseExposition } from "../support/metrics.js";

/** name{labels} → value, for the samples of one metric. */
async function series(metrics: ReturnType<typeof createMetrics>, name: string): Promise<Record<string, number>> {
  const samples = parseExposition((await metrics.scrape()).body).filter((s) => s.name === name);
  return Object.fromEntries(samples.map((s) => [Object.values(s.labels).join("/"), s.value]));
}

describe("label budget", () => {
  it("admits the first names up to the limit and puts the rest under other", () => {
    const budget = new LabelBudget(2);
    expect(["a", "b", "c", "a", "d"].map((n) => budget.admit(n))).toEqual(["a", "b", OTHER, "a", OTHER]);
  });

  it("creates one child per admitted name and shares the other child beyond the limit", () => {
    const made: string[] = [];
    const children = new Children(new LabelBudget(1), (value) => (made.push(value), { value }));
    expect(children.get("a")).toBe(children.get("a"));
    expect(children.get("b")).toBe(children.get("c"));
    expect(made).toEqual(["a", OTHER]);
  });

  it("bounds workflow and action labels in counters, histograms and gauges", async () => {
    const metrics = createMetrics({ labelLimit: 2, processMetrics: false });
    metrics.store.committed({
      started: ["w1", "w2", "w3", "w4", "w1"],
      finished: [
        { workflowId: "w3", status: "FAILED" },
        { workflowId: "w1", status: "SUCCEEDED" },
      ],
    });
    expect(await series(metrics, "weft_runs_started_total")).toEqual({ w1: 2, w2: 1, other: 2 });
    expect(await series(metrics, "weft_runs_finished_total")).toEqual({ "other/FAILED": 1, "w1/SUCCEEDED": 1 });

    metrics.watch({
      sessions: () => [
        { actions: ["x", "y"], free: 2, closed: false },
        { actions: ["z", "q"], free: 3, closed: false },
        { actions: ["x"], free: 9, closed: true },
      ],
      readyTaskCounts: async () => [
        { action: "x", count: 4 },
        { action: "z", count: 5 },
        { action: "q", count: 6 },
      ],
    });
    expect(await series(metrics, "weft_workers_connected")).toEqual({ x: 1, y: 1, other: 2 });
    expect(await series(metrics, "weft_worker_free_slots")).toEqual({ x: 2, y: 2, other: 6 });
    expect(await series(metrics, "weft_ready_tasks")).toEqual({ x: 4, other: 11 });
  });

  it("keeps each server's metrics on a registry of its own", async () => {
    const one = createMetrics({ processMetrics: false });
    const two = createMetrics({ processMetrics: false });
    one.dispatch.leasesExpired(3);
    expect(await series(one, "weft_leases_expired_total")).toEqual({ "": 3 });
    expect(await series(two, "weft_leases_expired_total")).toEqual({ "": 0 });
  });
});

describe("cachedLoad", () => {
  it("loads once per TTL and shares a load in flight", async () => {
    let loads = 0;
    let release!: (n: number) => void;
    const load = cachedLoad(() => new Promise<number>((r) => (loads++, (release = r))), {
      ttlMs: 60_000,
      waitMs: 5_000,
    });
    const first = load();
    const second = load();
    release(7);
    expect(await Promise.all([first, second])).toEqual([7, 7]);
    expect(await load()).toBe(7);
    expect(loads).toBe(1);
  });

  it("loads again once the TTL has passed", async () => {
    let loads = 0;
    const load = cachedLoad(async () => ++loads, { ttlMs: 0, waitMs: 5_000 });
    expect(await load()).toBe(1);
    expect(await load()).toBe(2);
  });

  it("gives up waiting on a hung load without starting a second one", async () => {
    let loads = 0;
    const load = cachedLoad(() => (loads++, new Promise<number>(() => {})), { ttlMs: 0, waitMs: 10 });
    expect(await load()).toBeUndefined();
    expect(await load()).toBeUndefined();
    expect(loads).toBe(1);
  });

  it("reports a failed load and answers undefined until the TTL passes", async () => {
    const errors: unknown[] = [];
    let loads = 0;
    const load = cachedLoad(() => (loads++, Promise.reject(new Error("down"))), {
      ttlMs: 60_000,
      waitMs: 5_000,
      onError: (err) => errors.push(err),
    });
    expect(await load()).toBeUndefined();
    expect(await load()).toBeUndefined();
    expect(loads).toBe(1);
    expect(errors).toHaveLength(1);
  });
});

describe("attemptOutcome", () => {
  const base = { taskId: "r/s", leaseToken: 1n };
  const error = (type: string, source?: "server"): TaskOutcome => ({
    ...base,
    ...(source ? { source } : {}),
    outcome: { kind: "error", error: { type, message: "m" } },
  });

  it("names how a result ended its attempt", () => {
    expect(attemptOutcome({ ...base, outcome: { kind: "output", output: 1 } })).toBe("succeeded");
    expect(attemptOutcome(error("HTTP_503"))).toBe("failed");
    expect(attemptOutcome(error("TIMEOUT"))).toBe("failed");
    expect(attemptOutcome(error("WORKER_SHUTDOWN"))).toBe("returned");
    expect(attemptOutcome(error("LEASE_LOST", "server"))).toBe("lease_lost");
    expect(attemptOutcome(error("TIMEOUT", "server"))).toBe("timed_out");
  });

  it("leaves out a built-in's sleep and requeue, which hand the attempt back", () => {
    expect(attemptOutcome({ ...base, outcome: { kind: "sleep", until: new Date() } })).toBeUndefined();
    expect(attemptOutcome({ ...base, outcome: { kind: "requeue", reason: "shutdown" } })).toBeUndefined();
  });
});

describe("documentation", () => {
  const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), "utf8");

  it("lists every weft_ metric in docs/metrics.md with its type, and the dashboard uses no other", async () => {
    const served = (await createMetrics({ processMetrics: false }).scrape()).body;
    const types = new Map([...served.matchAll(/^# TYPE (weft_\w+) (\w+)$/gm)].map((m) => [m[1]!, m[2]!]));
    const documented = new Map(
      [...read("docs/metrics.md").matchAll(/^\| `(weft_\w+)` \| (\w+) \|/gm)].map((m) => [m[1]!, m[2]!]),
    );
    expect(types.size).toBeGreaterThan(10);
    expect(Object.fromEntries(documented)).toEqual(Object.fromEntries(types));
    const dashboard = read("docs/grafana-dashboard.json");
    const used = new Set([...dashboard.matchAll(/\b(weft_[a-z_]+?)(?:_bucket|_count|_sum)?\b/g)].map((m) => m[1]!));
    expect([...used].filter((name) => !types.has(name))).toEqual([]);
    expect(used.size).toBeGreaterThan(8);
  });
});
