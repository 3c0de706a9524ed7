/**
 * Configuration: command-line flags override environment variables, which
 * override defaults. The README's configuration table mirrors `OPTIONS`.
 *
 * @example
 *   const config = loadConfig(process.argv.slice(2), process.env); // throws ConfigError
 */
import { parseArgs } from "node:util";
import { OPTIONS, type Option } from "./config-options.js";
import type { Config } from "./config-types.js";
import { parseEgressList } from "./builtins/egress-policy.js";
import { checkTlsSettings } from "./config-tls.js";
import { parseDurationNanos } from "./engine/duration-text.js";
import { resolveAuthMode } from "./security/auth-mode.js";
import { DEFAULT_DISPATCH_OPTIONS, type DispatchOptions } from "./dispatch/options.js";

export { OPTIONS };
export type { Config };

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

/**
 * Reads flags (`--port 9000`) and environment into a checked `Config`.
 *
 * @example
 *   loadConfig(["--port", "9000"], { DATABASE_URL: "postgres://localhost/weft" }).port; // 9000
 */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): Config {
  const s = readSettings(argv, env);
  const logLevel = s.raw("logLevel") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(`--log-level / LOG_LEVEL: expected one of ${LOG_LEVELS.join(", ")}, got "${logLevel}"`);
  }
  const databaseUrl = s.url("databaseUrl", ["postgres:", "postgresql:"]);
  const host = s.raw("host") ?? "127.0.0.1";
  const auth = s.oneOf("auth", ["auto", "keys", "none"] as const);
  const key = adminKey(s.raw("adminKey"));
  const decision = resolveAuthMode({ auth, host, adminKey: key });
  if ("error" in decision) throw new ConfigError(decision.error);
  return {
    port: s.int("port", 0, 65535),
    host,
    auth,
    adminKey: key,
    auditRetentionDays: s.int("auditRetentionDays", 0, 36_500),
    retentionMs: retention(s.raw("retentionMs")),
    retentionIntervalMs: s.int("retentionIntervalMs", 100, 86_400_000),
    databaseUrl,
    pgPreparedStatements: s.bool("pgPreparedStatements"),
    databaseWaitMs: s.int("databaseWaitMs", 0, 86_400_000),
    redisUrl: s.url("redisUrl", ["redis:", "rediss:"]),
    leasePrefix: leasePrefix(s.raw("leasePrefix") ?? "weft"),
    dataDir: s.raw("dataDir") ?? "./.weft/data",
    corsOrigins: (s.raw("corsOrigins") ?? "")
      .split(",")
      .map((o) => o.trim())
      .filter(Boolean),
    maxRequestBytes: s.int("maxRequestBytes", 1024, 1024 * 1024 * 1024),
    requestTimeoutMs: s.int("requestTimeoutMs", 1000, 3_600_000),
    logLevel,
    logFormat: s.oneOf("logFormat", ["json", "pretty"] as const),
    shutdownGraceMs: s.int("shutdownGraceMs", 0, 3_600_000),
    builtinSlots: s.int("builtinSlots", 1, 100_000),
    webhookSecret: s.raw("webhookSecret") ?? "",
    maxPayloadBytes: s.int("maxPayloadBytes", 64, 1024 * 1024 * 1024),
    webhookRetryMs: s.int("webhookRetryMs", 10, 3_600_000),
    scheduleIntervalMs: s.int("scheduleIntervalMs", 50, 3_600_000),
    otlpEndpoint: s.url("otlpEndpoint", ["http:", "https:"]),
    egressAllow: egressRules(s, "egressAllow"),
    egressDeny: egressRules(s, "egressDeny"),
    ...checkTlsSettings(s.raw, (msg) => new ConfigError(msg)),
    tlsClientAuth: tlsClientAuth(s),
    tlsReloadIntervalMs: s.int("tlsReloadIntervalMs", 100, 86_400_000),
    dispatch: dispatchOptions(s, databaseUrl !== undefined),
  };
}

