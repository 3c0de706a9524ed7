/**
 * The `weft` command's answers to a newcomer's mistakes, through real
 * processes: a second server on a port already taken says which port and how
 * to pick another, exits 2, and opens no database on the way.
 */
import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startServerProcess, tempDataDir, type ServerProcess } from "../support/server-process.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** Runs the command to its end; resolves with its exit code and output. */
function runWeft(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ code: number | null; stdout: string; stderr: string; ms: number }> {
  const started = Date.now();
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
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
    const { code, stderr } = await runWeft(["serve", "--port", String(first.port), "--host", "0.0.0.0"], {
      DATABASE_URL: undefined,
      REDIS_URL: undefined,
      WEFT_DATA_DIR: join(tempDataDir(), "never-created"),
    });
    expect(code).toBe(2);
    expect(stderr).toContain(`port ${first.port}`);
  });
});
