/**
 * What every scenario gets: a fresh backend, the control plane in its own
 * process, the worker process, a client, and helpers to trigger runs in
 * batches and to wait (bounded, with progress lines) until work is done.
 *
 * @example
 *   await withStack("pg", options, async (ctx) => {
 *     await ctx.defineWorkflow("one", [{ id: "s", action: "bench.noop", dependsOn: [] }]);
 *     await ctx.triggerBatched("one", 1000, () => ({}));
 *   });
 */
import { RunStatus, createWeftClient, jsonToValue, type WeftClient } from "../../sdk/index.js";
import { prepareBackend, type Backend, type BackendName, type BackendOptions } from "./backend.js";
import { sleep, wallNow } from "./clock.js";
import { startPgSampler } from "./pg-sampler.js";
import { cpuMeter } from "./proc.js";
import { startBenchServer, type BenchServer } from "./server.js";
import { spawnPythonWorkers } from "./python-workers.js";
import { forkWorkers, type WorkerProcess } from "./workers.js";
import { Role } from "../../gen/weft/v1/admin_service_pb.js";

export interface StepDef {
  id: string;
  action: string;
  dependsOn: string[];
  /** The step's RetryPolicy (unset: one attempt). */
  retry?: { maxAttempts: number; initialInterval?: { seconds: bigint; nanos: number } };
}

export interface StackOptions extends BackendOptions {
  /** Extra flags for the server (`weft serve …`). */
  serverArgs?: string[];
  /** Extra node flags for the server process. */
  serverNodeArgs?: string[];
  /** Print a progress line. */
  log: (line: string) => void;
}

export interface Stack {
  backend: Backend;
  server: BenchServer;
  workers: WorkerProcess;
  client: WeftClient;
  /** The developer key the client uses, when the server asks for keys (BENCH_API_KEY). */
  apiKey?: string;
  log: (line: string) => void;
  defineWorkflow(id: string, steps: StepDef[]): Promise<void>;
  /** Triggers `n` runs with TriggerWorkflows, `batch` per call, `concurrency` calls in flight. */
  triggerBatched(
    workflowId: string,
    n: number,
    input: (i: number) => unknown,
    opts?: { batch?: number; concurrency?: number; label?: string },
  ): Promise<string[]>;
  /** Waits until the workers counted `target` accepted results; progress every second. */
  waitAccepted(target: number, timeoutMs: number, label: string): Promise<void>;
  /**
   * Starts measuring CPU of the server, the worker process and (pg) the
   * Postgres backends serving the bench database; `stop()` gives % of one core each.
   */
  cpuMeter(): Promise<{ stop(): Promise<Record<string, number>> }>;
  /** With BENCH_PG_SAMPLE=1 on pg, samples pg_stat_activity until `stop()`, which prints the top states. */
  pgSampler(): { stop(): void };
  /** Runs of `workflowId` in `status`, counted in the database (pg) or by paging ListRuns (embedded). */
  countRuns(workflowId: string, status: RunStatus): Promise<number>;
}

/** A developer key and a worker key (every action), made with the bootstrap admin key. */
async function benchKeys(url: string, adminKey: string): Promise<{ developer: string; worker: string }> {
  const admin = createWeftClient(url, { apiKey: adminKey });
  try {
    const developer = await admin.admin.createApiKey({ name: "bench", role: Role.DEVELOPER });
    const worker = await admin.admin.createApiKey({ name: "bench workers", role: Role.WORKER, actionPatterns: ["*"] });
    return { developer: developer.secret, worker: worker.secret };
  } finally {
    admin.close();
  }
}

/** A wait fails when no result arrived for this long (a stuck run is a finding, not a reason to hang). */
const STALL_MS = 30_000;

