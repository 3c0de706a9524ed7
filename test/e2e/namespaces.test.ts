/**
 * Namespaces over the wire (docs/security.md#namespaces), against a real
 * server with `--auth keys` on a fresh Postgres database and the shared
 * Redis. Two teams, `team-a` and `team-b`, each with a developer key and a
 * worker key scoped to its namespace:
 *
 * - the same workflow id in both namespaces, with different specs;
 * - a worker of each namespace serving the SAME action name: every run of
 *   a namespace is served by that namespace's worker, never the other's;
 * - reads of the other namespace's run, history, workflow: NOT_FOUND, as
 *   for an id that does not exist; cancel and retry too; lists show only
 *   the namespace's own;
 * - a key naming a namespace it lacks: PERMISSION_DENIED; a malformed
 *   header: INVALID_ARGUMENT; a key with two namespaces and no header:
 *   PERMISSION_DENIED telling it to name one;
 * - idempotency keys, events, schedules and webhooks stay in their namespace
 *   (a webhook's body says `run.namespace`);
 * - ListWorkers and the audit trail say the namespace.
 */
import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role as PbRole } from "../../gen/weft/v1/admin_service_pb.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { Worker, createWeftClient, jsonToValue, type WeftClient } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { requireRedis } from "../support/redis.js";
import { defineWorkflow, output, trigger, waitForRun } from "../support/runs.js";
import { startHttpStub, type HttpStub } from "../support/http-stub.js";
import { startStack, type Stack } from "../support/stack.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

const ADMIN_KEY = randomBytes(32).toString("hex");

/** "ok", or the gRPC code name and message a call failed with ("PermissionDenied: …"). */
async function denied(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (err) {
    const e = ConnectError.from(err);
    return `${Code[e.code]}: ${e.rawMessage}`;
  }
}

/** The gRPC code name a call failed with, or "ok". */
async function codeOf(call: () => Promise<unknown>): Promise<string> {
  return (await denied(call)).split(":")[0]!;
}

