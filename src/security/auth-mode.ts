/**
 * Whether a server asks for keys, decided once at start: on a loopback
 * address it may run open (the one-command start on a laptop); on any other
 * address it needs credentials, or the operator's explicit `--auth none`.
 *
 * @example
 *   resolveAuthMode({ auth: "auto", host: "0.0.0.0", adminKey: undefined });
 *   // { error: "refusing to listen on 0.0.0.0 without credentials: ..." }
 */
import { isIP } from "node:net";

export type AuthDecision = { mode: "keys" | "none"; warning?: string } | { error: string };

/**
 * @example
 *   resolveAuthMode({ auth: "auto", host: "127.0.0.1" }); // { mode: "none" }
 */
export function resolveAuthMode(opts: {
  auth: "auto" | "keys" | "none";
  host: string;
  adminKey?: string | undefined;
}): AuthDecision {
  const { auth, host } = opts;
  if (auth === "keys") return { mode: "keys" };
  if (auth === "none") {
    return isLoopback(host)
      ? { mode: "none" }
      : {
          mode: "none",
          warning: `--auth none: anyone who can reach ${host} may define, trigger and read every workflow, and serve any action`,
        };
  }
  if (opts.adminKey !== undefined) return { mode: "keys" };
  if (isLoopback(host)) return { mode: "none" };
  return {
    error:
      `refusing to listen on ${host} without credentials: anyone who reaches the port could run and read everything. ` +
      "Set WEFT_ADMIN_KEY (e.g. $(openssl rand -hex 32)), or pass --auth keys to have an admin key created and printed once, " +
      "or --host 127.0.0.1 to stay on this machine, or --auth none to run open on purpose",
  };
}

/**
 * Whether `host` only accepts connections from this machine.
 *
 * @example
 *   isLoopback("::1"); // true
 *   isLoopback("0.0.0.0"); // false
 */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, "").toLowerCase();
  if (h === "localhost") return true;
  if (isIP(h) === 4) return h.startsWith("127.");
  if (isIP(h) === 6) return h === "::1" || /^::ffff:127\./.test(h);
  return false;
}