/** Prepares the backend, starts server and worker process, runs `body`, tears everything down. */
export async function withStack<T>(
  name: BackendName,
  opts: StackOptions,
  body: (stack: Stack) => Promise<T>,
): Promise<T> {
  const backend = await prepareBackend(name, opts);
  let server: BenchServer | undefined;
  let workers: WorkerProcess | undefined;
  let client: WeftClient | undefined;
  try {
    // BENCH_API_KEY: the server asks for keys (that one is its bootstrap admin key); the bench's client and
    // workers use a developer key and a worker key created through AdminService, as a deployment would.
    const adminKey = process.env.BENCH_API_KEY;
    server = await startBenchServer({
      env: { ...backend.env, ...(adminKey ? { WEFT_ADMIN_KEY: adminKey, WEFT_AUTH: "keys" } : {}) },
      args: ["--shutdown-grace-ms", "2000", ...(opts.serverArgs ?? [])],
      nodeArgs: opts.serverNodeArgs,
    });
    const keys = adminKey ? await benchKeys(server.url, adminKey) : undefined;
    // BENCH_WORKER=python: the workers are the Python SDK's (bench/support/python_worker.py).
    const spawnWorkers = process.env.BENCH_WORKER === "python" ? spawnPythonWorkers : forkWorkers;
    workers = await spawnWorkers(keys ? { apiKey: keys.worker } : {});
    client = createWeftClient(server.url, keys ? { apiKey: keys.developer } : {});
    const c = client;
    const w = workers;
    const stack: Stack = {
      backend,
      server,
      workers,
      client,
      ...(keys ? { apiKey: keys.developer } : {}),
      log: opts.log,
      async defineWorkflow(id, steps) {
        await c.workflows.createWorkflow({ source: { case: "workflow", value: { id, steps } } });
      },
      async triggerBatched(workflowId, n, input, o = {}) {
        const batch = o.batch ?? 500;
        const concurrency = o.concurrency ?? 4;
        const ids: string[] = new Array<string>(n);
        let nextStart = 0;
        let done = 0;
        let lastLog = Date.now();
        const lane = async () => {
          while (nextStart < n) {
            const from = nextStart;
            const to = Math.min(n, from + batch);
            nextStart = to;
            const triggers = [];
            for (let i = from; i < to; i++) triggers.push({ workflowId, input: jsonToValue(input(i)) });
            const res = await c.workflows.triggerWorkflows({ triggers });
            res.runs.forEach((r, k) => (ids[from + k] = r.runId));
            done += to - from;
            if (o.label && Date.now() - lastLog > 1000) {
              lastLog = Date.now();
              opts.log(`${o.label}: triggered ${done}/${n}`);
            }
          }
        };
        await Promise.all(Array.from({ length: concurrency }, lane));
        return ids;
      },
      async waitAccepted(target, timeoutMs, label) {
        const t0 = wallNow();
        let last = 0;
        let lastLog = t0;
        let progressAt = t0;
        let seen = 0;
        for (;;) {
          const s = await w.stats();
          const now = wallNow();
          if (s.accepted >= target) return;
          if (s.accepted > seen) {
            seen = s.accepted;
            progressAt = now;
          }
          if (now - t0 > timeoutMs || now - progressAt > STALL_MS) {
            const why =
              now - t0 > timeoutMs
                ? `after ${Math.round(timeoutMs / 1000)} s`
                : `and no progress for ${STALL_MS / 1000} s`;
            throw new Error(
              `${label}: only ${s.accepted}/${target} results ${why} (worker stats ${JSON.stringify(s)})`,
            );
          }
          if (now - lastLog >= 1000) {
            opts.log(
              `${label}: ${s.accepted}/${target} done (${Math.round(((s.accepted - last) * 1000) / (now - lastLog))}/s)`,
            );
            last = s.accepted;
            lastLog = now;
          }
          await sleep(20);
        }
      },
      async cpuMeter() {
        // `bench`: this process (the load generator shares the machine's cores with what it measures).
        const pids: Record<string, () => Promise<number[]>> = {
          server: async () => [server!.pid],
          workers: async () => [w.pid],
          bench: async () => [process.pid],
        };
        const pool = backend.pool;
        if (pool) {
          pids.postgres = async () =>
            (
              await pool.query<{ pid: number }>(
                "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'",
              )
            ).rows.map((r) => r.pid);
        }
        return cpuMeter(pids);
      },
      /** BENCH_PG_SAMPLE=1 on pg: sample what the Postgres backends do; `stop()` logs the top 20. */
      pgSampler() {
        const sampler = backend.pool && process.env.BENCH_PG_SAMPLE ? startPgSampler(backend.pool, 10) : undefined;
        return {
          stop() {
            for (const r of sampler?.stop().slice(0, 20) ?? [])
              opts.log(`pg ${r.pct.toFixed(1).padStart(5)}%  ${r.what}`);
          },
        };
      },
      async countRuns(workflowId, status) {
        if (backend.pool) {
          const { rows } = await backend.pool.query<{ n: string }>(
            "select count(*) as n from runs where workflow_id = $1 and status = $2",
            [workflowId, RunStatus[status]],
          );
          return Number(rows[0]?.n ?? 0);
        }
        let count = 0;
        let pageToken = "";
        do {
          const page = await c.runs.listRuns({ workflowId, status, pageSize: 1000, pageToken });
          count += page.runs.length;
          pageToken = page.nextPageToken;
        } while (pageToken);
        return count;
      },
    };
    return await body(stack);
  } catch (err) {
    // What the server said (it logs at warn and above) is the first clue to a failed scenario.
    const tail = server?.tail().split("\n").slice(-15).join("\n");
    if (tail) opts.log(`server log (last lines):\n${tail}`);
    throw err;
  } finally {
    client?.close();
    await workers?.close().catch((err: unknown) => opts.log(`worker process close failed: ${String(err)}`));
    await server?.stop().catch((err: unknown) => opts.log(`server stop failed: ${String(err)}`));
    await backend.dispose().catch((err: unknown) => opts.log(`backend cleanup failed: ${String(err)}`));
  }
}

/** Workers in the throughput scenarios: 4 unless BENCH_WORKERS says otherwise. */
export function workerCount(): number {
  const n = Number(process.env.BENCH_WORKERS ?? 4);
  if (!Number.isInteger(n) || n < 1 || n > 1_000)
    throw new Error(`BENCH_WORKERS: 1 to 1000, got ${process.env.BENCH_WORKERS}`);
  return n;
}

/**
 * Slots per worker in the throughput scenarios (4 workers): 250 unless
 * BENCH_SLOTS says otherwise. Enough to keep the pipeline full at 10,000
 * steps/s; far more tasks in flight than the server completes within the
 * 5 s lease only queue up (see "Findings" in docs/benchmarks.md).
 */
export function workerSlots(): number {
  const n = Number(process.env.BENCH_SLOTS ?? 250);
  if (!Number.isInteger(n) || n < 1 || n > 10_000)
    throw new Error(`BENCH_SLOTS: 1 to 10000, got ${process.env.BENCH_SLOTS}`);
  return n;
}
