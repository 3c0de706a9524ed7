/**
 * Retention and `PurgeRuns` over the wire, against a real server process
 * with `--auth keys`, `--retention 2s` and a retention pass every 300 ms, on
 * a fresh Postgres database and the shared Redis:
 *
 * - the startup log states the retention;
 * - runs of a workflow without its own retention disappear about 2 s after
 *   they finish (GetRun: NOT_FOUND), and `weft_purged_*` count them under
 *   `retention`; a workflow with `retention: 1h` keeps its runs;
 * - `PurgeRuns`: admin only; refuses unfinished statuses and a missing
 *   `finished_before`; a dry run counts; a purge by workflow and status
 *   deletes exactly those runs and, repeated, nothing; another namespace's
 *   runs are out of its reach; the metrics count it under `request`;
 * - `weft runs purge`: without `--yes` it counts and exits 2; with it, it
 *   deletes and says what.
 */
import { randomBytes } from "node:crypto";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Role } from "../../gen/weft/v1/admin_service_pb.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { jsonToValue } from "../../sdk/index.js";
import { authClients, type AuthClients } from "../support/auth-clients.js";
import { runWeft } from "../support/cli.js";
import { scrapeMetrics } from "../support/metrics.js";
import { sleep } from "../support/runs.js";
import { stackAvailable, startStack, type Stack } from "../support/stack.js";

const available = await stackAvailable();
const ADMIN_KEY = randomBytes(32).toString("hex");
/** Runs `weft …` as the admin; never rejects. */
const weft = (address: string, args: string[]) => runWeft(address, args, { WEFT_API_KEY: ADMIN_KEY });
const FINISHED = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT]);

/** A workflow of one `transform` step (a built-in: no worker needed); `fail` makes it fail. */
const yaml = (id: string, extra = "", fail = false) =>
  `id: ${id}\n${extra}steps:\n  - id: t\n    action: transform\n    retry: { max_attempts: 1 }\n    input: { expression: "${fail ? "input.missing.field" : "input.n * 2"}" }\n`;

/** The gRPC code a call failed with, or "ok". */
async function codeOf(call: () => Promise<unknown>): Promise<string> {
  try {
    await call();
    return "ok";
  } catch (err) {
    return Code[ConnectError.from(err).code];
  }
}

