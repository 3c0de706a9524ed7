/**
 * Configuration: command-line flags override environment variables, which
 * override defaults. The README's configuration table mirrors `OPTIONS`.
 *
 * @example
 *   const config = loadConfig(process.argv.slice(2), process.env); // throws ConfigError
 */
import { parseArgs } from "node:util";
import { DEFAULT_DISPATCH_OPTIONS, type DispatchOptions } from "./dispatch/options.js";
import { DEFAULT_REQUEST_TIMEOUT_MS } from "./http/slow-requests.js";

export interface Config {
  port: number;
  host: string;
  /** Postgres URL; undefined = embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Repeated Postgres statements as named (prepared) statements; off behind poolers that cannot carry them. */
  pgPreparedStatements: boolean;
  /** How long a starting server retries an unreachable database before giving up (ms; 0: no retry). */
  databaseWaitMs: number;
  /** Redis URL; undefined = in-process leases. */
  redisUrl?: string;
  /** Key namespace (hash tag) of the leases in Redis: one per deployment sharing a Redis. */
  leasePrefix: string;
  dataDir: string;
  corsOrigins: string[];
  maxRequestBytes: number;
  /** Longest a client may take to send a request (worker streams excepted); slower ones are cut off. */
  requestTimeoutMs: number;
  logLevel: string;
  shutdownGraceMs: number;
  /** Built-in tasks (http.request, delay, …) this replica runs at once. */
  builtinSlots: number;
  /** Default HMAC secret for webhooks; empty = unsigned unless the workflow has its own. */
  webhookSecret: string;
  /** Largest run input or step output, in bytes of JSON. */
  maxPayloadBytes: number;
  /** First retry delay of a failed webhook delivery (doubles up to 10 min). */
  webhookRetryMs: number;
  /** Longest pause between two passes of the cron scheduler. */
  scheduleIntervalMs: number;
  dispatch: DispatchOptions;
}

interface Option {
  flag: string;
  env: string;
  default: string | undefined;
  help: string;
}

/** Every setting: its flag, its environment variable, its default. */
export const OPTIONS = {
  port: { flag: "port", env: "PORT", default: "8080", help: "TCP port serving gRPC, Connect and gRPC-Web" },
  host: { flag: "host", env: "HOST", default: "0.0.0.0", help: "address to listen on" },
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

type OptionKey = keyof typeof OPTIONS;

/** A setting that cannot be used; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

/** A lease prefix becomes a Redis hash tag: no braces, not empty. */
function leasePrefix(v: string): string {
  if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v)) {
    throw new ConfigError(`--lease-prefix / WEFT_LEASE_PREFIX: 1 to 64 letters, digits or _.:- characters, got "${v}"`);
  }
  return v;
}

/** Reads flags (`--port 9000`) and environment into a checked `Config`. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const flags = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.values(OPTIONS).map((o) => [o.flag, { type: "string" as const }])),
    strict: true,
    allowPositionals: false,
  }).values as Record<string, string | undefined>;
  const raw = (key: OptionKey): string | undefined => {
    const o: Option = OPTIONS[key];
    const v = flags[o.flag] ?? env[o.env];
    return v === undefined || v === "" ? o.default : v;
  };
  const int = (key: OptionKey, min: number, max: number): number => {
    const v = raw(key) ?? "";
    const n = Number(v);
    if (!/^\d+$/.test(v) || n < min || n > max) {
      throw new ConfigError(
        `--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected an integer from ${min} to ${max}, got "${v}"`,
      );
    }
    return n;
  };
  const bool = (key: OptionKey): boolean => {
    const v = raw(key) ?? "";
    if (v !== "true" && v !== "false") {
      throw new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected true or false, got "${v}"`);
    }
    return v === "true";
  };
  const logLevel = raw("logLevel") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level / LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const url = (key: "databaseUrl" | "redisUrl", protocols: string[]): string | undefined => {
    const v = raw(key);
    if (v === undefined) return undefined;
    let parsed: URL;
    try {
      parsed = new URL(v);
    } catch {
      throw new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: not a URL: "${v}"`);
    }
    if (!protocols.includes(parsed.protocol)) {
      throw new ConfigError(
        `--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected ${protocols.join(" or ")} URL, got "${parsed.protocol}"`,
      );
    }
    return v;
  };
  const databaseUrl = url("databaseUrl", ["postgres:", "postgresql:"]);
  /** PGlite has one connection: more transactions in flight would only queue behind it. */
  const concurrency = (key: "completionConcurrency" | "claimConcurrency"): number =>
    !databaseUrl ? 1 : raw(key) ? int(key, 1, 64) : DEFAULT_DISPATCH_OPTIONS[key];
  return {
    port: int("port", 0, 65535),
    host: raw("host") ?? "0.0.0.0",
    databaseUrl,
    pgPreparedStatements: bool("pgPreparedStatements"),
    databaseWaitMs: int("databaseWaitMs", 0, 86_400_000),
    redisUrl: url("redisUrl", ["redis:", "rediss:"]),
    leasePrefix: leasePrefix(raw("leasePrefix") ?? "weft"),
    dataDir: raw("dataDir") ?? "./.weft/data",
    corsOrigins: (raw("corsOrigins") ?? "")
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean),
    maxRequestBytes: int("maxRequestBytes", 1024, 1024 * 1024 * 1024),
    requestTimeoutMs: int("requestTimeoutMs", 1000, 3_600_000),
    logLevel,
    shutdownGraceMs: int("shutdownGraceMs", 0, 3_600_000),
    builtinSlots: int("builtinSlots", 1, 100_000),
    webhookSecret: raw("webhookSecret") ?? "",
    maxPayloadBytes: int("maxPayloadBytes", 64, 1024 * 1024 * 1024),
    webhookRetryMs: int("webhookRetryMs", 10, 3_600_000),
    scheduleIntervalMs: int("scheduleIntervalMs", 50, 3_600_000),
    dispatch: {
      leaseTtlMs: int("leaseTtlMs", 500, 3_600_000),
      heartbeatIntervalMs: int("heartbeatIntervalMs", 100, 600_000),
      completionWindowMs: int("completionWindowMs", 0, 1000),
      completionBatchSize: int("completionBatchSize", 1, 10_000),
      completionConcurrency: concurrency("completionConcurrency"),
      claimConcurrency: concurrency("claimConcurrency"),
      claimBatchSize: int("claimBatchSize", 1, 10_000),
      triggerBatchSize: int("triggerBatchSize", 1, 10_000),
      sweepIntervalMs: int("sweepIntervalMs", 50, 60_000),
    },
  };
}
