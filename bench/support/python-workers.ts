/**
 * The bench's workers on the Python SDK (`BENCH_WORKER=python`): the same
 * `WorkerProcess` as `workers.ts`, backed by `python_worker.py` under
 * Debian's `/usr/bin/python3` with `sdk-python/src` on its path, one JSON
 * request and reply per line over stdin and stdout.
 *
 * @example
 *   const wp = await spawnPythonWorkers();
 *   await wp.start({ address: server.url, workers: 1, slots: 100 });
 */
import { spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { WorkerReply } from "./worker-main.js";
import { connectWorkerProcess, type WorkerProcess } from "./workers.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** `apiKey`: sent by every worker (a server that asks for keys). */
export function spawnPythonWorkers(opts: { apiKey?: string } = {}): Promise<WorkerProcess> {
  const child = spawn("/usr/bin/python3", [join(import.meta.dirname, "python_worker.py")], {
    env: {
      ...process.env,
      PYTHONPATH: join(ROOT, "sdk-python/src"),
      ...(opts.apiKey ? { BENCH_WORKER_KEY: opts.apiKey } : {}),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  const lines = createInterface({ input: child.stdout });
  return connectWorkerProcess(child, "Python worker process", {
    onReply: (listener) => lines.on("line", (line) => listener(JSON.parse(line) as WorkerReply)),
    send: (msg) => child.stdin.write(`${JSON.stringify(msg)}\n`),
    end: () => child.stdin.end(),
  });
}