describe.skipIf(!available)("retention and PurgeRuns", () => {
  let stack: Stack;
  let admin: AuthClients;
  const opened: AuthClients[] = [];

  const start = async (c: AuthClients, workflowId: string, n: number): Promise<string[]> => {
    const ids: string[] = [];
    for (let i = 0; i < n; i++)
      ids.push((await c.workflows.triggerWorkflow({ workflowId, input: jsonToValue({ n: i }) })).runId);
    return ids;
  };
  const finished = async (c: AuthClients, ids: string[]): Promise<void> => {
    for (const runId of ids) {
      for (let tries = 0; ; tries++) {
        const { run } = await c.runs.getRun({ runId });
        if (run && FINISHED.has(run.status)) break;
        if (tries > 400) throw new Error(`run ${runId} did not finish`);
        await sleep(25);
      }
    }
  };
  const exists = async (c: AuthClients, runId: string): Promise<boolean> =>
    (await codeOf(() => c.runs.getRun({ runId }))) === "ok";

  beforeAll(async () => {
    stack = await startStack({
      env: { WEFT_AUTH: "keys", WEFT_ADMIN_KEY: ADMIN_KEY, WEFT_RETENTION: "2s", WEFT_RETENTION_INTERVAL_MS: "300" },
    });
    admin = authClients(stack.url, { apiKey: ADMIN_KEY });
    opened.push(admin);
  }, 60_000);

  afterAll(async () => {
    for (const c of opened) c.close();
    await stack?.stop();
  });

  it("states the retention at start, deletes runs past it, and keeps a workflow's longer one", async () => {
    const line = stack.servers[0]!.logs.map((l) => JSON.parse(l) as { msg: string; retention?: string }).find((l) =>
      l.msg.startsWith("retention:"),
    );
    expect(line?.retention).toBe("2s");

    const before = await scrapeMetrics(stack.url);
    await admin.workflows.createWorkflow({ source: { case: "yaml", value: yaml("short-lived") } });
    await admin.workflows.createWorkflow({ source: { case: "yaml", value: yaml("kept", "retention: 1h\n") } });
    const short = await start(admin, "short-lived", 5);
    const kept = await start(admin, "kept", 3);
    await finished(admin, [...short, ...kept]);

    const until = Date.now() + 15_000;
    while ((await Promise.all(short.map((id) => exists(admin, id)))).some(Boolean)) {
      if (Date.now() > until) throw new Error("runs past the retention were not deleted");
      await sleep(100);
    }
    for (const id of kept) expect(await exists(admin, id), id).toBe(true);
    const after = await scrapeMetrics(stack.url);
    const delta = (name: string, labels: Record<string, string>) =>
      after.value(name, labels) - before.value(name, labels);
    expect(delta("weft_purged_runs_total", { reason: "retention" })).toBe(5);
    expect(delta("weft_purged_rows_total", { table: "step_runs", reason: "retention" })).toBe(5);
    expect(delta("weft_purged_rows_total", { table: "run_events", reason: "retention" })).toBeGreaterThanOrEqual(5 * 4);
    expect(delta("weft_purged_bytes_total", { reason: "retention" })).toBeGreaterThan(0);
  }, 40_000);

  it("purges by request: admin only, finished statuses, dry run, by workflow and status, once", async () => {
    await admin.workflows.createWorkflow({ source: { case: "yaml", value: yaml("purged", "retention: 1h\n") } });
    await admin.workflows.createWorkflow({
      source: { case: "yaml", value: yaml("purged-bad", "retention: 1h\n", true) },
    });
    const good = await start(admin, "purged", 4);
    const bad = await start(admin, "purged-bad", 3);
    await finished(admin, [...good, ...bad]);
    const finishedBefore = timestampFromMs(Date.now() + 1000);

    const operator = await admin.admin.createApiKey({ name: "ops", role: Role.OPERATOR, namespaces: ["default"] });
    const ops = authClients(stack.url, { apiKey: operator.secret });
    opened.push(ops);
    expect(await codeOf(() => ops.runs.purgeRuns({ finishedBefore }))).toBe("PermissionDenied");
    expect(await codeOf(() => admin.runs.purgeRuns({}))).toBe("InvalidArgument");
    expect(await codeOf(() => admin.runs.purgeRuns({ finishedBefore, statuses: [RunStatus.RUNNING] }))).toBe(
      "InvalidArgument",
    );

    const dry = await admin.runs.purgeRuns({ finishedBefore, workflowId: "purged-bad", dryRun: true });
    expect(Number(dry.runs)).toBe(3);
    for (const id of bad) expect(await exists(admin, id)).toBe(true);

    // Failed runs only: `purged` has none, `purged-bad` all of its.
    const failedOnly = await admin.runs.purgeRuns({ finishedBefore, statuses: [RunStatus.FAILED] });
    expect({ runs: Number(failedOnly.runs), steps: Number(failedOnly.steps) }).toEqual({ runs: 3, steps: 3 });
    expect(Number(failedOnly.events)).toBeGreaterThanOrEqual(3 * 4);
    expect(Number(failedOnly.bytes)).toBeGreaterThan(0);
    for (const id of bad) expect(await exists(admin, id)).toBe(false);
    for (const id of good) expect(await exists(admin, id)).toBe(true);
    expect(Number((await admin.runs.purgeRuns({ finishedBefore, statuses: [RunStatus.FAILED] })).runs)).toBe(0);

    // Another namespace reaches none of `default`'s runs.
    const elsewhere = authClients(stack.url, { apiKey: ADMIN_KEY });
    opened.push(elsewhere);
    const other = await elsewhere.runs.purgeRuns({ finishedBefore }, { headers: { "weft-namespace": "team-z" } });
    expect(Number(other.runs)).toBe(0);
    for (const id of good) expect(await exists(admin, id)).toBe(true);

    // A limit, then the rest.
    expect(Number((await admin.runs.purgeRuns({ finishedBefore, workflowId: "purged", limit: 3n })).runs)).toBe(3);
    expect(Number((await admin.runs.purgeRuns({ finishedBefore, workflowId: "purged" })).runs)).toBe(1);
    const metrics = await scrapeMetrics(stack.url);
    expect(metrics.value("weft_purged_runs_total", { reason: "request" })).toBe(7);
  }, 40_000);

  it("weft runs purge counts without --yes and deletes with it", async () => {
    await admin.workflows.createWorkflow({ source: { case: "yaml", value: yaml("by-cli", "retention: 1h\n") } });
    const ids = await start(admin, "by-cli", 3);
    await finished(admin, ids);
    await sleep(50);
    const args = ["runs", "purge", "--older-than", "0s", "--workflow", "by-cli"];
    const counted = await weft(stack.url, args);
    expect(counted.stdout).toContain("3 finished runs would be deleted");
    expect(counted.stdout).toContain("add --yes");
    expect(counted.code).toBe(2);
    for (const id of ids) expect(await exists(admin, id)).toBe(true);

    const bad = await weft(stack.url, ["runs", "purge", "--older-than", "0s", "--status", "running", "--yes"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("--status: finished statuses only");

    const done = await weft(stack.url, [...args, "--yes"]);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(/^deleted 3 runs with 3 steps, \d+ history events and 0 webhook deliveries/);
    for (const id of ids) expect(await exists(admin, id)).toBe(false);
  }, 60_000);
});
