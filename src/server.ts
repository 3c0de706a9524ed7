/**
 * The composition root: store, leases, dispatcher, API routes and the
 * one-port HTTP server.
 *
 * @example
 *   const server = await startServer(loadConfig([], process.env), logger);
 *   ...
 *   await server.close();
 */
import type { Config } from "./config.js";
import { explainDecodeError } from "./api/decode-errors.js";
import { createRequestChecks } from "./api/request-checks.js";
import { createErrorInterceptor, registerRoutes } from "./api/routes.js";
import { createBuiltinRegistry } from "./builtins/registry.js";
import { createBuiltinRunner } from "./dispatch/builtin-runner.js";
import { createDispatcher } from "./dispatch/dispatcher.js";
import { createRunChanges } from "./dispatch/run-changes.js";
import { createScheduler } from "./dispatch/scheduler.js";
import { createWebhookDeliverer } from "./dispatch/webhook-deliverer.js";
import { createTriggerBuffer } from "./dispatch/trigger-buffer.js";
import { checkPortFree } from "./http/port-check.js";
import { createHttpServer } from "./http/server.js";
import { openLeaseStore } from "./leases/open.js";
import type { Logger } from "./log.js";
import { migrateWhenReachable } from "./store/migrate-when-reachable.js";
import { openStore } from "./store/open.js";

export interface WeftServer {
  /** The port actually bound (useful with `--port 0`). */
  port: number;
  /**
   * Stops handing out tasks, stops accepting calls, lets in-flight calls
   * finish within the grace period, closes worker streams (their SDKs
   * reconnect elsewhere), then the lease store and the database.
   */
  close(): Promise<void>;
}

/**
 * Starts everything; throws `PortUnavailableError` (before the database is
 * opened) when the port is taken.
 *
 * @example
 *   const server = await startServer(config, logger);
 */
export async function startServer(config: Config, logger: Logger): Promise<WeftServer> {
  // Before the store: opening it can wait minutes for Postgres, and PGlite creates its data folder.
  await checkPortFree(config.port, config.host);
  const store = await openStore(config, logger);
  const cleanups: (() => Promise<unknown>)[] = [() => store.close()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => logger.warn({ err }, "cleanup failed"));
  };
  try {
    await migrateWhenReachable(store, { waitMs: config.databaseWaitMs, logger });
    const leases = await openLeaseStore(config, logger);
    cleanups.push(() => leases.close());
    const dispatcher = createDispatcher({
      store,
      leases,
      logger,
      options: config.dispatch,
      maxPayloadBytes: config.maxPayloadBytes,
    });
    cleanups.push(() => dispatcher.close());
    const builtins = createBuiltinRunner({
      dispatcher,
      store,
      registry: createBuiltinRegistry(),
      logger,
      slots: config.builtinSlots,
      heartbeatIntervalMs: config.dispatch.heartbeatIntervalMs,
      defaultSecret: config.webhookSecret,
      maxOutputBytes: config.maxPayloadBytes,
    });
    cleanups.push(() => builtins.close(config.shutdownGraceMs));
    const scheduler = createScheduler({ store, logger, intervalMs: config.scheduleIntervalMs });
    cleanups.push(async () => scheduler.stop());
    const deliverer = createWebhookDeliverer({
      store,
      logger,
      defaultSecret: config.webhookSecret,
      retryMs: config.webhookRetryMs,
      pollMs: Math.min(500, config.webhookRetryMs),
    });
    cleanups.push(() => deliverer.stop());
    const changes = createRunChanges();
    const unsubscribe = await store.onSignal((s) => {
      switch (s.kind) {
        case "queued":
          dispatcher.wake(s.actions);
          break;
        case "cancel":
          dispatcher.cancelLocal(s.tasks, s.reason);
          break;
        case "run":
          changes.notify(s.runIds);
          break;
      }
    });
    cleanups.push(async () => unsubscribe());
    const triggers = createTriggerBuffer({
      trigger: (inputs) => store.triggerRuns(inputs),
      maxBatch: config.dispatch.triggerBatchSize,
      // Like completions: a few transactions at once on Postgres, one on PGlite's single connection.
      concurrency: config.dispatch.completionConcurrency,
    });
    const checks = createRequestChecks();
    const http = createHttpServer({
      routes: (router) =>
        registerRoutes(router, {
          store,
          checks,
          logger,
          dispatcher,
          changes,
          heartbeatIntervalMs: config.dispatch.heartbeatIntervalMs,
          maxPayloadBytes: config.maxPayloadBytes,
          triggerRuns: (inputs) => triggers.submit(inputs),
        }),
      port: config.port,
      host: config.host,
      corsOrigins: config.corsOrigins,
      maxRequestBytes: config.maxRequestBytes,
      requestTimeoutMs: config.requestTimeoutMs,
      ready: () => store.ready(),
      logger,
      interceptors: [createErrorInterceptor(logger), checks.interceptor],
      earlyErrors: explainDecodeError({ maxRequestBytes: config.maxRequestBytes }),
    });
    const { port } = await http.listen();
    return {
      port,
      async close() {
        dispatcher.pause();
        await http.close({ graceMs: config.shutdownGraceMs });
        await cleanup();
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}
