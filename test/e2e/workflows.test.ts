/**
 * Workflow CRUD, triggering and run reads through a real server process, on
 * embedded PGlite and on Postgres; data survives a restart of the process.
 */
import type { ConnectError } from "@connectrpc/connect";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus, StepStatus } from "../../gen/weft/v1/common_pb.js";
import { createTestDatabase, requirePostgres } from "../support/db.js";
import { grpcClients, type Clients } from "../support/clients.js";
import { startServerProcess, tempDataDir, type ServerProcess } from "../support/server-process.js";

const hasPostgres = await requirePostgres();

const YAML = `
id: etl
name: Nightly ETL
steps:
  - id: extract
    action: extract
    retry: { max_attempts: 3, initial_interval: 1s }
  - id: transform
    action: transform
    depends_on: [extract]
    when: "input.enabled == true"
    timeout: 5m
  - id: load
    action: load
    depends_on: [transform]
    trigger_rule: ALL_DONE
    input:
      rows: "\${ steps.transform.rows }"
`;

const backends = [
  {
    name: "pglite",
    skip: false,
    env: async () => ({ env: { DATABASE_URL: undefined, WEFT_DATA_DIR: tempDataDir() }, drop: async () => {} }),
  },
  {
    name: "postgres",
    skip: !hasPostgres,
    env: async () => {
      const db = await createTestDatabase();
      return { env: { DATABASE_URL: db.url }, drop: db.drop };
    },
  },
];

