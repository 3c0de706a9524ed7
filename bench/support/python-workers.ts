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
import { wallNow } from "./clock.js";
import type { WorkerCollection, WorkerReply, WorkerStats } from "./worker-main.js";
import type { WorkerProcess } from "./workers.js";

const ROOT = resolve(import.meta.dirname, "../..");

/** `apiKey`: sent by every worker (a server that asks for keys). */
export async function spawnPythonWorkers(opts: { apiKey?: string } = {}): Promise<WorkerProcess> {
  const child = spawn("/usr/bin/python3", [join(import.meta.dirname, "python_worker.py")], {
    env: {
      ...process.env,
      PYTHONPATH: join(ROOT, "sdk-python/src"),
      ...(opts.apiKey ? { BENCH_WORKER_KEY: opts.apiKey } : {}),
    },
    stdio: ["pipe", "pipe", "inherit"],
  });
  let next = 1;
  const waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`Python worker process exited with ${code}`)));
    createInterface({ input: child.stdout }).on("line", (line) => {
      const m = JSON.parse(line) as WorkerReply;
      if (m.id === 0) return resolve();
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (!w) return;
      if (m.error) w.reject(new Error(`Python worker process: ${m.error}`));
      else w.resolve(m);
    });
  });
  child.once("exit", () => {
    for (const w of waiting.values()) w.reject(new Error("Python worker process exited"));
    waiting.clear();
  });
  await ready;
  const call = (msg: Record<string, unknown>): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      child.stdin.write(`${JSON.stringify({ ...msg, id })}\n`);
    });
  return {
    pid: child.pid!,
    async start(o) {
      await call({ type: "start", address: o.address.replace(/^http:\/\//, ""), workers: o.workers, slots: o.slots });
    },
    stats: async () => (await call({ type: "stats" })) as unknown as WorkerStats,
    collect: async () => (await call({ type: "collect" })) as unknown as WorkerCollection,
    async release() {
      await call({ type: "release" });
    },
    async clockOffset() {
      let best = { rtt: Infinity, offset: 0 };
      for (let i = 0; i < 20; i++) {
        const t0 = wallNow();
        const { now } = (await call({ type: "clock" })) as unknown as { now: number };
        const t1 = wallNow();
        if (t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: now - (t0 + t1) / 2 };
      }
      return best.offset;
    },
    async close() {
      if (child.exitCode !== null) return;
      await Promise.race([call({ type: "stop" }).catch(() => undefined), new Promise((r) => setTimeout(r, 15_000))]);
      child.stdin.end();
      const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
      await exited;
      clearTimeout(killer);
    },
  };
}
