/**
 * Configuration: command-line flags override environment variables, which
 * override defaults. The README's configuration table mirrors `OPTIONS`.
 *
 * @example
 *   const config = loadConfig(process.argv.slice(2), process.env); // throws ConfigError
 */
import { parseArgs } from "node:util";
import { DEFAULT_DISPATCH_OPTIONS, type DispatchOptions } from "./dispatch/options.js";

export interface Config {
  port: number;
  host: string;
  /** Postgres URL; undefined = embedded PGlite under `dataDir`. */
  databaseUrl?: string;
  /** Redis URL; undefined = in-process leases. */
  redisUrl?: string;
  dataDir: string;
  corsOrigins: string[];
  maxRequestBytes: number;
  logLevel: string;
  shutdownGraceMs: number;
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
  databaseUrl: { flag: "database-url", env: "DATABASE_URL", default: undefined, help: "Postgres URL; unset: embedded PGlite" },
  redisUrl: { flag: "redis-url", env: "REDIS_URL", default: undefined, help: "Redis URL for leases; unset: in-process" },
  dataDir: { flag: "data-dir", env: "WEFT_DATA_DIR", default: "./.weft/data", help: "PGlite data folder (embedded mode)" },
  corsOrigins: {
    flag: "cors-origins",
    env: "WEFT_CORS_ORIGINS",
    default: "http://localhost:*,http://127.0.0.1:*",
    help: "comma-separated browser origins allowed by CORS (`*` = any; `:*` = any port)",
  },
  maxRequestBytes: { flag: "max-request-bytes", env: "WEFT_MAX_REQUEST_BYTES", default: "4194304", help: "larger requests get RESOURCE_EXHAUSTED" },
  logLevel: { flag: "log-level", env: "LOG_LEVEL", default: "info", help: "trace, debug, info, warn, error, fatal or silent" },
  shutdownGraceMs: { flag: "shutdown-grace-ms", env: "WEFT_SHUTDOWN_GRACE_MS", default: "10000", help: "how long in-flight calls may finish after SIGTERM" },
  leaseTtlMs: { flag: "lease-ttl-ms", env: "WEFT_LEASE_TTL_MS", default: String(DEFAULT_DISPATCH_OPTIONS.leaseTtlMs), help: "lease of a task without heartbeat_timeout; a lost task is offered again within about this long" },
  heartbeatIntervalMs: { flag: "heartbeat-interval-ms", env: "WEFT_HEARTBEAT_INTERVAL_MS", default: String(DEFAULT_DISPATCH_OPTIONS.heartbeatIntervalMs), help: "how often workers heartbeat running tasks" },
  completionWindowMs: { flag: "completion-window-ms", env: "WEFT_COMPLETION_WINDOW_MS", default: String(DEFAULT_DISPATCH_OPTIONS.completionWindowMs), help: "group-commit window for task results" },
  completionBatchSize: { flag: "completion-batch", env: "WEFT_COMPLETION_BATCH", default: String(DEFAULT_DISPATCH_OPTIONS.completionBatchSize), help: "results per completion transaction at most" },
  claimBatchSize: { flag: "claim-batch", env: "WEFT_CLAIM_BATCH", default: String(DEFAULT_DISPATCH_OPTIONS.claimBatchSize), help: "tasks claimed per query at most" },
  triggerBatchSize: { flag: "trigger-batch", env: "WEFT_TRIGGER_BATCH", default: String(DEFAULT_DISPATCH_OPTIONS.triggerBatchSize), help: "queued trigger calls started per transaction at most" },
  sweepIntervalMs: { flag: "sweep-interval-ms", env: "WEFT_SWEEP_INTERVAL_MS", default: String(DEFAULT_DISPATCH_OPTIONS.sweepIntervalMs), help: "period of the lease-expiry / timeout / retry sweep" },
} satisfies Record<Exclude<keyof Config, "dispatch"> | keyof Omit<DispatchOptions, "completionConcurrency">, Option>;

type OptionKey = keyof typeof OPTIONS;

/** A setting that cannot be used; the CLI prints it and exits with code 2. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];

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
      throw new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected an integer from ${min} to ${max}, got "${v}"`);
    }
    return n;
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
      throw new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected ${protocols.join(" or ")} URL, got "${parsed.protocol}"`);
    }
    return v;
  };
  const databaseUrl = url("databaseUrl", ["postgres:", "postgresql:"]);
  return {
    port: int("port", 0, 65535),
    host: raw("host") ?? "0.0.0.0",
    databaseUrl,
    redisUrl: url("redisUrl", ["redis:", "rediss:"]),
    dataDir: raw("dataDir") ?? "./.weft/data",
    corsOrigins: (raw("corsOrigins") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
    maxRequestBytes: int("maxRequestBytes", 1024, 1024 * 1024 * 1024),
    logLevel,
    shutdownGraceMs: int("shutdownGraceMs", 0, 3_600_000),
    dispatch: {
      leaseTtlMs: int("leaseTtlMs", 500, 3_600_000),
      heartbeatIntervalMs: int("heartbeatIntervalMs", 100, 600_000),
      completionWindowMs: int("completionWindowMs", 0, 1000),
      completionBatchSize: int("completionBatchSize", 1, 10_000),
      completionConcurrency: databaseUrl ? DEFAULT_DISPATCH_OPTIONS.completionConcurrency : 1,
      claimBatchSize: int("claimBatchSize", 1, 10_000),
      triggerBatchSize: int("triggerBatchSize", 1, 10_000),
      sweepIntervalMs: int("sweepIntervalMs", 50, 60_000),
    },
  };
}
