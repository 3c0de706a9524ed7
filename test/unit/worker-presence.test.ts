/**
 * The worker presence over an in-process registry: an opened stream is
 * listed at once, the timer rewrites slots in use and the last message, an
 * ended stream goes at once, a failing registry is retried at the next
 * refresh (and logged once at warn), writes never overtake one another, and
 * close removes what is still listed.
 */
import { afterEach, describe, expect, it } from "vitest";
import { WorkerSession, type Inflight } from "../../src/dispatch/session.js";
import { createWorkerPresence, registryRefreshMs, type WorkerPresence } from "../../src/dispatch/worker-presence.js";
import type { Logger } from "../../src/log.js";
import { createMemoryRegistry, type WorkerEntry, type WorkerRegistry } from "../../src/registry/index.js";

const replica = { id: "host:1:abcdef", address: "http://host:8080" };

/** A registry that can be made to fail or to hold its writes, recording the calls it gets. */
function testRegistry() {
  const inner = createMemoryRegistry();
  const state = { down: false, hold: undefined as Promise<void> | undefined, calls: [] as string[] };
  const gate = async (what: string) => {
    state.calls.push(what);
    if (state.hold) await state.hold;
    if (state.down) throw new Error("registry down");
  };
  const registry: WorkerRegistry = {
    put: async (workers, ttlMs) => (
      await gate(`put ${workers.map((w) => w.name).join(",")}`),
      inner.put(workers, ttlMs)
    ),
    remove: async (ids) => (await gate("remove"), inner.remove(ids)),
    list: (q) => inner.list(q),
    close: () => inner.close(),
  };
  return { registry, state };
}

function testLogger() {
  const lines: { level: string; msg: string }[] = [];
  const at = (level: string) => (_obj: unknown, msg?: string) => lines.push({ level, msg: msg ?? String(_obj) });
  return { logger: { warn: at("warn"), debug: at("debug"), info: at("info") } as unknown as Logger, lines };
}

/** Polls `read` until `test` holds; fails with the last value after 5 s. */
async function eventually<T>(read: () => Promise<T>, test: (v: T) => boolean): Promise<T> {
  const end = Date.now() + 5_000;
  for (;;) {
    const v = await read();
    if (test(v)) return v;
    if (Date.now() > end) throw new Error(`condition not met; last value: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const session = (name: string) => new WorkerSession(`id-${name}`, name, ["a", "b"], 3, { zone: "eu" }, "default");
const listed = async (registry: WorkerRegistry): Promise<WorkerEntry[]> =>
  (await registry.list({ limit: 100 })).workers;

describe("worker presence", () => {
  let presence: WorkerPresence | undefined;
  afterEach(async () => {
    await presence?.close();
    presence = undefined;
  });

  it("derives the refresh period from the lease time, within bounds", () => {
    expect(registryRefreshMs(5_000)).toBe(2_500);
    expect(registryRefreshMs(1_500)).toBe(750);
    expect(registryRefreshMs(100)).toBe(250);
    expect(registryRefreshMs(600_000)).toBe(5_000);
  });

  it("lists a stream when it opens and drops it when it ends, without waiting for a refresh", async () => {
    const { registry } = testRegistry();
    presence = createWorkerPresence({
      registry,
      replica: () => replica,
      refreshMs: 60_000,
      logger: testLogger().logger,
    });
    const s = session("one");
    presence.attached(s);
    const [e] = await eventually(
      () => listed(registry),
      (l) => l.length === 1,
    );
    expect(e).toEqual({
      workerId: "id-one",
      name: "one",
      actions: ["a", "b"],
      slots: 3,
      slotsInUse: 0,
      labels: { zone: "eu" },
      replicaId: replica.id,
      replicaAddress: replica.address,
      connectedAt: s.connectedAt,
      lastSeenAt: s.heardAt,
      reportedAt: expect.any(Number) as number,
      namespace: "default",
    });
    presence.detached(s);
    await eventually(
      () => listed(registry),
      (l) => l.length === 0,
    );
  });

  it("rewrites slots in use and the last message at each refresh", async () => {
    const { registry } = testRegistry();
    presence = createWorkerPresence({ registry, replica: () => replica, refreshMs: 30, logger: testLogger().logger });
    const s = session("busy");
    presence.attached(s);
    await eventually(
      () => listed(registry),
      (l) => l[0]?.slotsInUse === 0,
    );
    s.inflight.set("t1", {} as Inflight);
    s.inflight.set("t2", {} as Inflight);
    s.heardAt += 1_000;
    const [e] = await eventually(
      () => listed(registry),
      (l) => l[0]?.slotsInUse === 2,
    );
    expect(e!.lastSeenAt).toBe(s.heardAt);
    s.inflight.clear();
    await eventually(
      () => listed(registry),
      (l) => l[0]?.slotsInUse === 0,
    );
  });

  it("retries failed writes at the next refresh, warning once and noting the recovery", async () => {
    const { registry, state } = testRegistry();
    const { logger, lines } = testLogger();
    presence = createWorkerPresence({ registry, replica: () => replica, refreshMs: 30, logger });
    const gone = session("gone");
    presence.attached(gone);
    await eventually(
      () => listed(registry),
      (l) => l.length === 1,
    );
    state.down = true;
    const s = session("late");
    presence.attached(s);
    presence.detached(gone);
    await eventually(
      async () => lines.filter((l) => l.level === "debug").length,
      (n) => n >= 2,
    );
    expect(lines.filter((l) => l.level === "warn")).toHaveLength(1);
    expect((await listed(registry)).map((e) => e.name)).toEqual(["gone"]);
    state.down = false;
    await eventually(
      async () => (await listed(registry)).map((e) => e.name),
      (names) => names.length === 1 && names[0] === "late",
    );
    expect(lines.filter((l) => l.level === "info")).toHaveLength(1);
  });

  it("sends one write at a time, in order: a removal never lands before an older write of the entry", async () => {
    const { registry, state } = testRegistry();
    presence = createWorkerPresence({
      registry,
      replica: () => replica,
      refreshMs: 60_000,
      logger: testLogger().logger,
    });
    let release!: () => void;
    state.hold = new Promise<void>((r) => (release = r));
    const s = session("quick");
    presence.attached(s);
    presence.detached(s);
    await new Promise((r) => setTimeout(r, 50));
    expect(state.calls).toEqual(["put quick"]); // the removal waits for the put in flight
    state.hold = undefined;
    release();
    await eventually(
      async () => state.calls.length,
      (n) => n === 2,
    );
    expect(state.calls).toEqual(["put quick", "remove"]);
    expect(await listed(registry)).toEqual([]);
  });

  it("removes the entries of streams still open when it closes", async () => {
    const { registry } = testRegistry();
    const p = createWorkerPresence({
      registry,
      replica: () => replica,
      refreshMs: 60_000,
      logger: testLogger().logger,
    });
    p.attached(session("x"));
    p.attached(session("y"));
    await eventually(
      () => listed(registry),
      (l) => l.length === 2,
    );
    await p.close();
    expect(await listed(registry)).toEqual([]);
    p.attached(session("z")); // closed: ignored
    await new Promise((r) => setTimeout(r, 20));
    expect(await listed(registry)).toEqual([]);
  });
});
