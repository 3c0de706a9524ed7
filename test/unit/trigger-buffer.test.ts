import { describe, expect, it } from "vitest";
import { createTriggerBuffer } from "../../src/dispatch/trigger-buffer.js";
import type { TriggerInput, TriggerResult } from "../../src/store/types.js";

const input = (n: number): TriggerInput => ({ namespace: "default", workflowId: "wf", input: { n } });
const ok = (i: TriggerInput): TriggerResult => ({
  ok: true,
  runId: `run-${(i.input as { n: number }).n}`,
  created: true,
});

/** A fake store call that stays open until released, and records every batch it was given. */
function gatedStore() {
  const batches: number[][] = [];
  const gates: (() => void)[] = [];
  const trigger = async (inputs: TriggerInput[]): Promise<TriggerResult[]> => {
    batches.push(inputs.map((i) => (i.input as { n: number }).n));
    await new Promise<void>((r) => gates.push(r));
    return inputs.map(ok);
  };
  return { batches, trigger, releaseAll: () => gates.splice(0).forEach((g) => g()) };
}

describe("trigger buffer", () => {
  it("starts a call at once when idle, and batches the calls that queue behind busy transactions", async () => {
    const store = gatedStore();
    const buffer = createTriggerBuffer({ trigger: store.trigger, maxBatch: 100, concurrency: 1 });
    const first = buffer.submit([input(1)]);
    await Promise.resolve();
    expect(store.batches).toEqual([[1]]);
    const rest = [buffer.submit([input(2)]), buffer.submit([input(3), input(4)]), buffer.submit([input(5)])];
    await new Promise((r) => setImmediate(r));
    expect(store.batches).toEqual([[1]]); // nothing else until the first commits
    store.releaseAll();
    expect(await first).toEqual([ok(input(1))]);
    await new Promise((r) => setImmediate(r));
    expect(store.batches).toEqual([[1], [2, 3, 4, 5]]);
    store.releaseAll();
    const results = await Promise.all(rest);
    expect(results).toEqual([[ok(input(2))], [ok(input(3)), ok(input(4))], [ok(input(5))]]);
  });

  it("never splits a call and keeps batches under maxBatch", async () => {
    const store = gatedStore();
    const buffer = createTriggerBuffer({ trigger: store.trigger, maxBatch: 3, concurrency: 1 });
    const all = [
      buffer.submit([input(1)]),
      buffer.submit([input(2), input(3)]),
      buffer.submit([input(4), input(5)]),
      buffer.submit([input(6), input(7), input(8), input(9)]),
    ];
    for (let i = 0; i < 4; i++) {
      await new Promise((r) => setImmediate(r));
      store.releaseAll();
    }
    await Promise.all(all);
    // Calls of one turn share the first flush: [1] and [2, 3] fit in 3 rows, [4, 5] would not.
    expect(store.batches).toEqual([
      [1, 2, 3],
      [4, 5],
      [6, 7, 8, 9],
    ]);
  });

  it("retries a batch refused for its data caller by caller, so one bad input fails only its call", async () => {
    const calls: number[][] = [];
    let hold: (() => void) | undefined;
    const buffer = createTriggerBuffer({
      maxBatch: 100,
      concurrency: 1,
      trigger: async (inputs) => {
        const ns = inputs.map((i) => (i.input as { n: number }).n);
        calls.push(ns);
        if (ns[0] === 0) await new Promise<void>((r) => (hold = r));
        if (ns.includes(13)) throw Object.assign(new Error("invalid byte sequence"), { code: "22P05" });
        return inputs.map(ok);
      },
    });
    const busy = buffer.submit([input(0)]);
    await Promise.resolve();
    const good = buffer.submit([input(1)]);
    const bad = buffer.submit([input(13)]);
    hold!();
    await busy;
    expect(await good).toEqual([ok(input(1))]);
    await expect(bad).rejects.toThrow("invalid byte sequence");
    expect(calls).toEqual([[0], [1, 13], [1], [13]]);
  });

  it("gives any other failure to every caller of the batch, without retrying", async () => {
    const calls: number[][] = [];
    let hold: (() => void) | undefined;
    const buffer = createTriggerBuffer({
      maxBatch: 100,
      concurrency: 1,
      trigger: async (inputs) => {
        const ns = inputs.map((i) => (i.input as { n: number }).n);
        calls.push(ns);
        if (ns[0] === 0) {
          await new Promise<void>((r) => (hold = r));
          return inputs.map(ok);
        }
        throw new Error("connection terminated");
      },
    });
    const busy = buffer.submit([input(0)]);
    await Promise.resolve();
    const a = buffer.submit([input(1)]);
    const b = buffer.submit([input(2)]);
    hold!();
    await busy;
    await expect(a).rejects.toThrow("connection terminated");
    await expect(b).rejects.toThrow("connection terminated");
    expect(calls).toEqual([[0], [1, 2]]);
  });
});
