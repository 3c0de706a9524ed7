/**
 * Configuration: command-line flags override environment variables, which
 * override defaults. The README's configuration table mirrors `OPTIONS`.
 *
 * @example
 *   const config = loadConfig(process.argv.slice(2), process.env); // throws ConfigError
 */
import { parseArgs } from "node:util";
import { OPTIONS, type Option } from "./config-options.js";
import { DEFAULT_DISPATCH_OPTIONS, type DispatchOptions } from "./dispatch/options.js";

export { OPTIONS };

export interface Config {
  port: number;
  host: string;
  /** Who may call: `keys` (API keys), `none`, or `auto` (decided at start from the host and `adminKey`). */
  auth: "auto" | "keys" | "none";
  /** The bootstrap admin key; never logged. */
  adminKey?: string;
  /** Days an audit event is kept (0: forever). */
  auditRetentionDays: number;
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
  /** `json` lines, or `pretty` lines for a terminal. */
  logFormat: "json" | "pretty";
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
  /** OTLP/HTTP collector base URL; undefined = tracing off. */
  otlpEndpoint?: string;
  dispatch: DispatchOptions;
}

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

/** The bootstrap admin key must be hard to guess; its value is never echoed. */
function adminKey(v: string | undefined): string | undefined {
  if (v === undefined) return undefined;
  if (v.length < 32 || v.length > 512 || !/^[\x21-\x7e]+$/.test(v)) {
    throw new ConfigError(
      `--admin-key / WEFT_ADMIN_KEY: expected 32 to 512 printable ASCII characters without spaces (e.g. openssl rand -hex 32), got ${v.length} characters`,
    );
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
  const oneOf = <T extends string>(key: OptionKey, values: readonly T[]): T => {
    const v = raw(key) ?? "";
    if (!(values as readonly string[]).includes(v)) {
      throw new ConfigError(
        `--${OPTIONS[key].flag} / ${OPTIONS[key].env}: expected one of ${values.join(", ")}, got "${v}"`,
      );
    }
    return v as T;
  };
  const logLevel = raw("logLevel") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level / LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const url = (key: "databaseUrl" | "redisUrl" | "otlpEndpoint", protocols: string[]): string | undefined => {
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
    host: raw("host") ?? "127.0.0.1",
    auth: oneOf("auth", ["auto", "keys", "none"] as const),
    adminKey: adminKey(raw("adminKey")),
    auditRetentionDays: int("auditRetentionDays", 0, 36_500),
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
    logFormat: oneOf("logFormat", ["json", "pretty"] as const),
    shutdownGraceMs: int("shutdownGraceMs", 0, 3_600_000),
    builtinSlots: int("builtinSlots", 1, 100_000),
    webhookSecret: raw("webhookSecret") ?? "",
    maxPayloadBytes: int("maxPayloadBytes", 64, 1024 * 1024 * 1024),
    webhookRetryMs: int("webhookRetryMs", 10, 3_600_000),
    scheduleIntervalMs: int("scheduleIntervalMs", 50, 3_600_000),
    otlpEndpoint: url("otlpEndpoint", ["http:", "https:"]),
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
