/**
 * Certificates renewed on disk reach the port without a restart: every
 * interval the files are read again and, when they changed, the listener's
 * secure context is swapped. Connections already open keep the certificate
 * they were made with; new handshakes get the new one. Files caught half
 * written, or a key that does not match its certificate, are not applied:
 * the previous context stays and a warning says why (the next pass tries
 * again).
 *
 * @example
 *   const stop = watchCertificates(listener, { read: () => readServerTls(config)!, intervalMs: 60_000 }, initial, logger);
 */
import type * as tls from "node:tls";
import type { Logger } from "../log.js";
import { secureContextOptions, type ServerTls } from "./tls-listener.js";

export interface CertificateSource {
  /** Reads the files again (throws when one cannot be read). */
  read(): ServerTls;
  intervalMs: number;
}

const same = (a: ServerTls, b: ServerTls): boolean =>
  a.cert.equals(b.cert) && a.key.equals(b.key) && (a.clientCa ?? Buffer.alloc(0)).equals(b.clientCa ?? Buffer.alloc(0));

/**
 * Starts the re-reading; returns the function that stops it.
 *
 * @example
 *   const stop = watchCertificates(server, source, current, logger);
 */
export function watchCertificates(
  server: tls.Server,
  source: CertificateSource,
  initial: ServerTls,
  logger: Logger,
): () => void {
  let current = initial;
  let failing = "";
  const pass = (): void => {
    let next: ServerTls;
    try {
      next = source.read();
      if (same(next, current)) return;
      server.setSecureContext(secureContextOptions(next));
    } catch (err) {
      const why = (err as Error).message;
      if (why !== failing)
        logger.warn({ err: why }, "tls: certificate files changed but were not applied; keeping the previous ones");
      failing = why;
      return;
    }
    current = next;
    failing = "";
    logger.info("tls: certificates reloaded; new connections get them");
  };
  const timer = setInterval(pass, source.intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
