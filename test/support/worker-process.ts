/**
 * An SDK worker in a child process (`worker-child.ts`), so a test can
 * `kill -9` it mid-task. Events the child prints arrive in `events`.
 *
 * @example
 * ```ts
 * const child = await startWorkerProcess({ address: weft.url, name: "doomed", slots: 1, actions: { "wf.a": "hang" } });
 * await child.waitFor((e) => e.event === "task");
 * await child.kill(); // SIGKILL
 * ```
 */
import { spawn, type ChildProcess } from "node:child_process";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { ChildConfig } from "./worker-child.js";

export interface ChildEvent {
  event: string;
  pid: number;
  [key: string]: unknown;
}

export interface WorkerProcess {
  child: ChildProcess;
  events: ChildEvent[];
  /** Output on stderr, for failure messages. */
  stderr: string[];
  /** The first event (past or future) that passes `test`; rejects after `timeoutMs` or when the child exits. */
  waitFor(test: (e: ChildEvent) => boolean, timeoutMs?: number): Promise<ChildEvent>;
  /** SIGKILL and wait for the exit. Safe to call twice. */
  kill(): Promise<void>;
  /** Resolves with the exit code once the process has exited. */
  exited: Promise<number | null>;
}

const ROOT = resolve(import.meta.dirname, "../..");

/** Starts the child and resolves once a server welcomed it. */
export async function startWorkerProcess(config: ChildConfig, timeoutMs = 30_000): Promise<WorkerProcess> {
  const child = spawn(process.execPath, ["--import", "tsx", join(ROOT, "test/support/worker-child.ts")], {
    cwd: ROOT,
    env: { ...process.env, WEFT_TEST_WORKER: JSON.stringify(config) },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const events: ChildEvent[] = [];
  const stderr: string[] = [];
  const listeners = new Set<() => void>();
  const exited = new Promise<number | null>((res) => child.once("exit", (code) => res(code)));
  createInterface({ input: child.stdout! }).on("line", (line) => {
    try {
      events.push(JSON.parse(line) as ChildEvent);
    } catch {
      stderr.push(line);
    }
    for (const l of [...listeners]) l();
  });
  createInterface({ input: child.stderr! }).on("line", (line) => stderr.push(line));
  let dead = false;
  void exited.then(() => {
    dead = true;
    for (const l of [...listeners]) l();
  });

  const waitFor = (test: (e: ChildEvent) => boolean, ms = 20_000): Promise<ChildEvent> =>
    new Promise((res, rej) => {
      const check = (): void => {
        const hit = events.find(test);
        if (hit) return done(() => res(hit));
        if (dead) return done(() => rej(new Error(`worker process exited first:\n${stderr.join("\n")}`)));
      };
      const timer = setTimeout(
        () => done(() => rej(new Error(`worker process event not seen in ${ms} ms:\n${stderr.join("\n")}`))),
        ms,
      );
      const done = (fn: () => void): void => {
        clearTimeout(timer);
        listeners.delete(check);
        fn();
      };
      listeners.add(check);
      check();
    });

  const proc: WorkerProcess = {
    child,
    events,
    stderr,
    waitFor,
    exited,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      await exited;
    },
  };
  try {
    await waitFor((e) => e.event === "ready", timeoutMs);
  } catch (err) {
    await proc.kill();
    throw err;
  }
  return proc;
}
