/**
 * The server's settings once read and checked (`loadConfig` in config.ts).
 * Its own file because both config.ts, which fills it, and config-options.ts,
 * whose `OPTIONS` must name every field, need it: neither imports the other's
 * types back, so the two stay out of a cycle. Import it from config.ts.
 */
import type { DispatchOptions } from "./dispatch/options.js";

export interface Config {
  port: number;
  host: string;
  /** Who may call: `keys` (API keys), `none`, or `auto` (decided at start from the host and `adminKey`). */
  auth: "auto" | "keys" | "none";
  /** The bootstrap admin key; never logged. */
  adminKey?: string;
  /** Days an audit event is kept (0: forever). */
  auditRetentionDays: number;
  /** How long finished runs are kept by default (ms); undefined keeps them. */
  retentionMs: number | undefined;
  /** How often a retention pass runs (ms). */
  retentionIntervalMs: number;
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
  // Transport security (checked by config-tls.ts); all unset: cleartext h2c and HTTP/1.1.
  /** PEM certificate (chain) file; with `tlsKey`, the port speaks TLS only. */
  tlsCert?: string;
  /** PEM private key file of `tlsCert`. */
  tlsKey?: string;
  /** PEM CA file: every connection must present a client certificate it signed. */
  tlsClientCa?: string;
  /** How often the TLS files are read again (changed ones apply to new connections). */
  tlsReloadIntervalMs: number;
  /** With `tlsClientCa`: every connection needs a certificate (`all`), or only the worker stream (`workers`). */
  tlsClientAuth: "all" | "workers";
  /** OTLP/HTTP collector base URL; undefined = tracing off. */
  otlpEndpoint?: string;
  // Outbound requests (src/builtins/egress-policy.ts): rules checked at start, as given.
  /** Hosts and networks built-ins and run webhooks may call even inside the ranges denied while auth is on. */
  egressAllow: string[];
  /** Hosts and networks they may never call; wins over everything. */
  egressDeny: string[];
  dispatch: DispatchOptions;
}
