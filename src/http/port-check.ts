/**
 * A port that cannot be bound, said in one line with the way out. The server
 * checks the port before it opens anything (the database may take minutes to
 * come up, PGlite writes its data folder), so a second `npm start` fails at
 * once instead of after all that, with a stack trace about EADDRINUSE.
 *
 * @example
 *   await checkPortFree(8080, "0.0.0.0"); // throws PortUnavailableError
 */
import * as net from "node:net";

/** The port (or address) cannot be listened on; `message` says which and what to do. */
export class PortUnavailableError extends Error {
  override readonly name = "PortUnavailableError";
  constructor(
    message: string,
    readonly port: number,
    readonly host: string | undefined,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/**
 * The one-line explanation of a failed `listen()`, or undefined when the
 * error is not about the port or address.
 *
 * @example
 *   listener.once("error", (err) => reject(explainListenError(err, 8080, "0.0.0.0") ?? err));
 */
export function explainListenError(err: unknown, port: number, host?: string): PortUnavailableError | undefined {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  const where = `port ${port}${host ? ` on ${host}` : ""}`;
  const other = port === 65535 ? port - 1 : port + 1;
  const pick = `pick another with --port ${other} or PORT=${other}`;
  const message =
    code === "EADDRINUSE"
      ? `${where} is already in use (another weft server?); stop it or ${pick}`
      : code === "EACCES"
        ? `${where} needs privileges this process lacks (ports below 1024 do); ${pick}`
        : code === "EADDRNOTAVAIL"
          ? `${host ?? "the address"} is not an address of this machine; set --host / HOST to one that is, or 0.0.0.0`
          : undefined;
  return message === undefined ? undefined : new PortUnavailableError(message, port, host, { cause: err });
}

/**
 * Binds the port and lets it go again, throwing `PortUnavailableError` when
 * it cannot be bound. Port 0 (any free port) always passes. Someone may
 * still take the port before the real `listen()`; that one reports the
 * same error, only later.
 *
 * @example
 *   await checkPortFree(config.port, config.host);
 */
export async function checkPortFree(port: number, host?: string): Promise<void> {
  if (port === 0) return;
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once("error", (err) => reject(explainListenError(err, port, host) ?? err));
    probe.listen({ port, host }, () => probe.close(() => resolve()));
  });
}
