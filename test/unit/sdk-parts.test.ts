/**
 * Small parts of the worker SDK on their own: the stop-signal hook, the wait
 * for a task host to be idle, and the options the link gets.
 */
import { describe, expect, it } from "vitest";
import { waitIdle } from "../../sdk/running-task.js";
import { hookStopSignals } from "../../sdk/stop-signals.js";
import { linkOptions, resolveWorkerOptions } from "../../sdk/worker-options.js";
import { deferred } from "../../sdk/worker-state.js";

describe("hookStopSignals", () => {
  it("stops on the first signal, ends the grace on the next, and unhooks once", () => {
    const before = [process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")];
    const calls: string[] = [];
    let running = true;
    const unhook = hookStopSignals({
      running: () => running,
      stop: () => {
        calls.push("stop");
        running = false;
      },
      endGrace: () => calls.push("endGrace"),
      logger: () => undefined,
    });
    expect([process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
    process.emit("SIGTERM", "SIGTERM");
    process.emit("SIGINT", "SIGINT");
    expect(calls).toEqual(["stop", "endGrace"]);
    unhook();
    unhook();
    expect([process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]).toEqual(before);
  });
});

describe("waitIdle", () => {
  const cases = [
    { name: "a waiter called: idle", act: "idle", want: true },
    { name: "the timeout first: not idle", act: "timeout", want: false },
    { name: "the signal aborts first: not idle", act: "abort", want: false },
  ] as const;
  it.each(cases)("$name", async ({ act, want }) => {
    const waiters = new Set<() => void>();
    const abort = new AbortController();
    const idle = waitIdle(waiters, act === "timeout" ? 5 : 10_000, abort.signal);
    expect(waiters.size).toBe(1);
    if (act === "idle") for (const w of [...waiters]) w();
    if (act === "abort") abort.abort();
    expect(await idle).toBe(want);
    expect(waiters.size).toBe(0);
  });
});

describe("deferred", () => {
  it("settles once: a reject after the resolve changes nothing", async () => {
    const d = deferred();
    d.resolve();
    d.reject(new Error("late"));
    await expect(d.promise).resolves.toBeUndefined();
  });
});

describe("linkOptions", () => {
  it("carries the resolved options and builds each hello with the actions registered by then", () => {
    const o = resolveWorkerOptions({
      address: "127.0.0.1:1",
      name: "w",
      slots: 3,
      labels: { zone: "a" },
      reconnect: { initialDelayMs: 10, maxDelayMs: 40 },
      headers: { authorization: "Bearer x" },
      shareConnection: false,
    });
    const actions = ["a"];
    const link = linkOptions(o, () => [...actions]);
    expect(link).toMatchObject({
      addresses: ["http://127.0.0.1:1"],
      headers: { authorization: "Bearer x" },
      welcomeTimeoutMs: o.welcomeTimeoutMs,
      pingIntervalMs: o.pingIntervalMs,
      shareConnection: false,
    });
    actions.push("b");
    expect(link.hello()).toEqual({
      workerName: "w",
      actions: ["a", "b"],
      slots: 3,
      labels: { zone: "a" },
      acceptsBatches: true,
      acceptsJson: true,
    });
    // The backoff follows `reconnect`: never past its 40 ms cap (the default cap is 5 s).
    for (let i = 0; i < 20; i++) expect(link.backoff.next()).toBeLessThan(40);
  });
});
