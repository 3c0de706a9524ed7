/**
 * Who this control-plane process is, for the worker registry: an id made at
 * start and the address it listens on.
 *
 * @example
 * ```ts
 * const replica = { id: replicaId(), address: listenAddress(config.host, port) };
 * ```
 */
import { randomBytes } from "node:crypto";
import { hostname } from "node:os";

/**
 * `<hostname>:<pid>:<6 hex>`: readable, and unique even where every
 * container's server is pid 1 on a reused host name.
 *
 * @example
 * ```ts
 * replicaId(); // "web-7f9c:1:3fa2c1"
 * ```
 */
export function replicaId(): string {
  return `${hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
}

/**
 * The address others can reach this process at: the configured host, or the
 * host name when it listens on every interface (`0.0.0.0`, `::`).
 *
 * @example
 * ```ts
 * listenAddress("0.0.0.0", 8080); // "http://web-7f9c:8080"
 * listenAddress("::1", 8080); // "http://[::1]:8080"
 * ```
 */
export function listenAddress(host: string, port: number): string {
  const h = host === "" || host === "0.0.0.0" || host === "::" ? hostname() : host;
  return `http://${h.includes(":") ? `[${h}]` : h}:${port}`;
}
