/**
 * The `weft` client commands end to end: the real command as a child
 * process against a real server process, with an SDK worker in this
 * process. Workflows are applied from YAML files, triggered with `--wait`
 * (the progress lines and the exit code for a run that succeeds and one that
 * fails), listed with filters, cancelled, retried; errors print one line and
 * the documented exit code.
 */
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { TaskContext } from "../../sdk/index.js";
import { RunStatus, TaskError } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { runWeft } from "../support/cli.js";
import { requireRedis, redisUrl } from "../support/redis.js";
import { waitForRun, WorkerPool } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();
const hasRedis = await requireRedis();

/** Runs `weft …` against `address`; never rejects. */
const weft = runWeft;

describe.skipIf(!hasPostgres || !hasRedis)("the weft command", () => {
  let server: Weft;
  const workers = new WorkerPool();
  const dir = mkdtempSync(join(tmpdir(), "weft-cli-"));
  const id = uniqueId("cli");
  let failOnce = true;
  let release: (() => void) | undefined;

  beforeAll(async () => {
    server = await startWeft({ redisUrl: redisUrl() });
    writeFileSync(
      join(dir, "a.yaml"),
      `id: ${id}\nsteps:\n  - id: greet\n    action: ${id}.greet\n    input: { name: "\${ input.name }" }\n  - id: shout\n    action: ${id}.shout\n    depends_on: [greet]\n`,
    );
    writeFileSync(
      join(dir, "b.yaml"),
      `id: ${id}-flaky\nsteps:\n  - id: flaky\n    action: ${id}.flaky\n    retry: { max_attempts: 1 }\n`,
    );
    writeFileSync(join(dir, "long.yml"), `id: ${id}-long\nsteps:\n  - id: wait\n    action: ${id}.wait\n`);
    await workers.start(
      { address: server.url, name: "cli-worker", slots: 4 },
      {
        [`${id}.greet`]: ({ name }: { name: string }) => ({ greeting: `Hello, ${name}!` }),
        [`${id}.shout`]: ({ steps }: { steps: { greet: { greeting: string } } }) => steps.greet.greeting.toUpperCase(),
        [`${id}.flaky`]: () => {
          if (failOnce) {
            failOnce = false;
            throw TaskError.nonRetryable("FLAKY", "failed on purpose");
          }
          return "fine now";
        },
        [`${id}.wait`]: (_input: unknown, ctx: TaskContext) =>
          new Promise((_, reject) => {
            release?.();
            ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason as Error), { once: true });
          }),
      },
    );
  }, 90_000);
  afterAll(async () => {
    await workers.stopAll();
    await server?.stop();
  });

  it("applies a folder of YAML files: created, then unchanged", { timeout: 60_000 }, async () => {
    const first = await weft(server.url, ["apply", "-f", dir, "-o", "json"]);
    expect(first.code, first.stderr).toBe(0);
    const rows = JSON.parse(first.stdout) as { id: string; version: number; result: string }[];
    expect(rows.map((r) => [r.id, r.version, r.result])).toEqual([
      [id, 1, "created"],
      [`${id}-flaky`, 1, "created"],
      [`${id}-long`, 1, "created"],
    ]);
    const again = await weft(server.url, ["apply", "-f", join(dir, "a.yaml")]);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(new RegExp(`${id}\\s+1\\s+unchanged`));
    const ls = await weft(server.url, ["workflows", "ls", "-o", "json"]);
    expect((JSON.parse(ls.stdout) as { id: string }[]).map((w) => w.id)).toEqual(
      expect.arrayContaining([id, `${id}-long`]),
    );
    // Global options may come first: `weft --address URL -o json workflows ls` is a client command, not `serve`.
    const flagsFirst = await weft("http://127.0.0.1:9", ["--address", server.url, "-o", "json", "workflows", "ls"]);
    expect(flagsFirst.code, flagsFirst.stderr).toBe(0);
    expect((JSON.parse(flagsFirst.stdout) as { id: string }[]).map((w) => w.id)).toEqual(expect.arrayContaining([id]));
    const get = await weft(server.url, ["workflows", "get", id]);
    expect(get.stdout).toContain(`action: ${id}.shout`);
  });

  it("trigger --wait prints each step's progress and exits 0 when the run succeeds", { timeout: 60_000 }, async () => {
    const r = await weft(server.url, ["trigger", id, "--input", '{"name": "Ada"}', "--wait"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    // Not a terminal: a plain line per change, each step reaching SUCCEEDED with its attempt.
    expect(lines.some((l) => /^greet\s+SUCCEEDED\s+attempt 1/.test(l))).toBe(true);
    expect(lines.some((l) => /^shout\s+SUCCEEDED\s+attempt 1/.test(l))).toBe(true);
    expect(lines.findIndex((l) => /^greet\s+SUCCEEDED/.test(l))).toBeLessThan(
      lines.findIndex((l) => /^shout\s+RUNNING/.test(l)),
    );
    expect(lines.at(-1)).toMatch(/^run \S+ SUCCEEDED/);
  });

  it("trigger --wait exits 1 when the run fails; retry runs the failed step again", { timeout: 60_000 }, async () => {
    const r = await weft(server.url, ["trigger", `${id}-flaky`, "--wait"]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/flaky\s+FAILED\s+attempt 1\s+\S+\s+FLAKY: failed on purpose/);
    const runId = /run (\S+) FAILED/.exec(r.stdout)?.[1];
    expect(runId).toBeDefined();

    const failed = await weft(server.url, [
      "runs",
      "ls",
      "--workflow",
      `${id}-flaky`,
      "--status",
      "failed",
      "-o",
      "json",
    ]);
    expect((JSON.parse(failed.stdout) as { id: string }[]).map((x) => x.id)).toEqual([runId]);
    const none = await weft(server.url, [
      "runs",
      "ls",
      "--workflow",
      `${id}-flaky`,
      "--status",
      "succeeded",
      "-o",
      "json",
    ]);
    expect(JSON.parse(none.stdout)).toEqual([]);

    const retried = await weft(server.url, ["runs", "retry", runId!]);
    expect(retried.code, retried.stderr).toBe(0);
    const watched = await weft(server.url, ["runs", "watch", runId!]);
    expect(watched.code).toBe(0);
    expect(watched.stdout.trim().split("\n").at(-1)).toMatch(/SUCCEEDED/);
    const history = await weft(server.url, ["runs", "history", runId!, "-o", "json"]);
    const finals = (JSON.parse(history.stdout) as { stepId?: string; stepStatus?: string }[])
      .filter(
        (e) =>
          e.stepId === "flaky" && (e.stepStatus === "STEP_STATUS_SUCCEEDED" || e.stepStatus === "STEP_STATUS_FAILED"),
      )
      .map((e) => e.stepStatus);
    expect(finals).toEqual(["STEP_STATUS_FAILED", "STEP_STATUS_SUCCEEDED"]);
  });

  it("cancels a running run, and lists runs newest first within --since and --limit", { timeout: 60_000 }, async () => {
    const started = new Promise<void>((r) => (release = r));
    const t = await weft(server.url, ["trigger", `${id}-long`, "-o", "json"]);
    const { runId } = JSON.parse(t.stdout) as { runId: string };
    await started;
    const c = await weft(server.url, ["runs", "cancel", runId]);
    expect(c.code, c.stderr).toBe(0);
    expect((await waitForRun(server.client, runId)).status).toBe(RunStatus.CANCELLED);
    const ls = await weft(server.url, ["runs", "ls", "--since", "10m", "--limit", "2", "-o", "json"]);
    const listed = JSON.parse(ls.stdout) as { id: string }[];
    expect(listed).toHaveLength(2);
    expect(listed[0]!.id).toBe(runId);
    const table = await weft(server.url, ["runs", "ls", "--workflow", `${id}-long`]);
    expect(table.stdout.split("\n")[0]).toMatch(/^RUN\s+WORKFLOW\s+STATUS\s+CREATED\s+DURATION/);
    expect(table.stdout).toMatch(new RegExp(`${runId}\\s+${id}-long@1\\s+CANCELLED`));
  });

  it(
    "prints one line with the gRPC code and the fields, and the documented exit codes",
    { timeout: 60_000 },
    async () => {
      const missing = await weft(server.url, ["workflows", "get", "no-such-workflow"]);
      expect(missing.code).toBe(3);
      expect(missing.stderr.trim()).toMatch(/^weft: not_found: .*no-such-workflow/);
      expect(missing.stderr.trim().split("\n")).toHaveLength(1);

      writeFileSync(join(dir, "bad.yaml"), "id: bad\nsteps:\n  - id: a\n    action: x\n    depends_on: [nope]\n");
      const bad = await weft(server.url, ["apply", "-f", join(dir, "bad.yaml")]);
      expect(bad.code).toBe(3);
      expect(bad.stderr).toMatch(/^weft: invalid_argument: .*depends_on\[0\]: unknown step "nope"/);

      const json = await weft(server.url, ["trigger", id, "--input", "{name: Ada}"]);
      expect(json.code).toBe(2);
      expect(json.stderr).toMatch(/^weft: --input: not JSON/);

      const usage = await weft(server.url, ["runs", "ls", "--status", "sideways"]);
      expect(usage.code).toBe(2);
      const unknown = await weft(server.url, ["runs", "frobnicate"]);
      expect(unknown.code).toBe(2);

      const down = await weft("http://127.0.0.1:1", ["runs", "ls"]);
      expect(down.code).toBe(4);
      expect(down.stderr).toMatch(/^weft: unavailable: no Weft server answers at http:\/\/127\.0\.0\.1:1/);
    },
  );

  it("lists the connected workers", { timeout: 60_000 }, async () => {
    const ls = await weft(server.url, ["workers", "ls", "--action", `${id}.greet`, "-o", "json"]);
    expect(ls.code, ls.stderr).toBe(0);
    const listed = JSON.parse(ls.stdout) as { name: string; slots: number; actions: string[] }[];
    expect(listed).toHaveLength(1);
    expect(listed[0]).toMatchObject({ name: "cli-worker", slots: 4 });
    expect(listed[0]!.actions).toContain(`${id}.flaky`);
    const table = await weft(server.url, ["workers", "ls"]);
    expect(table.stdout).toMatch(/^WORKER\s+NAME\s+ACTIONS\s+SLOTS/);
    expect(table.stdout).toMatch(/cli-worker\s+\S+\s+\d\/4/);
    const none = await weft(server.url, ["workers", "ls", "--action", "nobody.runs.this", "-o", "json"]);
    expect(JSON.parse(none.stdout)).toEqual([]);
  });

  it("publishes an event, prints help with an example, and completion scripts", { timeout: 60_000 }, async () => {
    const pub = await weft(server.url, ["events", "publish", `${id}.nobody-listens`, "-o", "json"]);
    expect(pub.code).toBe(0);
    expect(JSON.parse(pub.stdout)).toEqual({ runIds: [] });
    const help = await weft(server.url, ["runs", "ls", "--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/Example:\n\s+weft runs ls/);
    const bash = await weft(server.url, ["completion", "bash"]);
    expect(bash.stdout).toContain("complete -o default -F _weft weft");
    expect(bash.stdout).toMatch(/"runs"\) words="[^"]*\bls\b/);
  });
});
