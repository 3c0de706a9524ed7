/**
 * Telling "the database is not there right now" from every other failure.
 *
 * A failover, a restart or a network cut shows up as refused or reset
 * sockets, node-postgres's own "Connection terminated" errors, and SQLSTATEs
 * of class 08 (connection exception) or 57P01–57P03 (the server shutting
 * down or still starting). Such a failure is worth retrying once the
 * database is back; anything else (a bad statement, a constraint) is not.
 */

/** Socket-level error codes of a connection that failed or broke. */
const SOCKET_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);
/** SQLSTATEs of a server going away or not accepting connections yet. */
const SHUTDOWN_STATES = new Set(["57P01", "57P02", "57P03"]);
/** Messages node-postgres and its pool use for a connection they lost or could not make. */
const LOST_CONNECTION =
  /connection terminated|not queryable|timeout exceeded when trying to connect|connection is closed|client was closed/i;

/**
 * Whether `err` (or an error it wraps) says the database is unreachable.
 *
 * @example
 *   if (isDatabaseUnavailable(err)) retryLater(); else throw err;
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  for (let e = err, depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    if (typeof e !== "object") return false;
    const { code, message, errors } = e as { code?: unknown; message?: unknown; errors?: unknown };
    if (typeof code === "string" && (SOCKET_CODES.has(code) || SHUTDOWN_STATES.has(code) || code.startsWith("08")))
      return true;
    if (typeof message === "string" && LOST_CONNECTION.test(message)) return true;
    // An AggregateError (a dual-stack connect refused on ::1 and 127.0.0.1) carries the reasons inside.
    if (Array.isArray(errors) && errors.some((inner) => isDatabaseUnavailable(inner))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}
