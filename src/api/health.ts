/**
 * grpc.health.v1.Health: `Check`, `Watch` and `List` for the whole server
 * (service `""`) and each weft.v1 service, all backed by one readiness check.
 *
 * @example
 *   registerHealth(router, { check: () => store.ready() });
 *   // grpc_health_probe -addr=localhost:8080 -service=weft.v1.RunService
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import { Health, HealthCheckResponse_ServingStatus as Status } from "../../gen/grpc/health/v1/health_pb.js";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkerService } from "../../gen/weft/v1/worker_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";

export interface HealthOptions {
  /** Resolves true when the server can do its work (e.g. the database answers). */
  check: () => Promise<boolean>;
  /** Service names that have a status besides `""`; the weft.v1 services by default. */
  services?: readonly string[];
  /** How often `Watch` re-checks; 5 s by default. */
  watchIntervalMs?: number;
  /** A check that takes longer counts as NOT_SERVING; 5 s by default. */
  checkTimeoutMs?: number;
}

/** The services reported by default, next to the overall status `""`. */
export const HEALTH_SERVICES: readonly string[] = [
  WorkflowService.typeName,
  RunService.typeName,
  WorkerService.typeName,
];

/**
 * Registers grpc.health.v1.Health. An unknown service is `NOT_FOUND` for
 * `Check`, and `SERVICE_UNKNOWN` (stream kept open) for `Watch`, as the
 * health-checking protocol asks.
 *
 * @example
 *   registerHealth(router, { check: async () => true, watchIntervalMs: 1000 });
 */
export function registerHealth(router: ConnectRouter, opts: HealthOptions): void {
  const known = new Set(["", ...(opts.services ?? HEALTH_SERVICES)]);
  const intervalMs = opts.watchIntervalMs ?? 5_000;
  const timeoutMs = opts.checkTimeoutMs ?? 5_000;
  const status = async (signal?: AbortSignal): Promise<Status> =>
    (await boundedCheck(opts.check, timeoutMs, signal)) ? Status.SERVING : Status.NOT_SERVING;

  router.service(Health, {
    async check(req, ctx) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service "${req.service}"`, Code.NotFound);
      return { status: await status(ctx.signal) };
    },
    async list(_req, ctx) {
      const current = await status(ctx.signal);
      return { statuses: Object.fromEntries([...known].map((name) => [name, { status: current }])) };
    },
    async *watch(req, ctx) {
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const now = known.has(req.service) ? await status(ctx.signal) : Status.SERVICE_UNKNOWN;
        if (now !== last) yield { status: now };
        last = now;
        await sleep(intervalMs, undefined, { signal: ctx.signal }).catch(() => undefined);
      }
      // Client gone: nobody listens. Deadline or server shutdown: say so.
      throw ConnectError.from(ctx.signal.reason, Code.Canceled);
    },
  });
}

/** Runs `check`; a throw, a false, a timeout or an abort all mean "not serving". */
async function boundedCheck(check: () => Promise<boolean>, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
  const timer = new AbortController();
  const stop = AbortSignal.any(signal ? [signal, timer.signal] : [timer.signal]);
  const expired = sleep(timeoutMs, false, { signal: stop }).catch(() => false);
  try {
    const answered = Promise.resolve()
      .then(check)
      .then(
        (ok) => ok === true,
        () => false,
      );
    return await Promise.race([answered, expired]);
  } finally {
    timer.abort();
  }
}
