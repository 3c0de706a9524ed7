/**
 * Every setting of the server: its flag, its environment variable, its
 * default and its help line. `loadConfig` (config.ts) reads them; the README's
 * configuration table and `weft serve --help` list them.
 *
 * @example
 *   const port = process.env[OPTIONS.port.env] ?? OPTIONS.port.default;
 */
import type { Config } from "./config-types.js";
import { DEFAULT_DISPATCH_OPTIONS, type DispatchOptions } from "./dispatch/options.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./http/slow-requests.js";

export interface Option {
  flag: string;
  env: string;
  default: string | undefined;
  help: string;
}

/** Every setting: its flag, its environment variable, its default. */
export const OPTIONS = {
  port: { flag: "port", env: "PORT", default: "8080", help: "TCP port serving gRPC, Connect and gRPC-Web" },
  host: {
    flag: "host",
    env: "HOST",
    default: "127.0.0.1",
    help: "address to listen on (0.0.0.0 or :: for every interface: then --auth decides who may call)",
  },
  auth: {
    flag: "auth",
    env: "WEFT_AUTH",
    default: "auto",
    help: "keys (every call needs an API key), none (anyone who reaches the port may do anything), or auto: keys when WEFT_ADMIN_KEY is set, none on a loopback address, else refuse to start",
  },
  adminKey: {
    flag: "admin-key",
    env: "WEFT_ADMIN_KEY",
    default: undefined,
    help: "bootstrap admin key (at least 32 printable characters; prefer the variable: a flag shows in process lists); unset with --auth keys: an admin key is created and printed once at first start",
  },
  auditRetentionDays: {
    flag: "audit-retention-days",
    env: "WEFT_AUDIT_RETENTION_DAYS",
    default: "90",
    help: "days the audit trail keeps an event; 0: forever",
  },
  retentionMs: {
    flag: "retention",
    env: "WEFT_RETENTION",
    default: undefined,
    help: "how long finished runs are kept (30d, 12h, 90m), then deleted with their steps, history and webhook deliveries; a workflow's own retention wins; unset: kept forever",
  },
  retentionIntervalMs: {
    flag: "retention-interval-ms",
    env: "WEFT_RETENTION_INTERVAL_MS",
    default: "60000",
    help: "how often a replica runs a retention pass (one replica deletes at a time)",
  },
  databaseUrl: {
    flag: "database-url",
    env: "DATABASE_URL",
    default: undefined,
    help: "Postgres URL; unset: embedded PGlite",
  },
  pgPreparedStatements: {
    flag: "pg-prepared-statements",
    env: "WEFT_PG_PREPARED_STATEMENTS",
    default: "true",
    help: "run repeated Postgres statements as prepared statements (parsed once per connection, plans kept up to a minute); false behind PgBouncer in transaction mode before 1.21",
  },
  databaseWaitMs: {
    flag: "database-wait-ms",
    env: "WEFT_DATABASE_WAIT_MS",
    default: "300000",
    help: "how long a starting server waits for an unreachable database (retrying with backoff, logging each try) before exiting with code 1; 0: exit at once",
  },
  redisUrl: {
    flag: "redis-url",
    env: "REDIS_URL",
    default: undefined,
    help: "Redis URL for leases; unset: in-process",
  },
  leasePrefix: {
    flag: "lease-prefix",
    env: "WEFT_LEASE_PREFIX",
    default: "weft",
    help: "namespace of the lease keys in Redis; deployments sharing one Redis need different ones (replicas of one share it)",
  },
  dataDir: {
    flag: "data-dir",
    env: "WEFT_DATA_DIR",
    default: "./.weft/data",
    help: "PGlite data folder (embedded mode)",
  },
  corsOrigins: {
    flag: "cors-origins",
    env: "WEFT_CORS_ORIGINS",
    default: "http://localhost:*,http://127.0.0.1:*",
    help: "comma-separated browser origins allowed by CORS (`*` = any; `:*` = any port)",
  },
  maxRequestBytes: {
    flag: "max-request-bytes",
    env: "WEFT_MAX_REQUEST_BYTES",
    default: "4194304",
    help: "larger requests get RESOURCE_EXHAUSTED",
  },
  requestTimeoutMs: {
    flag: "request-timeout-ms",
    env: "WEFT_REQUEST_TIMEOUT_MS",
    default: String(DEFAULT_REQUEST_TIMEOUT_MS),
    help: "longest a client may take to send a request (HTTP/1.1 headers and body, an HTTP/2 request body; worker streams excepted) or keep an HTTP/2 connection without a call; slower ones are closed",
  },
  logLevel: {
    flag: "log-level",
    env: "LOG_LEVEL",
    default: "info",
    help: "trace, debug, info, warn, error, fatal or silent",
  },
  logFormat: {
    flag: "log-format",
    env: "WEFT_LOG_FORMAT",
    default: "json",
    help: "json (one object per line, for log stores) or pretty (a short readable line, for a terminal)",
  },
  shutdownGraceMs: {
    flag: "shutdown-grace-ms",
    env: "WEFT_SHUTDOWN_GRACE_MS",
    default: "10000",
    help: "how long in-flight calls may finish after SIGTERM",
  },
  builtinSlots: {
    flag: "builtin-slots",
    env: "WEFT_BUILTIN_SLOTS",
    default: "64",
    help: "built-in tasks (http.request, delay, webhook, transform) run at once per replica",
  },
  webhookSecret: {
    flag: "webhook-secret",
    env: "WEFT_WEBHOOK_SECRET",
    default: "",
    help: "default HMAC-SHA256 secret signing webhooks (x-weft-signature); empty: unsigned unless a workflow sets webhooks.secret",
  },
  maxPayloadBytes: {
    flag: "max-payload-bytes",
    env: "WEFT_MAX_PAYLOAD_BYTES",
    default: "1048576",
    help: "largest run input or step output (JSON bytes); larger ones are refused naming the run and step",
  },
  webhookRetryMs: {
    flag: "webhook-retry-ms",
    env: "WEFT_WEBHOOK_RETRY_MS",
    default: "1000",
    help: "first retry delay of a failed webhook delivery; doubles up to 10 minutes",
  },
  scheduleIntervalMs: {
    flag: "schedule-interval-ms",
    env: "WEFT_SCHEDULE_INTERVAL_MS",
    default: "1000",
    help: "longest pause between cron scheduler passes (it also wakes at each tick); new or changed schedules are seen within this",
  },
  // Transport security, one block (config-tls.ts checks it): TLS on the one port, optionally mTLS.
  tlsCert: {
    flag: "tls-cert",
    env: "WEFT_TLS_CERT",
    default: undefined,
    help: "PEM certificate (chain) file: serve gRPC, Connect and gRPC-Web over TLS on the one port (ALPN h2 and http/1.1); needs --tls-key",
  },
  tlsKey: {
    flag: "tls-key",
    env: "WEFT_TLS_KEY",
    default: undefined,
    help: "PEM private key file of --tls-cert",
  },
  tlsClientCa: {
    flag: "tls-client-ca",
    env: "WEFT_TLS_CLIENT_CA",
    default: undefined,
    help: "PEM CA file: every connection must present a client certificate signed by it (mTLS for every caller, probes and /metrics included); needs --tls-cert",
  },
  tlsReloadIntervalMs: {
    flag: "tls-reload-interval-ms",
    env: "WEFT_TLS_RELOAD_INTERVAL_MS",
    default: "60000",
    help: "how often the TLS files are read again; changed ones are applied to new connections (renewal without a restart)",
  },
  tlsClientAuth: {
    flag: "tls-client-auth",
    env: "WEFT_TLS_CLIENT_AUTH",
    default: "all",
    help: "who must present a certificate of --tls-client-ca: all (refused in the TLS handshake) or workers (the worker stream needs one; other calls may come without)",
  },
  otlpEndpoint: {
    flag: "otlp-endpoint",
    env: "OTEL_EXPORTER_OTLP_ENDPOINT",
    default: undefined,
    help: "OTLP/HTTP collector base URL (spans go to <url>/v1/traces as JSON); unset: tracing off",
  },
  egressAllow: {
    flag: "egress-allow",
    env: "WEFT_EGRESS_ALLOW",
    default: "",
    help: "comma-separated hosts (api.internal, *.corp.example) and networks (10.1.0.0/16, fd00::/8, 10.0.0.5) http.request, webhook and run webhooks may call even in the loopback, private, link-local and metadata ranges denied while auth is on",
  },
  egressDeny: {
    flag: "egress-deny",
    env: "WEFT_EGRESS_DENY",
    default: "",
    help: "comma-separated hosts and networks they may never call, whatever --egress-allow says; checked on the address connected to and on every redirect",
  },
  leaseTtlMs: {
    flag: "lease-ttl-ms",
    env: "WEFT_LEASE_TTL_MS",
    default: String(DEFAULT_DISPATCH_OPTIONS.leaseTtlMs),
    help: "lease of a task without heartbeat_timeout; a lost task is offered again within about this long",
  },
  heartbeatIntervalMs: {
    flag: "heartbeat-interval-ms",
    env: "WEFT_HEARTBEAT_INTERVAL_MS",
    default: String(DEFAULT_DISPATCH_OPTIONS.heartbeatIntervalMs),
    help: "how often workers heartbeat running tasks",
  },
  completionWindowMs: {
    flag: "completion-window-ms",
    env: "WEFT_COMPLETION_WINDOW_MS",
    default: String(DEFAULT_DISPATCH_OPTIONS.completionWindowMs),
    help: "group-commit window for task results",
  },
  completionBatchSize: {
    flag: "completion-batch",
    env: "WEFT_COMPLETION_BATCH",
    default: String(DEFAULT_DISPATCH_OPTIONS.completionBatchSize),
    help: "results per completion transaction at most",
  },
  completionConcurrency: {
    flag: "completion-concurrency",
    env: "WEFT_COMPLETION_CONCURRENCY",
    default: "",
    help: `completion transactions in flight at once (unset: ${DEFAULT_DISPATCH_OPTIONS.completionConcurrency} on Postgres; PGlite always 1)`,
  },
  claimBatchSize: {
    flag: "claim-batch",
    env: "WEFT_CLAIM_BATCH",
    default: String(DEFAULT_DISPATCH_OPTIONS.claimBatchSize),
    help: "tasks claimed per query at most",
  },
  claimConcurrency: {
    flag: "claim-concurrency",
    env: "WEFT_CLAIM_CONCURRENCY",
    default: "",
    help: `claims in flight at once, one per worker stream (unset: ${DEFAULT_DISPATCH_OPTIONS.claimConcurrency} on Postgres; PGlite always 1)`,
  },
  triggerBatchSize: {
    flag: "trigger-batch",
    env: "WEFT_TRIGGER_BATCH",
    default: String(DEFAULT_DISPATCH_OPTIONS.triggerBatchSize),
    help: "queued trigger calls started per transaction at most",
  },
  sweepIntervalMs: {
    flag: "sweep-interval-ms",
    env: "WEFT_SWEEP_INTERVAL_MS",
    default: String(DEFAULT_DISPATCH_OPTIONS.sweepIntervalMs),
    help: "period of the lease-expiry / timeout / retry sweep",
  },
} satisfies Record<Exclude<keyof Config, "dispatch"> | keyof DispatchOptions, Option>;
