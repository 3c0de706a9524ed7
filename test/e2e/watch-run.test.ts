/**
 * WatchRun end to end: a watcher that joins before a 5-step run starts
 * moving sees the snapshot, then every transition of the run and its steps
 * in order (the same events, with the same sequence numbers, as
 * GetRunHistory), ending with the finished run. Over gRPC (HTTP/2) and over
 * the Connect protocol on HTTP/1.1, as browsers use it.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { RunEventType, RunStatus, StepStatus, type RunEvent } from "../../gen/weft/v1/common_pb.js";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { requireRedis } from "../support/redis.js";
import { defineWorkflow, history, trigger, waitForRun, WorkerPool } from "../support/runs.js";
import { e2eBackends, startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

const STEPS = ["a", "b", "c", "d", "e"];

/** Follows the watch to its end; `first` resolves with the first event (the snapshot). */
function watch(client: WeftClient, runId: string) {
  let gotFirst!: (e: RunEvent) => void;
  const first = new Promise<RunEvent>((r) => (gotFirst = r));
  const signal = AbortSignal.timeout(30_000);
  const all = (async () => {
    const events: RunEvent[] = [];
    for await (const { event } of client.runs.watchRun({ runId }, { signal })) {
      if (!event) continue;
      if (events.length === 0) gotFirst(event);
      events.push(event);
    }
    return events;
  })();
  return { first, all };
}

/** A comparable line per event. */
const line = (e: RunEvent) =>
  `${e.sequence} ${RunEventType[e.type]} ${e.stepId} ${e.type === RunEventType.STEP_STATUS ? StepStatus[e.stepStatus] : RunStatus[e.runStatus]} #${e.attempt}`;

describe.each(e2eBackends(hasPostgres, hasRedis, { embedded: false }))("WatchRun on $name", ({ skip, opts }) => {
  let weft: Weft;
  const workers = new WorkerPool();
  const clients: WeftClient[] = [];

  beforeAll(async () => {
    if (!skip) weft = await startWeft(opts);
  });
  afterEach(async () => {
    await workers.stopAll();
    clients.splice(0).forEach((c) => c.close());
  });
  afterAll(async () => {
    await weft?.stop();
  });

  it.skipIf(skip)(
    "delivers every transition of a 5-step run, in order, over gRPC and over Connect on HTTP/1.1",
    { timeout: 60_000 },
    async () => {
      const id = uniqueId("watch");
      await defineWorkflow(weft.client, {
        id,
        steps: STEPS.map((s, i) => ({ id: s, action: `${id}.step`, ...(i > 0 ? { depends_on: [STEPS[i - 1]] } : {}) })),
      });
      const runId = await trigger(weft.client, id, { watched: true });
      const grpc = createWeftClient(weft.url);
      const connect = createWeftClient(weft.url, { protocol: "connect" });
      clients.push(grpc, connect);
      const watches = { grpc: watch(grpc, runId), connect: watch(connect, runId) };

      // Both watchers are in before anything runs: no worker yet.
      for (const w of Object.values(watches)) {
        const snapshot = await w.first;
        expect(snapshot.type).toBe(RunEventType.SNAPSHOT);
        expect(snapshot.run?.status).toBe(RunStatus.PENDING);
      }
      await workers.start(
        { address: weft.url },
        { [`${id}.step`]: async (_input: unknown) => (await new Promise((r) => setTimeout(r, 30)), { ok: true }) },
      );

      const seen = { grpc: await watches.grpc.all, connect: await watches.connect.all };
      const full = await history(weft.client, runId);
      for (const [protocol, events] of Object.entries(seen)) {
        const [snapshot, ...changes] = events;
        // Everything after the snapshot is the history after its position, exactly, in order.
        const after = full.filter((e) => e.sequence > snapshot!.sequence);
        expect(changes.map(line), protocol).toEqual(after.map(line));
        expect(
          changes.map((e) => Number(e.sequence)),
          protocol,
        ).toEqual(changes.map((_, i) => Number(snapshot!.sequence) + i + 1));
        // Every step went RUNNING then SUCCEEDED after the watch began (b–e were also QUEUED then).
        for (const s of STEPS) {
          const path = changes
            .filter((e) => e.type === RunEventType.STEP_STATUS && e.stepId === s)
            .map((e) => StepStatus[e.stepStatus]);
          expect(path, `${protocol} ${s}`).toEqual(
            s === "a" ? ["RUNNING", "SUCCEEDED"] : ["QUEUED", "RUNNING", "SUCCEEDED"],
          );
        }
        const runPath = changes.filter((e) => e.type === RunEventType.RUN_STATUS).map((e) => RunStatus[e.runStatus]);
        expect(runPath, protocol).toEqual(["RUNNING", "SUCCEEDED"]);
        // It ends with the finished run.
        const last = changes[changes.length - 1]!;
        expect(last.type, protocol).toBe(RunEventType.RUN_STATUS);
        expect(last.run?.status, protocol).toBe(RunStatus.SUCCEEDED);
        expect(
          last.run?.steps.map((x) => StepStatus[x.status]),
          protocol,
        ).toEqual(STEPS.map(() => "SUCCEEDED"));
      }
    },
  );

  it.skipIf(skip)(
    "answers a watch of a finished run with its snapshot and ends; an unknown run is NOT_FOUND",
    async () => {
      const id = uniqueId("watch-done");
      await defineWorkflow(weft.client, { id, steps: [{ id: "only", action: `${id}.only` }] });
      await workers.start({ address: weft.url }, { [`${id}.only`]: () => "done" });
      const runId = await trigger(weft.client, id);
      await waitForRun(weft.client, runId);
      for (const client of [weft.client, createWeftClient(weft.url, { protocol: "connect" })]) {
        const events = await watch(client, runId).all;
        expect(events).toHaveLength(1);
        expect(events[0]!.type).toBe(RunEventType.SNAPSHOT);
        expect(events[0]!.run?.status).toBe(RunStatus.SUCCEEDED);
      }
      const missing = await watch(weft.client, "01900000-0000-7000-8000-000000000000").all.then(
        () => undefined,
        (e: unknown) => ConnectError.from(e).code,
      );
      expect(missing).toBe(Code.NotFound);
    },
  );
});
