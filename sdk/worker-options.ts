/**
 * Worker options, their defaults and their checks (the same limits the
 * server applies to `hello`, so a mistake fails at construction instead of
 * as an `INVALID_ARGUMENT` on the stream).
 *
 * @example
 * ```ts
 * const opts = resolveWorkerOptions({ address: "http://127.0.0.1:8080", name: "billing-1", slots: 4 });
 * opts.addresses; // ["http://127.0.0.1:8080"]
 * ```
 */
import { createBackoff } from "./backoff.js";
import { tlsConnectOptions, type TlsFiles } from "./client.js";
import type { LinkOptions } from "./link.js";

/** `(level, message, fields)`; plug pino, console or nothing. */
export type WorkerLogger = (
  level: "debug" | "info" | "warn" | "error",
  msg: string,
  fields?: Record<string, unknown>,
) => void;

export interface WorkerOptions {
  /** Control-plane URL, or several: each connect attempt takes the next one. */
  address: string | string[];
  /** Shown in logs and on step runs; 1–256 characters. */
  name: string;
  /** Tasks run at once; 1–10,000. Default 1. */
  slots?: number;
  /** Free-form labels sent in `hello` (at most 64). */
  labels?: Record<string, string>;
  /** Default: warnings and errors to `console.error`. */
  logger?: WorkerLogger;
  /** Backoff between connect attempts. Default 100 ms doubling to 5 s, full jitter. */
  reconnect?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long stop() lets running handlers finish before aborting them. Default 10 s. */
  drainGraceMs?: number;
  /** SIGTERM/SIGINT → stop(); a second signal ends the grace period at once. Default false. */
  handleSignals?: boolean;
  /** Extra headers on the stream, e.g. `{ authorization: "Bearer …" }`. */
  headers?: Record<string, string>;
  /** The namespace whose tasks the worker takes, sent as `weft-namespace` (default: the key's only one, else `default`). */
  namespace?: string;
  /** A connect attempt without `welcome` within this long is abandoned. Default 10 s. */
  welcomeTimeoutMs?: number;
  /** How long stop() waits for the last results to be acknowledged. Default 5 s. */
  ackWaitMs?: number;
  /** Results encoded larger than this fail with OUTPUT_TOO_LARGE. Default 4 MiB − 64 KiB. */
  maxResultBytes?: number;
  /** HTTP/2 PING interval that detects dead connections. Default 15 s. */
  pingIntervalMs?: number;
  /**
   * A result not acknowledged this long is sent again on the open stream
   * (a server that could not record it asks sooner, with `retry_later`).
   * Default 5 s.
   */
  resultResendMs?: number;
  /**
   * Share one HTTP/2 connection per address (and PING interval) with the
   * other `Worker`s of this process, each its own stream on it. Default
   * true; false gives this worker a connection of its own.
   */
  shareConnection?: boolean;
  /**
   * PEM files for `https://` addresses: `caFile` when the server's
   * certificate is not from a public CA, `certFile` and `keyFile` when it
   * requires a client certificate (mTLS). Read (and checked) at construction.
   */
  tls?: TlsFiles;
}

/** Options with every default applied. */
export interface ResolvedWorkerOptions {
  addresses: string[];
  name: string;
  slots: number;
  labels: Record<string, string>;
  logger: WorkerLogger;
  initialDelayMs: number;
  maxDelayMs: number;
  drainGraceMs: number;
  handleSignals: boolean;
  headers: Record<string, string>;
  welcomeTimeoutMs: number;
  ackWaitMs: number;
  maxResultBytes: number;
  pingIntervalMs: number;
  resultResendMs: number;
  shareConnection: boolean;
  tls: TlsFiles | undefined;
}

/** The action-name rule of the contract. */
export const ACTION_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/**
 * Apply defaults and check limits; throws a `TypeError` naming the option.
 *
 * @example
 * ```ts
 * resolveWorkerOptions({ address: [], name: "w" }); // TypeError: address: at least one URL
 * ```
 */
