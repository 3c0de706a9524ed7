/**
 * The commands' answers to a newcomer's mistakes, through real processes: a
 * second `weft` server on a port already taken says which port and how to
 * pick another, exits 2, and opens no database on the way; `examples/run.ts`
 * given input that is not JSON says so in one line with valid input to copy.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, tempDataDir, type ServerProcess } from "../support/server-process.js";

const ROOT = resolve(import.meta.dirname, "../..");
const runWeft = (args: string[], env: Record<string, string | undefined>) => runScript("src/cli/main.ts", args, env);

/** Runs a TypeScript script to its end; resolves with its exit code and output. */
function runScript(
  script: string,
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  return new Promise((res) => child.once("exit", (code) => res({ code, stdout, stderr, ms: Date.now() - started })));
}

describe("weft serve on a port already taken", () => {
  let first: ServerProcess;

  beforeAll(async () => {
    first = await startServerProcess({ env: { DATABASE_URL: undefined, REDIS_URL: undefined } });
  });
  afterAll(async () => {
    await first?.stop();
  });

  it("says which port is taken and how to pick another, exits 2, and never opens the database", async () => {
    const dataDir = join(tempDataDir(), "never-created");
    const { code, stdout, stderr } = await runWeft(["serve", "--port", String(first.port), "--host", "127.0.0.1"], {
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      WEFT_DATA_DIR: dataDir,
      LOG_LEVEL: "info",
    });
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${first.port}`);
    expect(lines[0]).toContain("--port");
    expect(lines[0]).toContain("PORT=");
    expect(stderr).not.toContain("EADDRINUSE");
    expect(stdout).not.toMatch(/using Postgres|using embedded PGlite/);
    expect(existsSync(dataDir)).toBe(false);
  });

  it("says the same when the other server listens on every interface", async () => {
    // 0.0.0.0 overlaps 127.0.0.1: the kernel refuses the second bind too.
    const { code, stderr } = await runWeft(
      ["serve", "--port", String(first.port), "--host", "0.0.0.0", "--auth", "none"],
      {
        DATABASE_URL: undefined,
        REDIS_URL: undefined,
        WEFT_DATA_DIR: join(tempDataDir(), "never-created"),
      },
    );
    expect(code).toBe(2);
    expect(stderr).toContain(`port ${first.port}`);
  });
});

describe("examples/run.ts", () => {
  it("given input that is not JSON, says so in one line with valid input to copy, and exits 2", async () => {
    // Nothing listens there: the input is checked before anything is called.
    const { code, stdout, stderr } = await runScript("examples/run.ts", ["hello", "{name: Ada}"], {
      WEFT_ADDRESS: "http://127.0.0.1:9",
    });
    expect(code).toBe(2);
    const lines = stderr.trim().split("\n");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain("not JSON");
    expect(lines[0]).toContain("{name: Ada}");
    expect(lines[0]).toContain(`'{"name":"Ada"}'`);
    expect(stderr).not.toMatch(/SyntaxError|at JSON\.parse/);
    expect(stdout).toBe("");
  });
});
