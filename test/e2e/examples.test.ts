/**
 * Every TypeScript example under examples/ against a real server process on
 * Postgres and Redis: its YAML is created, its worker (the module's
 * `register`) runs in this process, and its runs end as the example's
 * comments promise.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { example as cicd } from "../../examples/cicd.worker.js";
import { example as conditional } from "../../examples/conditional.worker.js";
import { example as etl } from "../../examples/etl.worker.js";
import { createExampleWorkflow, type Example } from "../../examples/example.js";
import { example as hello } from "../../examples/hello.worker.js";
import { example as orders } from "../../examples/orders.worker.js";
import {
  RunStatus,
  StepStatus,
  Worker,
  createWeftClient,
  triggerAndWait,
  valueToJson,
  type Run,
  type WeftClient,
} from "../../sdk/index.js";
import { createTestDatabase, requirePostgres, type TestDatabase } from "../support/db.js";
import { redisUrl, requireRedis } from "../support/redis.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();
const EXAMPLES: Record<string, Example> = { hello, etl, orders, cicd, conditional };

interface StepView {
  status: string;
  attempts: number;
  output?: unknown;
  error?: { type: string; message: string };
}

function steps(run: Run): Record<string, StepView> {
  return Object.fromEntries(
    run.steps.map((s) => {
      const view: StepView = { status: StepStatus[s.status], attempts: s.attempts };
      if (s.output) view.output = valueToJson(s.output);
      if (s.error) view.error = { type: s.error.type, message: s.error.message };
      return [s.stepId, view];
    }),
  );
}

const output = (run: Run): unknown => (run.output ? valueToJson(run.output) : undefined);
const ROOT = resolve(import.meta.dirname, "../..");

/** `npx tsx <args>` as the README runs it (node with the tsx loader), against `address`. */
function tsx(args: string[], address: string) {
  const child = spawn(process.execPath, ["--import", "tsx", ...args], {
    cwd: ROOT,
    env: { ...process.env, WEFT_ADDRESS: address },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  createInterface({ input: child.stdout }).on("line", (l) => lines.push(l));
  createInterface({ input: child.stderr }).on("line", (l) => lines.push(l));
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const waitForLine = async (re: RegExp, timeoutMs = 30_000): Promise<void> => {
    const end = Date.now() + timeoutMs;
    while (!lines.some((l) => re.test(l))) {
      if (Date.now() > end || child.exitCode !== null) throw new Error(`no line matching ${re}:\n${lines.join("\n")}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, lines, exited, waitForLine };
}

describe.skipIf(!hasPostgres || !hasRedis)("the examples", () => {
  let db: TestDatabase;
  let server: ServerProcess;
  let weft: WeftClient;
  const workers: Worker[] = [];

  const runExample = (ex: Example, input: unknown = ex.sampleInput): Promise<Run> =>
    triggerAndWait(weft, ex.workflowId, input, { timeoutMs: 60_000 });

  beforeAll(async () => {
    db = await createTestDatabase();
    server = await startServerProcess({ env: { DATABASE_URL: db.url, REDIS_URL: redisUrl() } });
    weft = createWeftClient(server.url);
    for (const ex of Object.values(EXAMPLES)) await createExampleWorkflow(weft, ex);
    for (const [name, ex] of Object.entries(EXAMPLES)) {
      const worker = ex.register(new Worker({ address: server.url, name: `${name}-e2e`, slots: 4 }));
      workers.push(worker);
      await worker.start();
    }
  }, 120_000);

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    weft?.close();
    await server?.stop();
    await db?.drop();
  });

  it("has a worker module for every examples/*.yaml, and the server accepts each workflow", async () => {
    const dir = resolve(import.meta.dirname, "../../examples");
    const yamls = readdirSync(dir)
      .filter((f) => f.endsWith(".yaml"))
      .sort();
    expect(yamls).toEqual(
      Object.values(EXAMPLES)
        .map((ex) => ex.yamlFile.slice(dir.length + 1))
        .sort(),
    );
    for (const ex of Object.values(EXAMPLES)) {
      // Created in beforeAll; creating it again finds the same version.
      expect(await createExampleWorkflow(weft, ex)).toBe(1);
      expect((await weft.workflows.getWorkflow({ id: ex.workflowId })).versions).toEqual([1]);
    }
  });

  it("hello: greet → shout", async () => {
    const run = await runExample(hello);
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    expect(steps(run)).toEqual({
      greet: { status: "SUCCEEDED", attempts: 1, output: { greeting: "Hello, Ada!" } },
      shout: { status: "SUCCEEDED", attempts: 1, output: { text: "HELLO, ADA!" } },
    });
    expect(output(run)).toEqual({ shout: { text: "HELLO, ADA!" } });
  });

  it("etl: three transforms run at the same time on their shards, load merges them", async () => {
    const run = await runExample(etl);
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    const s = steps(run);
    expect(s.transform_a?.output).toEqual({
      shard: "a",
      rows: 3,
      usd_cents: 6600,
      by_region: { apac: 5500, emea: 1100 },
    });
    expect(s.transform_b?.output).toEqual({ shard: "b", rows: 2, usd_cents: 4000, by_region: { amer: 4000 } });
    expect(s.transform_c?.output).toEqual({ shard: "c", rows: 2, usd_cents: 3200, by_region: { emea: 3200 } });
    expect(output(run)).toEqual({
      load: {
        table: "daily_sales",
        rows_loaded: 7,
        usd_cents: 13800,
        by_region: { amer: 4000, apac: 5500, emea: 4300 },
        shards: ["a", "b", "c"],
      },
    });
    // Fan-out: every transform started before any of them ended (each takes 300 ms).
    const transforms = run.steps.filter((x) => x.stepId.startsWith("transform_"));
    const lastStart = Math.max(...transforms.map((x) => timestampMs(x.startTime!)));
    const firstEnd = Math.min(...transforms.map((x) => timestampMs(x.endTime!)));
    expect(lastStart).toBeLessThan(firstEnd);
    // Fan-in: load started after the last transform ended.
    const load = run.steps.find((x) => x.stepId === "load")!;
    expect(timestampMs(load.startTime!)).toBeGreaterThanOrEqual(
      Math.max(...transforms.map((x) => timestampMs(x.endTime!))),
    );
  });

  it("orders: the charge times out twice and succeeds on its third attempt; the failure handler is skipped", async () => {
    const run = await runExample(orders);
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    expect(steps(run)).toMatchObject({
      validate: { status: "SUCCEEDED", attempts: 1, output: { total_cents: 3250, lines: 2 } },
      reserve: { status: "SUCCEEDED", attempts: 1, output: { reservation: "rsv-o-1001", units: 3 } },
      charge: { status: "SUCCEEDED", attempts: 3, output: { payment: "pay-o-1001", amount_cents: 3250, attempt: 3 } },
      ship: { status: "SUCCEEDED", attempts: 1, output: { tracking: "TRK-O-1001", reservation: "rsv-o-1001" } },
      on_failure: { status: "SKIPPED" },
    });
    expect(output(run)).toEqual({
      order_id: "o-1001",
      charged_cents: 3250,
      charge_attempts: 3,
      tracking: "TRK-O-1001",
    });
    // Each retry waited out its backoff: 0.5 s after the first failure, 1 s after the second (plus up to 20 % jitter).
    const history = await weft.runs.getRunHistory({ runId: run.id });
    const charge = history.events.filter((e) => e.stepId === "charge");
    const failedAt = charge.filter((e) => e.error?.type === "GATEWAY_TIMEOUT").map((e) => timestampMs(e.time!));
    const startedAt = charge.filter((e) => e.stepStatus === StepStatus.RUNNING).map((e) => timestampMs(e.time!));
    expect(failedAt).toHaveLength(2);
    expect(startedAt).toHaveLength(3);
    expect(startedAt[1]! - failedAt[0]!).toBeGreaterThanOrEqual(475);
    expect(startedAt[2]! - failedAt[1]!).toBeGreaterThanOrEqual(950);
  });

  it("orders: a declined card fails at once (non_retryable_errors) and the ANY_FAILED handler releases the stock", async () => {
    const run = await runExample(orders, {
      order_id: "o-1002",
      customer: "bob@example.com",
      card: "tok_declined",
      items: [{ sku: "mug", qty: 1, price_cents: 1200 }],
    });
    expect(RunStatus[run.status]).toBe("FAILED");
    expect(run.error).toMatchObject({
      type: "CARD_DECLINED",
      message: "step charge failed: card declined for order o-1002",
    });
    expect(steps(run)).toMatchObject({
      charge: { status: "FAILED", attempts: 1, error: { type: "CARD_DECLINED" } },
      ship: { status: "SKIPPED" },
      on_failure: {
        status: "SUCCEEDED",
        attempts: 1,
        output: { order_id: "o-1002", failed_step: "charge", released: "rsv-o-1002", notified: "bob@example.com" },
      },
    });
  });

  it("cicd: checkout → build → test → deploy, each step fed the outputs before it", async () => {
    const run = await runExample(cicd);
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    const commit = createHash("sha1").update("github.com/acme/shop@main").digest("hex");
    const version = `1.4.0+${commit.slice(0, 7)}`;
    const artifact = `app-${commit.slice(0, 7)}.tgz`;
    expect(steps(run)).toMatchObject({
      checkout: { status: "SUCCEEDED", output: { commit } },
      build: { status: "SUCCEEDED", output: { version, artifact } },
      test: { status: "SUCCEEDED", output: { artifact, passed: 3 } },
      deploy: {
        status: "SUCCEEDED",
        output: { artifact, environment: "staging", url: `https://staging.example.com/releases/${version}` },
      },
    });
    expect(output(run)).toEqual({ version, url: `https://staging.example.com/releases/${version}`, tests_passed: 3 });
  });

  it("cicd: a failing suite stops the chain before deploy", async () => {
    const run = await runExample(cicd, {
      repo: "github.com/acme/shop",
      ref: "wip",
      suites: ["unit", "broken-e2e"],
      environment: "staging",
    });
    expect(RunStatus[run.status]).toBe("FAILED");
    expect(steps(run)).toMatchObject({
      build: { status: "SUCCEEDED" },
      test: { status: "FAILED", attempts: 1, error: { type: "TESTS_FAILED" } },
      deploy: { status: "SKIPPED" },
    });
  });

  it("conditional: clean rows are published and announced, quarantine is skipped, cleanup removes the folder", async () => {
    const run = await runExample(conditional);
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    const s = steps(run);
    const workspace = (s.fetch?.output as { workspace: string }).workspace;
    expect(s).toMatchObject({
      validate: { status: "SUCCEEDED", output: { valid: 2, invalid: 0 } },
      publish: { status: "SUCCEEDED", output: { location: "s3://acme-contacts/2026-12-01/contacts.json" } },
      announce: {
        status: "SUCCEEDED",
        output: { message: "2 contacts published to s3://acme-contacts/2026-12-01/contacts.json" },
      },
      quarantine: { status: "SKIPPED" },
      cleanup: { status: "SUCCEEDED", output: { removed: workspace } },
    });
    expect(output(run)).toEqual({ published: true, quarantined: false, removed: workspace });
    expect(existsSync(workspace)).toBe(false);
  });

  it("conditional: bad rows are quarantined, publish is skipped and announce with it, cleanup still runs", async () => {
    const run = await runExample(conditional, {
      source: "crm-export",
      target: "s3://acme-contacts/x",
      rows: [
        { id: 1, email: "ada@example.com" },
        { id: 2, email: "not-an-email" },
      ],
    });
    expect(RunStatus[run.status]).toBe("SUCCEEDED");
    const s = steps(run);
    const workspace = (s.fetch?.output as { workspace: string }).workspace;
    expect(s).toMatchObject({
      validate: { status: "SUCCEEDED", output: { valid: 1, invalid: 1, bad_rows: [2] } },
      publish: { status: "SKIPPED" },
      announce: { status: "SKIPPED" },
      quarantine: { status: "SUCCEEDED", output: { ticket: "DQ-2", rows: [2] } },
      cleanup: { status: "SUCCEEDED", output: { removed: workspace } },
    });
    expect(output(run)).toEqual({ published: false, quarantined: true, removed: workspace });
    expect(existsSync(workspace)).toBe(false);
  });

  it("conditional: when fetch fails, everything after it is skipped but cleanup (ALL_DONE) runs", async () => {
    const run = await runExample(conditional, { source: "missing", target: "s3://acme-contacts/x", rows: [] });
    expect(RunStatus[run.status]).toBe("FAILED");
    expect(run.error?.type).toBe("SOURCE_NOT_FOUND");
    expect(steps(run)).toMatchObject({
      fetch: { status: "FAILED", attempts: 1, error: { type: "SOURCE_NOT_FOUND" } },
      validate: { status: "SKIPPED" },
      publish: { status: "SKIPPED" },
      announce: { status: "SKIPPED" },
      quarantine: { status: "SKIPPED" },
      cleanup: { status: "SUCCEEDED", attempts: 1, output: { removed: null } },
    });
  });

  it("README: `npx tsx examples/run.ts orders` runs one demo run and exits 0", async () => {
    const p = tsx(["examples/run.ts", "orders"], server.url);
    expect(await p.exited, p.lines.join("\n")).toBe(0);
    expect(p.lines.join("\n")).toMatch(/run \S+: SUCCEEDED in/);
    expect(p.lines.find((l) => l.trim().startsWith("charge"))).toMatch(/SUCCEEDED\s+attempts 3/);
  });

  it("README: `npx tsx examples/hello.worker.ts` serves until SIGINT, then exits 0", async () => {
    const p = tsx(["examples/hello.worker.ts"], server.url);
    await p.waitForLine(/worker connected/);
    // The in-process hello worker stops first, so this run can only go to the standalone one.
    await workers[0]!.stop();
    const run = await triggerAndWait(weft, "hello", { name: "Grace" }, { timeoutMs: 30_000 });
    expect(output(run)).toEqual({ shout: { text: "HELLO, GRACE!" } });
    expect(p.lines.some((l) => l.includes(`run ${run.id}: shout started`))).toBe(true);
    p.child.kill("SIGINT");
    expect(await p.exited).toBe(0);
  });
});
