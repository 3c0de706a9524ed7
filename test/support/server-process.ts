/**
 * Starts the real `weft` command as a child process for end-to-end tests.
 *
 * @example
 *   const server = await startServerProcess({ env: { DATABASE_URL: url } });
 *   const transport = createGrpcTransport({ baseUrl: server.url });
 *   await server.stop(); // SIGTERM, waits for exit
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";

export interface ServerProcess {
  port: number;
  url: string;
  child: ChildProcess;
  /** Every log line printed so far (JSON strings). */
  logs: string[];
  /** The lines of those printed on stderr (what is not the JSON log). */
  stderr: string[];
  /** SIGTERM and wait for exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
}

const ROOT = resolve(import.meta.dirname, "../..");

/** A fresh PGlite data folder. */
export function tempDataDir(): string {
  return mkdtempSync(join(tmpdir(), "weft-data-"));
}

export async function startServerProcess(
  opts: {
    env?: Record<string, string | undefined>;
    args?: string[];
    timeoutMs?: number;
    /** The address to listen on (default 127.0.0.1); the returned `url` stays on 127.0.0.1. */
    host?: string;
  } = {},
): Promise<ServerProcess> {
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "info", ...opts.env };
  for (const [k, v] of Object.entries(opts.env ?? {})) if (v === undefined) delete env[k];
  if (!env.DATABASE_URL && !env.WEFT_DATA_DIR) env.WEFT_DATA_DIR = tempDataDir();
  const child = spawn(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "serve",
      "--port",
      "0",
      "--host",
      opts.host ?? "127.0.0.1",
      ...(opts.args ?? []),
    ],
    {
      cwd: ROOT,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const logs: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(
      () => rej(new Error(`server did not start in time:\n${logs.join("\n")}`)),
      opts.timeoutMs ?? 60_000,
    );
    createInterface({ input: child.stdout! }).on("line", (line) => {
      logs.push(line);
      try {
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === "weft listening" && entry.port) {
          clearTimeout(timer);
          res(entry.port);
        }
      } catch {
        // not JSON: keep it in the logs only
      }
    });
    createInterface({ input: child.stderr! }).on("line", (line) => {
      logs.push(line);
      stderr.push(line);
    });
    void exited.then((code) => {
      clearTimeout(timer);
      rej(new Error(`server exited with ${code} before listening:\n${logs.join("\n")}`));
    });
  });
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    child,
    logs,
    stderr,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
    async kill() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/**
 * Runs `weft` with `args` to its end (a command that is expected to exit,
 * such as a `serve` its configuration refuses); killed after `timeoutMs`.
 *
 * @example
 *   const { code, stderr } = await runWeftToExit(["serve", "--host", "0.0.0.0"], { WEFT_ADMIN_KEY: undefined });
 */
export function runWeftToExit(
  args: string[],
  env: Record<string, string | undefined>,
  timeoutMs = 30_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "src/cli/main.ts"), ...args], {
    cwd: ROOT,
    env: merged,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
  return new Promise((res) =>
    // "close", not "exit": by then both pipes are read to their end.
    child.once("close", (code) => {
      clearTimeout(timer);
      res({ code, stdout, stderr });
    }),
  );
}