export function resolveWorkerOptions(o: WorkerOptions): ResolvedWorkerOptions {
  const addresses = (Array.isArray(o.address) ? o.address : [o.address]).map((a) =>
    normalizeAddress(a, o.tls !== undefined),
  );
  if (addresses.length === 0) throw new TypeError("address: at least one URL");
  if (typeof o.name !== "string" || o.name.length < 1 || o.name.length > 256) {
    throw new TypeError("name: 1 to 256 characters");
  }
  const slots = o.slots ?? 1;
  if (!Number.isInteger(slots) || slots < 1 || slots > 10_000) throw new TypeError("slots: an integer from 1 to 10000");
  const labels = { ...o.labels };
  if (Object.keys(labels).length > 64) throw new TypeError("labels: at most 64");
  for (const [k, v] of Object.entries(labels)) {
    if (k.length < 1 || k.length > 128) throw new TypeError(`labels: key "${k}" must have 1 to 128 characters`);
    if (typeof v !== "string" || v.length > 1024)
      throw new TypeError(`labels.${k}: a string of at most 1024 characters`);
  }
  const initialDelayMs = positive("reconnect.initialDelayMs", o.reconnect?.initialDelayMs ?? 100);
  const maxDelayMs = positive("reconnect.maxDelayMs", o.reconnect?.maxDelayMs ?? 5_000);
  return {
    addresses,
    name: o.name,
    slots,
    labels,
    logger: o.logger ?? consoleLogger,
    initialDelayMs,
    maxDelayMs: Math.max(initialDelayMs, maxDelayMs),
    drainGraceMs: nonNegative("drainGraceMs", o.drainGraceMs ?? 10_000),
    handleSignals: o.handleSignals ?? false,
    headers: { ...o.headers, ...(o.namespace ? { "weft-namespace": o.namespace } : {}) },
    welcomeTimeoutMs: positive("welcomeTimeoutMs", o.welcomeTimeoutMs ?? 10_000),
    ackWaitMs: nonNegative("ackWaitMs", o.ackWaitMs ?? 5_000),
    maxResultBytes: positive("maxResultBytes", o.maxResultBytes ?? 4 * 1024 * 1024 - 64 * 1024),
    pingIntervalMs: positive("pingIntervalMs", o.pingIntervalMs ?? 15_000),
    resultResendMs: positive("resultResendMs", o.resultResendMs ?? 5_000),
    shareConnection: o.shareConnection ?? true,
    tls: checkTls(o.tls),
  };
}

/**
 * What the link needs of the options: addresses, timeouts, backoff, and the
 * `hello` built anew for each attempt (with the actions registered by then).
 *
 * @example
 * ```ts
 * const link = createLink(linkOptions(opts, () => ["charge"]), handlers);
 * ```
 */
export function linkOptions(o: ResolvedWorkerOptions, actions: () => string[]): LinkOptions {
  return {
    addresses: o.addresses,
    headers: o.headers,
    welcomeTimeoutMs: o.welcomeTimeoutMs,
    pingIntervalMs: o.pingIntervalMs,
    shareConnection: o.shareConnection,
    tls: o.tls,
    backoff: createBackoff({ initialDelayMs: o.initialDelayMs, maxDelayMs: o.maxDelayMs }),
    hello: () => ({
      workerName: o.name,
      actions: actions(),
      slots: o.slots,
      labels: o.labels,
      acceptsBatches: true,
      acceptsJson: true,
    }),
  };
}

/** `host:port` → `http://host:port` (`https://` with `tls` options); a trailing slash is dropped. */
function normalizeAddress(a: string, tls: boolean): string {
  if (typeof a !== "string" || a.trim() === "") throw new TypeError("address: a URL such as http://127.0.0.1:8080");
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(a) ? a : `${tls ? "https" : "http"}://${a}`;
  try {
    new URL(withScheme);
  } catch (err) {
    throw new TypeError(`address: "${a}" is not a URL`, { cause: err });
  }
  return withScheme.replace(/\/+$/, "");
}

/** A file that cannot be read fails at construction, naming the option, not on every connect attempt. */
function checkTls(tls: TlsFiles | undefined): TlsFiles | undefined {
  if (tls === undefined) return undefined;
  try {
    tlsConnectOptions(tls);
  } catch (err) {
    throw new TypeError(`tls.${(err as Error).message}`, { cause: err });
  }
  return { ...tls };
}

function positive(name: string, v: number): number {
  if (!Number.isFinite(v) || v <= 0) throw new TypeError(`${name}: a positive number`);
  return v;
}

function nonNegative(name: string, v: number): number {
  if (!Number.isFinite(v) || v < 0) throw new TypeError(`${name}: zero or more`);
  return v;
}

const consoleLogger: WorkerLogger = (level, msg, fields) => {
  if (level === "warn" || level === "error") console.error(`weft worker ${level}: ${msg}`, fields ?? "");
};
