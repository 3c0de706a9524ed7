/**
 * A real server process on a fresh Postgres database and the shared Redis,
 * with typed clients and helpers to create workflows from YAML and wait for
 * runs. For the end-to-end suites of built-ins, triggers and webhooks.
 *
 * @example
 *   const stack = await startStack({ env: { WEFT_WEBHOOK_SECRET: "s" } });
 *   await stack.createYaml(`id: w\nsteps: [{ id: a, action: delay, input: { duration: 1s } }]`);
 *   const run = await stack.waitRun((await stack.c.workflows.triggerWorkflow({ workflowId: "w" })).runId);
 *   await stack.stop();
 */
import type { Run } from "../../gen/weft/v1/common_pb.js";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { grpcClients, type Clients } from "./clients.js";
import { createTestDatabase, requirePostgres } from "./db.js";
import { redisUrl, requireRedis } from "./redis.js";
import { startServerProcess, type ServerProcess } from "./server-process.js";

const FINISHED = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT]);

export interface Stack {
  url: string;
  dbUrl: string;
  env: Record<string, string>;
  servers: ServerProcess[];
  c: Clients;
  createYaml(yaml: string): Promise<number>;
  /** Polls GetRun until the run is finished (or `until` holds). */
  waitRun(runId: string, opts?: { timeoutMs?: number; until?: (run: Run) => boolean }): Promise<Run>;
  /** Starts another replica on the same database and Redis. */
  addReplica(extraEnv?: Record<string, string>): Promise<ServerProcess>;
  /** Stops the first replica and starts it again (same env). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/** Whether Postgres and Redis answer (throws with CI set when they do not). */
export async function stackAvailable(): Promise<boolean> {
  const [pg, redis] = await Promise.all([requirePostgres(), requireRedis()]);
  return pg && redis;
}

export async function startStack(opts: { env?: Record<string, string> } = {}): Promise<Stack> {
  const db = await createTestDatabase();
  const env: Record<string, string> = {
    DATABASE_URL: db.url,
    REDIS_URL: redisUrl(),
    LOG_LEVEL: "info",
    WEFT_SWEEP_INTERVAL_MS: "100",
    WEFT_SHUTDOWN_GRACE_MS: "1000",
    ...opts.env,
  };
  const servers: ServerProcess[] = [await startServerProcess({ env })];
  const stack: Stack = {
    url: servers[0]!.url,
    dbUrl: db.url,
    env,
    servers,
    c: grpcClients(servers[0]!.url),
    async createYaml(yaml) {
      const res = await stack.c.workflows.createWorkflow({ source: { case: "yaml", value: yaml } });
      return res.workflow!.version;
    },
    async waitRun(runId, o = {}) {
      const until = Date.now() + (o.timeoutMs ?? 20_000);
      for (;;) {
        const { run } = await stack.c.runs.getRun({ runId });
        if (run && (o.until ? o.until(run) : FINISHED.has(run.status))) return run;
        if (Date.now() > until)
          throw new Error(
            `run ${runId} not done in time: ${JSON.stringify(run?.status)} ${JSON.stringify(run?.steps.map((s) => [s.stepId, s.status, s.error?.type]))}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async addReplica(extraEnv = {}) {
      const s = await startServerProcess({ env: { ...env, ...extraEnv } });
      servers.push(s);
      return s;
    },
    async restart() {
      await servers[0]!.stop();
      servers[0] = await startServerProcess({ env });
      stack.url = servers[0].url;
      stack.c = grpcClients(servers[0].url);
    },
    async stop() {
      await Promise.all(servers.map((s) => s.stop()));
      await db.drop();
    },
  };
  return stack;
}
