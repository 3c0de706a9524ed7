/**
 * The Python example worker (examples/python-worker, on the weft-sdk package
 * in sdk-python/, its generated stubs committed) for end-to-end tests:
 * whether Debian's grpcio is there, and the worker as a child process whose
 * JSON-line events can be awaited.
 *
 * Honest skipping: without python3-grpcio a local run skips, but with `CI`
 * set (where .ci/run installs it) the suite fails instead.
 *
 * @example
 * ```ts
 * const worker = startPythonWorker({ address: server.url });
 * await worker.waitFor((e) => e.event === "welcome");
 * await worker.stop(); // SIGTERM: drains, resolves with the exit code
 * ```
 */
import { execFile, spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import { promisify } from "node:util";

const run = promisify(execFile);
const ROOT = resolve(import.meta.dirname, "../..");
const DIR = join(ROOT, "examples/python-worker");
/** Debian's interpreter: the one python3-grpcio is installed for. */
export const PYTHON = "/usr/bin/python3";

/**
 * Whether `/usr/bin/python3` imports grpc and protobuf. Missing: throws when
 * `CI` is set, else false.
 */
export async function requirePythonGrpc(): Promise<boolean> {
  try {
    await run(PYTHON, ["-c", "import grpc, google.protobuf"]);
    return true;
  } catch (error) {
    if (process.env.CI) throw new Error("python3-grpcio and python3-protobuf are required in CI", { cause: error });
    return false;
  }
}

/** One line the worker printed: `{"event": "task", "task_id": …}`. */
export type PythonEvent = { event: string } & Record<string, unknown>;

export interface PythonWorker {
  child: ChildProcess;
  /** Every event so far, in order. */
  events: PythonEvent[];
  /** Anything that was not an event (tracebacks), for failure messages. */
  stderr: string[];
  /** The first event (past or future) matching `filter`. */
  waitFor(filter: (e: PythonEvent) => boolean, timeoutMs?: number): Promise<PythonEvent>;
  /** SIGTERM (the worker drains) and wait; resolves with the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `worker.py` against `address` (an `http://host:port` URL, or
 * `https://` with `tls` files).
 */
export function startPythonWorker(opts: {
  address: string;
  name?: string;
  slots?: number;
  tls?: { caFile: string; certFile?: string; keyFile?: string };
}): PythonWorker {
  const address = opts.tls ? opts.address : opts.address.replace(/^https?:\/\//, "");
  const tlsArgs = Object.entries({
    "--ca-file": opts.tls?.caFile,
    "--cert-file": opts.tls?.certFile,
    "--key-file": opts.tls?.keyFile,
  })
    .filter(([, v]) => v !== undefined)
    .flat() as string[];
  const child = spawn(
    PYTHON,
    [
      join(DIR, "worker.py"),
      "--address",
      address,
      "--name",
      opts.name ?? "py-e2e",
      "--slots",
      String(opts.slots ?? 4),
      ...tlsArgs,
    ],
    {
      cwd: ROOT,
      env: { ...process.env, PYTHONUNBUFFERED: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  const events: PythonEvent[] = [];
  const stderr: string[] = [];
  const waiters = new Set<() => void>();
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  void exited.then(() => waiters.forEach((w) => w()));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as PythonEvent);
    } catch {
      stderr.push(line);
    }
    waiters.forEach((w) => w());
  });
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  return {
    child,
    events,
    stderr,
    waitFor(filter, timeoutMs = 20_000) {
      return new Promise((res, rej) => {
        const check = (): void => {
          const hit = events.find(filter);
          if (hit) {
            done();
            res(hit);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            rej(
              new Error(
                `the Python worker exited (${child.exitCode ?? child.signalCode}):\n${[...events.map((e) => JSON.stringify(e)), ...stderr].join("\n")}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          rej(
            new Error(
              `no matching Python worker event within ${timeoutMs} ms:\n${[...events.map((e) => JSON.stringify(e)), ...stderr].join("\n")}`,
            ),
          );
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill("SIGTERM");
      return exited;
    },
  };
}
