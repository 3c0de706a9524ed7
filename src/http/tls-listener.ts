/**
 * The one port over TLS: a TLS listener that offers h2 and http/1.1 by ALPN
 * and hands each finished handshake to the same HTTP/2 and HTTP/1.1 servers
 * the cleartext listener feeds, so CORS, probes, `/metrics`, the slow-request
 * guard, the request log and the graceful close work unchanged. With a
 * client CA, a connection without a certificate it signed fails in the
 * handshake, before any byte of HTTP.
 *
 * @example
 *   const listener = createTlsListener({ h1, h2, conns, tls: { cert, key }, handshakeTimeoutMs: 10_000, logger });
 *   listener.listen(8443);
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";
import * as tls from "node:tls";
import type { Logger } from "../log.js";
import type { Connections } from "./connections.js";

/** PEM contents of the port's certificate, its key and, for mTLS, the CA client certificates must chain to. */
export interface ServerTls {
  cert: Buffer;
  key: Buffer;
  /** Set: every connection must present a certificate signed by it (unless `clientAuth` says workers). */
  clientCa?: Buffer;
  /** `workers`: a connection without a certificate is let in, and only the worker stream refuses it (`worker-certificates.ts`). */
  clientAuth?: "all" | "workers";
}

export interface TlsListenerOptions {
  h1: http.Server;
  h2: http2.Http2Server;
  conns: Connections;
  tls: ServerTls;
  /** A handshake not finished within this long is dropped (what the sniffing timeout is to cleartext). */
  handshakeTimeoutMs: number;
  logger: Logger;
}

/** The secure-context options of a certificate set (the client CA too, for mTLS). */
export function secureContextOptions(t: ServerTls): tls.SecureContextOptions {
  return { cert: t.cert, key: t.key, ...(t.clientCa ? { ca: t.clientCa } : {}) };
}

/**
 * Creates the TLS listener; nothing is bound until it listens.
 *
 * @example
 *   createTlsListener({ h1, h2, conns, tls, handshakeTimeoutMs: 10_000, logger }).listen(0);
 */
export function createTlsListener(opts: TlsListenerOptions): tls.Server {
  const { h1, h2, conns, logger } = opts;
  const mtls = opts.tls.clientCa !== undefined;
  const server = tls.createServer(
    {
      ...secureContextOptions(opts.tls),
      requestCert: mtls,
      rejectUnauthorized: mtls && opts.tls.clientAuth !== "workers",
      ALPNProtocols: ["h2", "http/1.1"],
      handshakeTimeout: opts.handshakeTimeoutMs,
      noDelay: true,
    },
    (socket) => {
      conns.accept(socket);
      conns.settled(socket);
      // Clients without ALPN (alpnProtocol false) speak HTTP/1.1, as over https.
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else h1.emit("connection", socket);
    },
  );
  // A cleartext client, a client refused for its certificate, a port scan: the
  // socket is destroyed already; the reason is worth a debug line only.
  server.on("tlsClientError", (err, socket) =>
    logger.debug({ err: err.message, remote: socket.remoteAddress }, "tls handshake failed"),
  );
  return server;
}

/**
 * The start-up line naming the transport.
 *
 * @example
 *   transportMode(undefined); // "tls: off (cleartext h2c and HTTP/1.1)"
 */
export function transportMode(tlsOpts: ServerTls | undefined): string {
  if (!tlsOpts) return "tls: off (cleartext h2c and HTTP/1.1)";
  if (!tlsOpts.clientCa) return "tls: on";
  return tlsOpts.clientAuth === "workers"
    ? "tls: on, client certificates required of workers"
    : "tls: on, client certificates required";
}
