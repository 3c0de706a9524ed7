/**
 * The control plane in its own process: `node --import tsx src/cli/main.ts
 * serve` on a free port of 127.0.0.1, ready once `/readyz` answers 200.
 * Logs at `warn` (request lines at `info` would be part of what we measure).
 *
 * @example
 *   const server = await startBenchServer({ env: backend.env });
 *   server.pid; // for /proc/<pid>/stat
 *   await server.stop();
 */
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { sleep } from "./clock.js";

export interface BenchServer {
  url: string;
  port: number;
  pid: number;
  child: ChildProcess;
  /** Last lines of stderr/stdout, for error messages. */
  tail(): string;
  /** A full GC in the server, then what it holds (SIGUSR2, see `src/cli/main.ts`). */
  memoryAfterGc(timeoutMs?: number): Promise<MemoryReading>;
  stop(): Promise<void>;
}

/** Bytes, as `process.memoryUsage()` reports them in the server right after a full GC. */
export interface MemoryReading {
  /** The V8 heap in use. */
  heapUsed: number;
  /** Memory of C++ objects bound to JavaScript ones (buffers among them). */
  external: number;
}

const MEMORY_LINE = /^\{"msg":"memory after gc",.*\}$/;

const ROOT = resolve(import.meta.dirname, "../..");

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once("error", rej);
    s.listen(0, "127.0.0.1", () => {
      const addr = s.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export async function startBenchServer(opts: {
  env: Record<string, string | undefined>;
  /** Extra server flags, e.g. ["--completion-window-ms", "5"]. */
  args?: string[];
  /** Extra node flags, e.g. ["--cpu-prof", "--cpu-prof-dir=…"]. */
  nodeArgs?: string[];
  timeoutMs?: number;
}): Promise<BenchServer> {
  const port = await freePort();
  // WEFT_GC_SIGNAL + --expose-gc: `collectGarbage()` (SIGUSR2) before memory readings (S6).
  const env: NodeJS.ProcessEnv = { ...process.env, LOG_LEVEL: "warn", WEFT_GC_SIGNAL: "1", ...opts.env };
  for (const [k, v] of Object.entries(opts.env)) if (v === undefined) delete env[k];
  const child = spawn(
    process.execPath,
    [
      "--expose-gc",
      ...(opts.nodeArgs ?? []),
      "--import",
      "tsx",
      join(ROOT, "src/cli/main.ts"),
      "serve",
      "--port",
      String(port),
      "--host",
      "127.0.0.1",
      ...(opts.args ?? []),
    ],
    { cwd: ROOT, env, stdio: ["ignore", "pipe", "pipe"] },
  );
  const lines: string[] = [];
  const memoryWaiters: ((m: MemoryReading) => void)[] = [];
  // One per pipe: a line may arrive in two chunks, and stdout's must not be glued to stderr's.
  const keeper = () => {
    let partial = "";
    return (chunk: Buffer) => {
      const text = partial + chunk.toString();
      const cut = text.lastIndexOf("\n") + 1;
      partial = text.slice(cut);
      const got = text.slice(0, cut).split("\n").filter(Boolean);
      for (const line of got) {
        if (!MEMORY_LINE.test(line)) continue;
        const { heapUsed, external } = JSON.parse(line) as MemoryReading;
        for (const w of memoryWaiters.splice(0)) w({ heapUsed, external });
      }
      lines.push(...got);
      if (lines.length > 50) lines.splice(0, lines.length - 50);
    };
  };
  child.stdout!.on("data", keeper());
  child.stderr!.on("data", keeper());
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`server exited with ${child.exitCode}:\n${lines.join("\n")}`);
    try {
      const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) });
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`server not ready within ${opts.timeoutMs ?? 60_000} ms:\n${lines.join("\n")}`);
    }
    await sleep(100);
  }
  return {
    url,
    port,
    pid: child.pid!,
    child,
    tail: () => lines.join("\n"),
    memoryAfterGc(timeoutMs = 10_000) {
      return new Promise<MemoryReading>((res, rej) => {
        const timer = setTimeout(
          () => rej(new Error(`no memory reading from the server within ${timeoutMs} ms:\n${lines.join("\n")}`)),
          timeoutMs,
        );
        memoryWaiters.push((m) => {
          clearTimeout(timer);
          res(m);
        });
        child.kill("SIGUSR2");
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill("SIGTERM");
      const killer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