/** `--retention`: a duration of at least a second, or unset. */
function retention(v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const nanos = parseDurationNanos(v);
  if (nanos === undefined || nanos < 1_000_000_000n || nanos > 100n * 365n * 86_400_000_000_000n) {
    throw new ConfigError(
      `--retention / WEFT_RETENTION: expected a duration from 1s to 100 years such as 30d, 12h or 90m, got "${v}"`,
    );
  }
  return Number(nanos / 1_000_000n);
}

/** Who must present a client certificate; `workers` needs a client CA to check them against. */
function tlsClientAuth(s: Settings): "all" | "workers" {
  const who = s.oneOf("tlsClientAuth", ["all", "workers"] as const);
  if (who === "workers" && s.raw("tlsClientCa") === undefined) {
    throw new ConfigError(
      "--tls-client-auth / WEFT_TLS_CLIENT_AUTH: workers needs --tls-client-ca, the CA their certificates chain to",
    );
  }
  return who;
}

/** An egress list, every entry checked: a bad one is named in a ConfigError (exit 2). */
function egressRules(s: Settings, key: "egressAllow" | "egressDeny"): string[] {
  try {
    return parseEgressList(s.raw(key) ?? "");
  } catch (err) {
    throw new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: ${(err as Error).message}`);
  }
}

function dispatchOptions(s: Settings, postgres: boolean): DispatchOptions {
  /** PGlite has one connection: more transactions in flight would only queue behind it. */
  const concurrency = (key: "completionConcurrency" | "claimConcurrency"): number =>
    !postgres ? 1 : s.raw(key) ? s.int(key, 1, 64) : DEFAULT_DISPATCH_OPTIONS[key];
  return {
    leaseTtlMs: s.int("leaseTtlMs", 500, 3_600_000),
    heartbeatIntervalMs: s.int("heartbeatIntervalMs", 100, 600_000),
    completionWindowMs: s.int("completionWindowMs", 0, 1000),
    completionBatchSize: s.int("completionBatchSize", 1, 10_000),
    completionConcurrency: concurrency("completionConcurrency"),
    claimConcurrency: concurrency("claimConcurrency"),
    claimBatchSize: s.int("claimBatchSize", 1, 10_000),
    triggerBatchSize: s.int("triggerBatchSize", 1, 10_000),
    sweepIntervalMs: s.int("sweepIntervalMs", 50, 60_000),
  };
}

/**
 * One setting at a time, typed and checked: its flag, else its environment
 * variable, else its default (an empty value counts as unset). A bad value
 * throws `ConfigError` naming both the flag and the variable.
 */
interface Settings {
  raw(key: OptionKey): string | undefined;
  int(key: OptionKey, min: number, max: number): number;
  bool(key: OptionKey): boolean;
  oneOf<T extends string>(key: OptionKey, values: readonly T[]): T;
  /** Undefined when unset; else a URL with one of `protocols` (`postgres:`). */
  url(key: OptionKey, protocols: string[]): string | undefined;
}

function readSettings(argv: string[], env: NodeJS.ProcessEnv): Settings {
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
  const bad = (key: OptionKey, what: string) =>
    new ConfigError(`--${OPTIONS[key].flag} / ${OPTIONS[key].env}: ${what}`);
  return {
    raw,
    int(key, min, max) {
      const v = raw(key) ?? "";
      const n = Number(v);
      if (!/^\d+$/.test(v) || n < min || n > max)
        throw bad(key, `expected an integer from ${min} to ${max}, got "${v}"`);
      return n;
    },
    bool(key) {
      const v = raw(key) ?? "";
      if (v !== "true" && v !== "false") throw bad(key, `expected true or false, got "${v}"`);
      return v === "true";
    },
    oneOf<T extends string>(key: OptionKey, values: readonly T[]): T {
      const v = raw(key) ?? "";
      if (!(values as readonly string[]).includes(v))
        throw bad(key, `expected one of ${values.join(", ")}, got "${v}"`);
      return v as T;
    },
    url(key, protocols) {
      const v = raw(key);
      if (v === undefined) return undefined;
      let parsed: URL;
      try {
        parsed = new URL(v);
      } catch {
        throw bad(key, `not a URL: "${v}"`);
      }
      if (!protocols.includes(parsed.protocol)) {
        throw bad(key, `expected ${protocols.join(" or ")} URL, got "${parsed.protocol}"`);
      }
      return v;
    },
  };
}