describe.skipIf(!hasPostgres || !hasRedis)("namespaces", () => {
  let stack: Stack;
  let stub: HttpStub;
  let admin: WeftClient;
  const opened: { close(): void }[] = [];
  const workers: Worker[] = [];
  const team = {} as Record<"a" | "b", { dev: WeftClient; devKey: { id: string; secret: string }; workerKey: string }>;
  let both: { id: string; secret: string };

  const client = (apiKey: string, namespace?: string): WeftClient => {
    const c = createWeftClient(stack.url, { apiKey, ...(namespace ? { namespace } : {}) });
    opened.push(c);
    return c;
  };
  const createKey = async (name: string, role: PbRole, namespaces: string[], actionPatterns: string[] = []) => {
    const res = await admin.admin.createApiKey({ name, role, namespaces, actionPatterns });
    return { id: res.key!.id, secret: res.secret, namespaces: res.key!.namespaces };
  };

  beforeAll(async () => {
    stub = await startHttpStub();
    stub.on("/a", (_req, res) => res.json(200, {}));
    stub.on("/b", (_req, res) => res.json(200, {}));
    stack = await startStack({
      env: {
        WEFT_AUTH: "keys",
        WEFT_ADMIN_KEY: ADMIN_KEY,
        WEFT_EGRESS_ALLOW: "127.0.0.1",
        WEFT_LEASE_PREFIX: `weft-ns-${randomBytes(4).toString("hex")}`,
      },
    });
    admin = client(ADMIN_KEY);
    for (const t of ["a", "b"] as const) {
      const dev = await createKey(`ns-dev-${t}`, PbRole.DEVELOPER, [`team-${t}`]);
      expect(dev.namespaces).toEqual([`team-${t}`]);
      const worker = await createKey(`ns-worker-${t}`, PbRole.WORKER, [`team-${t}`], ["ns.*"]);
      team[t] = { dev: client(dev.secret), devKey: dev, workerKey: worker.secret };
    }
    both = await createKey("ns-dev-ab", PbRole.DEVELOPER, ["team-a", "team-b"]);
    for (const t of ["a", "b"] as const) {
      // The same id in both namespaces; B's has a second step, so the specs differ.
      await defineWorkflow(team[t].dev, {
        id: "ns-flow",
        on: { events: ["ns.ping"] },
        steps: [
          { id: "echo", action: "ns.echo", input: { n: "${ input.n }" } },
          ...(t === "b" ? [{ id: "again", action: "ns.echo", dependsOn: ["echo"], input: { n: 0 } }] : []),
        ],
      });
      // One worker per namespace, both serving ns.echo: each stamps its namespace on the output.
      const w = new Worker({
        address: stack.url,
        name: `ns-worker-${t}`,
        headers: { authorization: `Bearer ${team[t].workerKey}` },
        logger: () => {},
        reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
        drainGraceMs: 500,
        ackWaitMs: 1000,
      });
      w.register("ns.echo", (input: { n: number }) => ({ served: `team-${t}`, n: input.n }));
      workers.push(w);
      await w.start();
    }
    await defineWorkflow(team.a.dev, { id: "ns-only-a", steps: [{ id: "s", action: "ns.echo" }] });
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    for (const c of opened) c.close();
    await stack?.stop();
    await stub?.close();
  });

  it("keeps the same workflow id apart: each namespace reads its own spec", async () => {
    const a = await team.a.dev.workflows.getWorkflow({ id: "ns-flow" });
    const b = await team.b.dev.workflows.getWorkflow({ id: "ns-flow" });
    expect([a.workflow?.namespace, a.workflow?.version, a.workflow?.spec?.steps.length]).toEqual(["team-a", 1, 1]);
    expect([b.workflow?.namespace, b.workflow?.version, b.workflow?.spec?.steps.length]).toEqual(["team-b", 1, 2]);
  });

  it("gives each namespace's tasks only to its own worker, for the same action name", async () => {
    const ids = { a: [] as string[], b: [] as string[] };
    for (let n = 1; n <= 10; n++) {
      for (const t of ["a", "b"] as const) ids[t].push(await trigger(team[t].dev, "ns-flow", { n }));
    }
    for (const t of ["a", "b"] as const) {
      const runs = await Promise.all(ids[t].map((id) => waitForRun(team[t].dev, id)));
      for (const [i, run] of runs.entries()) {
        expect(run.status).toBe(RunStatus.SUCCEEDED);
        expect(run.namespace).toBe(`team-${t}`);
        expect(output(run, "echo")).toEqual({ served: `team-${t}`, n: i + 1 });
        if (t === "b") expect(output(run, "again")).toEqual({ served: "team-b", n: 0 });
      }
    }
  });

  it("answers NOT_FOUND for the other namespace's runs and workflows, as for ids that do not exist", async () => {
    const runA = await trigger(team.a.dev, "ns-only-a", {});
    await waitForRun(team.a.dev, runA);
    const b = team.b.dev;
    const calls: Record<string, () => Promise<unknown>> = {
      GetRun: () => b.runs.getRun({ runId: runA }),
      GetRunHistory: () => b.runs.getRunHistory({ runId: runA }),
      CancelRun: () => b.runs.cancelRun({ runId: runA }),
      RetryRun: () => b.runs.retryRun({ runId: runA }),
      WatchRun: async () => {
        for await (const _ of b.runs.watchRun({ runId: runA })) return;
      },
      GetWorkflow: () => b.workflows.getWorkflow({ id: "ns-only-a" }),
      DeleteWorkflow: () => b.workflows.deleteWorkflow({ id: "ns-only-a" }),
      TriggerWorkflow: () => b.workflows.triggerWorkflow({ workflowId: "ns-only-a" }),
    };
    for (const [name, call] of Object.entries(calls))
      expect(`${name}: ${await codeOf(call)}`).toBe(`${name}: NotFound`);
    // Still there for its own namespace, and untouched by B's delete.
    expect((await team.a.dev.workflows.getWorkflow({ id: "ns-only-a" })).workflow?.id).toBe("ns-only-a");
    const { runs: listedByB } = await b.runs.listRuns({ pageSize: 1000 });
    expect(listedByB.length).toBeGreaterThan(0);
    expect(listedByB.every((r) => r.namespace === "team-b")).toBe(true);
    expect(listedByB.map((r) => r.id)).not.toContain(runA);
    const { workflows } = await b.workflows.listWorkflows({});
    expect(workflows.map((w) => `${w.namespace}/${w.id}`)).toEqual(["team-b/ns-flow"]);
  });

  it("refuses a namespace the key lacks, a malformed one, and a two-namespace key that names none", async () => {
    const aInB = client(team.a.devKey.secret, "team-b");
    const lacks = `PermissionDenied: API key ${team.a.devKey.id} may not act in namespace "team-b" (its namespaces: "team-a")`;
    expect(await denied(() => aInB.workflows.triggerWorkflow({ workflowId: "ns-flow" }))).toBe(lacks);
    expect(await denied(() => aInB.runs.listRuns({}))).toBe(lacks);
    // A worker key cannot take another namespace's tasks by naming it.
    const stray = new Worker({
      address: stack.url,
      name: "ns-stray",
      namespace: "team-b",
      headers: { authorization: `Bearer ${team.a.workerKey}` },
      logger: () => {},
    });
    stray.register("ns.echo", () => ({ served: "stray" }));
    expect(await codeOf(() => stray.start())).toBe("PermissionDenied");
    await stray.stop();

    const malformed = client(team.a.devKey.secret, "Team A");
    expect(await denied(() => malformed.runs.listRuns({}))).toMatch(
      /^InvalidArgument: weft-namespace: namespace "Team A" must be/,
    );

    const noHeader = client(both.secret);
    expect(await denied(() => noHeader.runs.listRuns({}))).toBe(
      `PermissionDenied: API key ${both.id} may not act in namespace "default" (its namespaces: "team-a", "team-b"); name one with the weft-namespace header`,
    );
    const inB = client(both.secret, "team-b");
    const { runs } = await inB.runs.listRuns({ pageSize: 5 });
    expect(runs.length).toBeGreaterThan(0);
    expect(runs.every((r) => r.namespace === "team-b")).toBe(true);
  });

  it("keeps idempotency keys and events per namespace", async () => {
    const first = await team.a.dev.workflows.triggerWorkflow({ workflowId: "ns-flow", idempotencyKey: "same" });
    const second = await team.b.dev.workflows.triggerWorkflow({ workflowId: "ns-flow", idempotencyKey: "same" });
    expect(first.created && second.created).toBe(true);
    expect(first.runId).not.toBe(second.runId);
    const again = await team.a.dev.workflows.triggerWorkflow({ workflowId: "ns-flow", idempotencyKey: "same" });
    expect(again).toMatchObject({ runId: first.runId, created: false });

    const { runIds } = await team.a.dev.workflows.publishEvent({ name: "ns.ping", payload: jsonToValue({ n: 7 }) });
    expect(runIds).toHaveLength(1);
    const run = await waitForRun(team.a.dev, runIds[0]!);
    expect([run.namespace, run.workflowId]).toEqual(["team-a", "ns-flow"]);
    expect(await codeOf(() => team.b.dev.runs.getRun({ runId: runIds[0]! }))).toBe("NotFound");
  });

  it("lists each namespace's workers, and records the namespace in the audit trail", async () => {
    const inA = client(ADMIN_KEY, "team-a");
    const { workers: listed } = await inA.workers.listWorkers({});
    expect(listed.map((w) => `${w.namespace}/${w.name}`)).toEqual(["team-a/ns-worker-a"]);
    const { events } = await admin.admin.listAuditEvents({ procedure: "TriggerWorkflow", pageSize: 1000 });
    const served = events.filter((e) => e.outcome === "ok");
    expect(new Set(served.map((e) => e.namespace))).toEqual(new Set(["team-a", "team-b"]));
    // Refused before a namespace was chosen (a namespace the key lacks): recorded without one.
    expect(events.filter((e) => e.outcome === "permission_denied").map((e) => e.namespace)).toEqual([""]);
  });

  it("fires schedules and sends webhooks within the namespace", async () => {
    // The same id in both; only A's ticks every second, and each calls back on its own path.
    const tick = (t: "a" | "b") => ({
      id: "ns-tick",
      ...(t === "a" ? { on: { schedules: ["* * * * * *"] } } : {}),
      webhooks: { onComplete: [`${stub.url}/${t}`] },
      steps: [{ id: "s", action: "transform", input: { expression: "1" } }],
    });
    for (const t of ["a", "b"] as const) await defineWorkflow(team[t].dev, tick(t));
    const manual = await waitForRun(team.b.dev, await trigger(team.b.dev, "ns-tick"));
    expect(manual.status).toBe(RunStatus.SUCCEEDED);
    const end = Date.now() + 10_000;
    while ((stub.to("/a").length < 2 || stub.to("/b").length < 1) && Date.now() < end) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await team.a.dev.workflows.deleteWorkflow({ id: "ns-tick" });

    const { runs: inB } = await team.b.dev.runs.listRuns({ workflowId: "ns-tick", pageSize: 100 });
    expect(inB.map((r) => r.id)).toEqual([manual.id]); // A's ticks never became B's runs
    const { runs: inA } = await team.a.dev.runs.listRuns({ workflowId: "ns-tick", pageSize: 100 });
    expect(inA.length).toBeGreaterThanOrEqual(2);
    const bodies = (path: string) =>
      stub.to(path).map((r) => (JSON.parse(r.body) as { run: { id: string; namespace: string } }).run);
    expect(bodies("/b")).toEqual([expect.objectContaining({ id: manual.id, namespace: "team-b" })]);
    const fromA = bodies("/a");
    expect(fromA.length).toBeGreaterThanOrEqual(2);
    expect(fromA.every((run) => run.namespace === "team-a" && inA.some((r) => r.id === run.id))).toBe(true);
  });
});
