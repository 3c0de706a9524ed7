/**
 * The composition root: metrics, store, leases, worker registry,
 * dispatcher, API routes and the one-port HTTP server.
 *
 * @example
 *   const server = await startServer(loadConfig([], process.env), logger);
 *   ...
 *   await server.close();
 */
import { fileURLToPath } from "node:url";
import { OPTIONS, type Config } from "./config.js";
import { readServerTls } from "./config-tls.js";
import { explainDecodeError } from "./api/decode-errors.js";
import { formatProtoDuration } from "./engine/duration-text.js";
import { createRequestChecks } from "./api/request-checks.js";
import type { Interceptor } from "@connectrpc/connect";
import { createErrorInterceptor, registerRoutes, type ApiDeps } from "./api/routes.js";
import { createEgressClient, type EgressClient } from "./builtins/egress-client.js";
import { createEgressPolicy } from "./builtins/egress-policy.js";
import { createBuiltinRegistry } from "./builtins/registry.js";
import { createBuiltinRunner } from "./dispatch/builtin-runner.js";
import { createDispatcher, type Dispatcher } from "./dispatch/dispatcher.js";
import type { DispatchObserver } from "./dispatch/observer.js";
import { createRunChanges, type RunChanges } from "./dispatch/run-changes.js";
import { createRunRetention, createScheduler, createWebhookDeliverer } from "./jobs/index.js";
import { createTriggerBuffer } from "./dispatch/trigger-buffer.js";
import { createWorkerPresence, registryRefreshMs } from "./dispatch/worker-presence.js";
import { checkPortFree } from "./http/port-check.js";
import { createHttpServer, type HttpServer } from "./http/server.js";
import type { LeaseStore } from "./leases/index.js";
import { openLeaseStore } from "./leases/open.js";
import type { Logger } from "./log.js";
import { createMetrics, type Metrics } from "./observability/metrics.js";
import { composeDispatchObservers, composeStoreObservers, createRunLog } from "./observability/run-log.js";
import { startTracing, type Tracing } from "./observability/tracing.js";
import { listenAddress, openWorkerRegistry, replicaId, type WorkerRegistry } from "./registry/index.js";
import { resolveAuthMode, startAccessControl, type AccessControl } from "./security/index.js";
import { migrateWhenReachable, openStore, vacuumWarning, type Store } from "./store/index.js";

/** The built web console (`npm run build:console`), committed with the source. */
const CONSOLE_DIR = fileURLToPath(new URL("../console/dist", import.meta.url));

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

/** Something to stop on close (or when start-up fails); they run in the reverse order of their adding. */
type Cleanup = () => Promise<unknown>;