describe.each(backends)("workflows and runs on $name", ({ skip, env }) => {
  let server: ServerProcess;
  let c: Clients;
  let serverEnv: Record<string, string | undefined>;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    if (skip) return;
    const e = await env();
    serverEnv = e.env;
    drop = e.drop;
    server = await startServerProcess({ env: serverEnv });
    c = grpcClients(server.url);
  });
  afterAll(async () => {
    await server?.stop();
    await drop?.();
  });

  it.skipIf(skip)("creates versions: same spec returns the version, a new spec makes n+1", async () => {
    const first = await c.workflows.createWorkflow({ source: { case: "yaml", value: YAML } });
    expect(first.created).toBe(true);
    expect(first.workflow?.version).toBe(1);
    expect(first.workflow?.spec?.steps[2]?.dependsOn).toEqual(["transform"]);
    expect(first.workflow?.spec?.steps[1]?.timeout?.seconds).toBe(300n);
    const again = await c.workflows.createWorkflow({ source: { case: "yaml", value: YAML } });
    expect(again.created).toBe(false);
    expect(again.workflow?.version).toBe(1);
    // The same spec sent structurally is the same version too.
    const structured = await c.workflows.createWorkflow({ source: { case: "workflow", value: first.workflow!.spec! } });
    expect(structured.workflow?.version).toBe(1);
    const changed = await c.workflows.createWorkflow({
      source: { case: "yaml", value: YAML.replace("Nightly ETL", "Hourly ETL") },
    });
    expect(changed.created).toBe(true);
    expect(changed.workflow?.version).toBe(2);
    const latest = await c.workflows.getWorkflow({ id: "etl" });
    expect(latest.workflow?.spec?.name).toBe("Hourly ETL");
    expect(latest.versions).toEqual([1, 2]);
    const v1 = await c.workflows.getWorkflow({ id: "etl", version: 1 });
    expect(v1.workflow?.spec?.name).toBe("Nightly ETL");
  });

  it.skipIf(skip)("triggers a run recorded with its steps; runs pin their version", async () => {
    const { runId, created } = await c.workflows.triggerWorkflow({
      workflowId: "etl",
      version: 1,
      input: {
        kind: { case: "structValue", value: { fields: { enabled: { kind: { case: "boolValue", value: true } } } } },
      },
    });
    expect(created).toBe(true);
    const { run } = await c.runs.getRun({ runId });
    expect(run?.workflowVersion).toBe(1);
    expect(run?.status).toBe(RunStatus.PENDING);
    const byId = Object.fromEntries(run!.steps.map((s) => [s.stepId, s.status]));
    expect(byId).toEqual({ extract: StepStatus.QUEUED, transform: StepStatus.PENDING, load: StepStatus.PENDING });
    const latest = await c.workflows.triggerWorkflow({ workflowId: "etl" });
    expect((await c.runs.getRun({ runId: latest.runId })).run?.workflowVersion).toBe(2);
    const history = await c.runs.getRunHistory({ runId });
    expect(history.events.length).toBeGreaterThanOrEqual(2);
    expect(history.events.map((e) => Number(e.sequence))).toEqual(history.events.map((_, i) => i + 1));
  });

  it.skipIf(skip)("gives one run for 20 concurrent triggers with one idempotency key", async () => {
    const results = await Promise.all(
      Array.from({ length: 20 }, () => c.workflows.triggerWorkflow({ workflowId: "etl", idempotencyKey: "once" })),
    );
    const ids = new Set(results.map((r) => r.runId));
    expect(ids.size).toBe(1);
    expect(results.filter((r) => r.created)).toHaveLength(1);
    const all = await c.runs.listRuns({ workflowId: "etl", pageSize: 1000 });
    expect(all.runs.filter((r) => r.idempotencyKey === "once")).toHaveLength(1);
  });

  it.skipIf(skip)("triggers in batches and lists runs newest first with filters and paging", async () => {
    await c.workflows.createWorkflow({
      source: { case: "workflow", value: { id: "batch", steps: [{ id: "only", action: "noop" }] } },
    });
    const { runs } = await c.workflows.triggerWorkflows({
      triggers: Array.from({ length: 25 }, () => ({ workflowId: "batch" })),
    });
    expect(new Set(runs.map((r) => r.runId)).size).toBe(25);
    const seen: string[] = [];
    let pageToken = "";
    do {
      const page = await c.runs.listRuns({ workflowId: "batch", pageSize: 10, pageToken });
      seen.push(...page.runs.map((r) => r.id));
      pageToken = page.nextPageToken;
    } while (pageToken);
    expect(seen).toHaveLength(25);
    expect([...seen].sort().reverse()).toEqual(seen);
    const pending = await c.runs.listRuns({ workflowId: "batch", status: RunStatus.PENDING, pageSize: 100 });
    expect(pending.runs).toHaveLength(25);
    const none = await c.runs.listRuns({ workflowId: "batch", status: RunStatus.SUCCEEDED });
    expect(none.runs).toHaveLength(0);
  });

  it.skipIf(skip)("lists 250 workflows in pages of 100 with no duplicates and no gaps", async () => {
    const ids = Array.from({ length: 250 }, (_, i) => `page-${String(i).padStart(3, "0")}`);
    for (let i = 0; i < ids.length; i += 25) {
      await Promise.all(
        ids.slice(i, i + 25).map((id) =>
          c.workflows.createWorkflow({
            source: { case: "workflow", value: { id, steps: [{ id: "s", action: "noop" }] } },
          }),
        ),
      );
    }
    const seen: string[] = [];
    let pageToken = "";
    let pages = 0;
    do {
      const page = await c.workflows.listWorkflows({ pageSize: 100, pageToken });
      seen.push(...page.workflows.map((w) => w.id));
      pageToken = page.nextPageToken;
      pages++;
    } while (pageToken);
    const listed = seen.filter((id) => id.startsWith("page-"));
    expect(new Set(seen).size).toBe(seen.length);
    expect(listed).toEqual(ids);
    expect(pages).toBeGreaterThanOrEqual(3);
  });

  it.skipIf(skip)("deletes a workflow: gone from reads and triggers, its runs stay", async () => {
    await c.workflows.createWorkflow({
      source: { case: "workflow", value: { id: "doomed", steps: [{ id: "s", action: "noop" }] } },
    });
    const { runId } = await c.workflows.triggerWorkflow({ workflowId: "doomed" });
    await c.workflows.deleteWorkflow({ id: "doomed" });
    const after = [
      () => c.workflows.getWorkflow({ id: "doomed" }),
      () => c.workflows.triggerWorkflow({ workflowId: "doomed" }),
      () => c.workflows.deleteWorkflow({ id: "doomed" }),
    ];
    for (const call of after) {
      expect(((await call().catch((e: unknown) => e)) as ConnectError).code).toBe(Code.NotFound);
    }
    expect((await c.runs.getRun({ runId })).run?.id).toBe(runId);
  });

  it.skipIf(skip)("keeps everything across a restart of the server process", async () => {
    const { runId } = await c.workflows.triggerWorkflow({ workflowId: "etl", idempotencyKey: "before-restart" });
    expect(await server.stop()).toBe(0);
    server = await startServerProcess({ env: serverEnv });
    c = grpcClients(server.url);
    const { run } = await c.runs.getRun({ runId });
    expect(run?.id).toBe(runId);
    expect((await c.workflows.getWorkflow({ id: "etl" })).versions).toEqual([1, 2]);
    const again = await c.workflows.triggerWorkflow({ workflowId: "etl", idempotencyKey: "before-restart" });
    expect(again).toMatchObject({ runId, created: false });
  });
});
