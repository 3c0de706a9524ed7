/**
 * The worker process, seen from the bench: fork it, start SDK workers in it,
 * ask for counters and measurements over IPC.
 *
 * @example
 *   const wp = await forkWorkers();
 *   await wp.start({ address: server.url, workers: 4, slots: 200 });
 *   const { accepted } = await wp.stats();
 *   const data = await wp.collect(); // and reset
 *   await wp.close();
 */
import { fork, type ChildProcess } from "node:child_process";
import { join } from "node:path";
import { wallNow } from "./clock.js";
import type { WorkerCollection, WorkerReply, WorkerRequest, WorkerStats } from "./worker-main.js";

export interface WorkerProcess {
  pid: number;
  start(opts: {
    address: string;
    workers: number;
    slots: number;
    recordAcks?: boolean;
    recordRuns?: boolean;
  }): Promise<void>;
  stats(): Promise<WorkerStats>;
  collect(): Promise<WorkerCollection>;
  release(): Promise<void>;
  /** Worker clock minus bench clock (ms), from the round trip with the smallest delay. */
  clockOffset(): Promise<number>;
  close(): Promise<void>;
}

/** A request without its id (the caller numbers them). */
type Body<T> = T extends unknown ? Omit<T, "id"> : never;

/** `apiKey`: sent by every worker (a server that asks for keys). */
export function forkWorkers(opts: { apiKey?: string } = {}): Promise<WorkerProcess> {
  const child: ChildProcess = fork(join(import.meta.dirname, "worker-main.ts"), [], {
    execArgv: ["--import", "tsx"],
    env: { ...process.env, ...(opts.apiKey ? { BENCH_WORKER_KEY: opts.apiKey } : {}) },
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  return connectWorkerProcess(child, "worker process", {
    onReply: (listener) => child.on("message", listener),
    send: (msg) => child.send(msg),
    end: () => child.disconnect(),
  });
}

/**
 * Talks to a started worker process: waits for its ready message (id 0),
 * numbers the requests, routes each reply to its request, and rejects the
 * ones still waiting when the process exits. `end` closes the channel after
 * `stop` (the process then exits; killed after 5 s).
 *
 * @example
 *   return connectWorkerProcess(child, "worker process", { onReply, send, end: () => child.disconnect() });
 */
export async function connectWorkerProcess(
  child: ChildProcess,
  label: string,
  io: { onReply(listener: (m: WorkerReply) => void): void; send(msg: WorkerRequest): void; end(): void },
): Promise<WorkerProcess> {
  let next = 1;
  const waiting = new Map<number, { resolve: (r: WorkerReply) => void; reject: (e: Error) => void }>();
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  const ready = new Promise<void>((resolve, reject) => {
    child.once("exit", (code) => reject(new Error(`${label} exited with ${code}`)));
    io.onReply((m) => {
      if (m.id === 0) return resolve();
      const w = waiting.get(m.id);
      waiting.delete(m.id);
      if (!w) return;
      if (m.error) w.reject(new Error(`${label}: ${m.error}`));
      else w.resolve(m);
    });
  });
  child.once("exit", () => {
    for (const w of waiting.values()) w.reject(new Error(`${label} exited`));
    waiting.clear();
  });
  await ready;
  const call = (msg: Body<WorkerRequest>): Promise<WorkerReply> =>
    new Promise((resolve, reject) => {
      const id = next++;
      waiting.set(id, { resolve, reject });
      io.send({ ...msg, id } as WorkerRequest);
    });
  const end = async (): Promise<void> => {
    io.end();
    const killer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    await exited;
    clearTimeout(killer);
  };
  return ipcWorkerProcess(child.pid!, call, end, () => child.exitCode !== null);
}

/** A `WorkerProcess` over `call` (one request, its reply); `end` after `stop` was answered (or 15 s passed). */
function ipcWorkerProcess(
  pid: number,
  call: (msg: Body<WorkerRequest>) => Promise<WorkerReply>,
  end: () => Promise<void>,
  ended: () => boolean,
): WorkerProcess {
  return {
    pid,
    async start(o) {
      await call({
        type: "start",
        address: o.address,
        workers: o.workers,
        slots: o.slots,
        recordAcks: o.recordAcks ?? false,
        recordRuns: o.recordRuns ?? false,
      });
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
      if (ended()) return;
      await Promise.race([call({ type: "stop" }).catch(() => undefined), new Promise((r) => setTimeout(r, 15_000))]);
      await end();
    },
  };
}