/** What the parts after the store are built from. */
interface Base {
  config: Config;
  logger: Logger;
  store: Store;
  metrics: Metrics;
  tracing: Tracing;
  registry: WorkerRegistry;
  /** Who may call (empty when auth is off). */
  auth: Interceptor[];
  /** Adds what was just started to what `close()` (or a failed start) stops. */
  cleanups: Cleanup[];
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
  // Created first: the store, the dispatcher and the deliverer report to it from their first call.
  const metrics = createMetrics({ logger });
  const story = createRunLog(logger);
  const store = await openStore(config, logger, composeStoreObservers(metrics.store, story.store));
  // Off (no provider, no exporter, do-nothing hooks) unless an OTLP endpoint is configured.
  const tracing = startTracing({ endpoint: config.otlpEndpoint, logger });
  // Shut down last: spans that end while the rest closes are still exported.
  const cleanups: Cleanup[] = [() => tracing.shutdown(), () => store.close()];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch((err: unknown) => logger.warn({ err }, "cleanup failed"));
  };
  try {
    await migrateWhenReachable(store, { waitMs: config.databaseWaitMs, logger });
    const vacuum = vacuumWarning(await store.vacuumSettings());
    if (vacuum) logger.warn(vacuum);
    const leases = await openLeaseStore(config, logger);
    cleanups.push(() => leases.close());
    const registry = openWorkerRegistry(config, logger);
    cleanups.push(() => registry.close());
    const access = await startAuth(config, logger, store);
    cleanups.push(() => access.close());
    const base: Base = { config, logger, store, metrics, tracing, registry, auth: access.interceptors, cleanups };
    const replica = { id: replicaId(), address: "" }; // the address once it listens
    const presence = createWorkerPresence({
      registry,
      replica: () => replica,
      refreshMs: registryRefreshMs(config.dispatch.leaseTtlMs),
      logger,
    });
    cleanups.push(() => presence.close());
    const dispatcher = startDispatcher(base, leases, composeDispatchObservers(metrics.dispatch, story.dispatch));
    const changes = await followSignals(base, dispatcher);
    metrics.watch({ sessions: () => dispatcher.sessions(), readyTaskCounts: () => store.readyTaskCounts() });
    const http = createHttp(base, { dispatcher, presence, changes });
    const { port } = await http.listen();
    // ListWorkers shows it: the scheme a client must use to reach this replica.
    replica.address = listenAddress(config.host, port).replace(/^http:/, config.tlsCert ? "https:" : "http:");
    logger.info({ replica: replica.id, address: replica.address }, "worker registry: this replica");
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

/** API keys when the configuration asks for them (`src/security/`); a warning when it runs open on purpose. */
async function startAuth(config: Config, logger: Logger, store: Store): Promise<AccessControl> {
  const decision = resolveAuthMode(config);
  if ("error" in decision) throw new Error(decision.error);
  if (decision.warning) logger.warn(decision.warning);
  return startAccessControl({
    mode: decision.mode,
    access: store.access,
    adminKey: config.adminKey,
    auditRetentionDays: config.auditRetentionDays,
    logger,
    print: (text) => process.stderr.write(text),
  });
}

/** The dispatcher and the loops that feed it: the built-in runner, the cron scheduler, the webhook deliverer; retention. */
function startDispatcher(base: Base, leases: LeaseStore, observer: DispatchObserver): Dispatcher {
  const { config, logger, store, metrics, tracing, cleanups } = base;
  const dispatcher = createDispatcher({
    store,
    leases,
    logger,
    options: config.dispatch,
    maxPayloadBytes: config.maxPayloadBytes,
    observer,
    tracer: tracing.dispatch,
  });
  cleanups.push(() => dispatcher.close());
  const egress = startEgress(config, logger);
  const builtins = createBuiltinRunner({
    dispatcher,
    store,
    registry: createBuiltinRegistry(),
    logger,
    slots: config.builtinSlots,
    heartbeatIntervalMs: config.dispatch.heartbeatIntervalMs,
    defaultSecret: config.webhookSecret,
    maxOutputBytes: config.maxPayloadBytes,
    egress,
  });
  cleanups.push(() => builtins.close(config.shutdownGraceMs));
  const scheduler = createScheduler({
    store,
    logger,
    intervalMs: config.scheduleIntervalMs,
    tracer: tracing.triggers,
  });
  cleanups.push(async () => scheduler.stop());
  const deliverer = createWebhookDeliverer({
    store,
    logger,
    egress,
    defaultSecret: config.webhookSecret,
    retryMs: config.webhookRetryMs,
    pollMs: Math.min(500, config.webhookRetryMs),
    observer: metrics.dispatch,
  });
  cleanups.push(() => deliverer.stop());
  const retention = createRunRetention({
    store,
    logger,
    defaultRetentionMs: config.retentionMs,
    intervalMs: config.retentionIntervalMs,
  });
  cleanups.push(() => retention.stop());
  logger.info(
    {
      retention: config.retentionMs === undefined ? null : formatProtoDuration(BigInt(config.retentionMs) * 1_000_000n),
    },
    config.retentionMs === undefined
      ? "retention: unset, finished runs are kept forever (except workflows with their own retention)"
      : "retention: finished runs are deleted after the retention (a workflow's own retention wins)",
  );
  return dispatcher;
}

/**
 * The client of every outbound request (built-ins, run webhooks): with API
 * keys on, whoever defines a workflow must not reach the server's own
 * network, so the internal ranges are denied unless `--egress-allow` names
 * them; open on a laptop, where calling localhost is the point.
 */
function startEgress(config: Config, logger: Logger): EgressClient {
  const decision = resolveAuthMode(config);
  const denyInternal = "mode" in decision && decision.mode === "keys";
  logger.info(
    { denyInternal, allow: config.egressAllow, deny: config.egressDeny },
    denyInternal ? "egress: internal ranges denied (auth is on)" : "egress: internal ranges allowed (auth is off)",
  );
  return createEgressClient(createEgressPolicy({ allow: config.egressAllow, deny: config.egressDeny, denyInternal }));
}

/**
 * Signals from every replica (this one included) steer this one: queued
 * steps wake the dispatcher, cancels reach the tasks' workers, run changes
 * wake WatchRun streams (through the returned `RunChanges`).
 */
async function followSignals({ store, cleanups }: Base, dispatcher: Dispatcher): Promise<RunChanges> {
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
  return changes;
}

/** The one port with the API routes, the probes and `/metrics`; not yet listening. */
function createHttp(base: Base, parts: Pick<ApiDeps, "dispatcher" | "presence" | "changes">): HttpServer {
  const { config, logger, store, metrics, tracing, registry } = base;
  const triggers = createTriggerBuffer({
    trigger: (inputs) => store.triggerRuns(inputs),
    maxBatch: config.dispatch.triggerBatchSize,
    // Like completions: a few transactions at once on Postgres, one on PGlite's single connection.
    concurrency: config.dispatch.completionConcurrency,
  });
  const checks = createRequestChecks();
  return createHttpServer({
    routes: (router) =>
      registerRoutes(router, {
        ...parts,
        store,
        checks,
        logger,
        registry,
        heartbeatIntervalMs: config.dispatch.heartbeatIntervalMs,
        maxPayloadBytes: config.maxPayloadBytes,
        triggerRuns: (inputs) => triggers.submit(inputs),
        triggerTracer: tracing.triggers,
      }),
    port: config.port,
    host: config.host,
    corsOrigins: config.corsOrigins,
    maxRequestBytes: config.maxRequestBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    ready: () => store.ready(),
    metrics: () => metrics.scrape(),
    logger,
    tls: readServerTls(config),
    ...(config.tlsCert
      ? { tlsReload: { read: () => readServerTls(config)!, intervalMs: config.tlsReloadIntervalMs } }
      : {}),
    consoleDir: CONSOLE_DIR,
    interceptors: [createErrorInterceptor(logger), ...base.auth, checks.interceptor],
    earlyErrors: explainDecodeError({
      maxRequestBytes: config.maxRequestBytes,
      limitSetting: `--${OPTIONS.maxRequestBytes.flag} / ${OPTIONS.maxRequestBytes.env}`,
    }),
  });
}
