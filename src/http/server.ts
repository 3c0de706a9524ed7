/**
 * The one port: gRPC (HTTP/2 prior knowledge), Connect and gRPC-Web (HTTP/1.1
 * or HTTP/2), plus CORS, `/healthz`, `/readyz`, `/metrics`, request ids, an
 * access log, and a line of help for a bare GET on an RPC path. A plain TCP
 * listener looks at each connection's first bytes
 * and hands it to an h2c or an HTTP/1.1 server; both run the same handler.
 * With `tls`, a TLS listener takes its place and picks the server by ALPN
 * (tls-listener.ts); the port then speaks TLS only.
 *
 * @example
 *   const server = createHttpServer({
 *     routes: (router) => registerRoutes(router, deps),
 *     port: 8080,
 *     corsOrigins: ["http://localhost:*", "http://127.0.0.1:*"],
 *     maxRequestBytes: 4 * 1024 * 1024,
 *     requestTimeoutMs: 30_000,
 *     ready: () => store.ready(),
 *     logger,
 *   });
 *   const { port } = await server.listen();
 *   ...
 *   await server.close({ graceMs: 10_000 });
 */
import * as http from "node:http";
import * as http2 from "node:http2";
import * as net from "node:net";
import { Code, ConnectError, type ConnectRouter, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../log.js";
import { createConnections, type Connections } from "./connections.js";
import { loadConsoleAssets } from "./console-assets.js";
import { createCors } from "./cors.js";
import type { NodeHandler } from "./node-types.js";
import { withEarlyErrors, type EarlyErrorMap } from "./early-errors.js";
import { closeUnreadUpload } from "./h2-unread-upload.js";
import { createMetricsEndpoint, QUIET_PATHS, type Scrape } from "./metrics-endpoint.js";
import { explainListenError } from "./port-check.js";
import { createProbes } from "./probes.js";
import { sniffProtocol } from "./protocol-sniff.js";
import { createRpcAdapter } from "./rpc-adapter.js";
import { createRpcGetHelp } from "./rpc-get-help.js";
import { createRequestLog, type RequestLog } from "./request-log.js";
import { createSlowRequestGuard, DEFAULT_REQUEST_TIMEOUT_MS, type SlowRequestGuard } from "./slow-requests.js";
import { createTlsListener, transportMode, type ServerTls } from "./tls-listener.js";
import { workerCertificateInterceptor } from "./worker-certificates.js";
import { watchCertificates, type CertificateSource } from "./tls-reload.js";

export interface HttpServerOptions {
  /** Registers the services (see `registerRoutes`). */
  routes: (router: ConnectRouter) => void;
  /** 0 picks a free port (see `listen()`'s result). */
  port: number;
  /** Interface to bind; all of them when absent. */
  host?: string;
  /** Browser origins allowed by CORS: exact, with `*` (`http://localhost:*`), or `*` for any. */
  corsOrigins: string[];
  /** A request message larger than this is refused with RESOURCE_EXHAUSTED, on every protocol. */
  maxRequestBytes: number;
  /**
   * Longest a client may take to send a request (streaming uploads such as
   * the worker stream excepted), or keep an HTTP/2 connection without a
   * call; see slow-requests.ts. 30 s when absent.
   */
  requestTimeoutMs?: number;
  /** Backs `/readyz`. */
  ready: () => Promise<boolean>;
  /** Backs `GET /metrics`; without it the path is not served. */
  metrics?: Scrape;
  logger: Logger;
  /** Run around every call, after the request-log interceptor. */
  interceptors?: Interceptor[];
  /** Rewrites errors connect-node raises before any interceptor runs (see early-errors.ts). */
  earlyErrors?: EarlyErrorMap;
  /** Serve TLS (and mTLS with `clientCa`) instead of cleartext; see tls-listener.ts. */
  tls?: ServerTls;
  /** Where `tls` came from, read again every interval (certificates renewed without a restart). */
  tlsReload?: CertificateSource;
  /** The built web console to serve to browsers (see console-assets.ts); none when absent. */
  consoleDir?: string;
}

export interface HttpServer {
  /** Binds the port; resolves with the port actually bound, rejects with `PortUnavailableError` when it cannot. */
  listen(): Promise<{ port: number }>;
  /**
   * Stops accepting, lets calls in flight finish for `graceMs` (10 s by
   * default), then aborts the rest (their handlers see `ctx.signal` abort
   * with UNAVAILABLE) and closes every connection. Idle clients never hold it
   * up. Calling it again returns the same promise.
   */
  close(opts?: { graceMs?: number }): Promise<void>;
  /** The bound address, or null before `listen()` and after `close()`. */
  address(): net.AddressInfo | null;
  /** Open TCP connections (both protocols, idle ones included). */
  connections(): number;
}

/** A connection that sends nothing (or does not finish its TLS handshake) for this long is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;
/** After the grace period, how long aborted calls get to send their status. */
const ABORT_GRACE_MS = 500;

/** What `close()` stops, in order: the listener, the calls (gracefully, then aborted), the servers. */
interface Parts {
  listener: net.Server;
  h1: http.Server;
  h2: http2.Http2Server;
  conns: Connections;
  shutdown: AbortController;
  logger: Logger;
}

/**
 * Creates the server; nothing is bound until `listen()`.
 *
 * @example
 *   const server = createHttpServer({ routes, port: 0, corsOrigins: [], maxRequestBytes: 1 << 22, ready: async () => true, logger });
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { logger } = options;
  const guard = createSlowRequestGuard({ timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, logger });
  const shutdown = new AbortController();
  const requestLog = createRequestLog({ logger, quietPaths: QUIET_PATHS });
  const route = createRouter(options, guard, requestLog, shutdown.signal);
  const handler: NodeHandler = requestLog.wrap((req, res) => {
    if (res instanceof http.ServerResponse) {
      conns.response(res);
    } else if ("stream" in req) {
      closeUnreadUpload(req.stream);
    }
    route(req, res);
  });

  const h1 = http.createServer(guard.http1Options, handler);
  guard.watchHttp1(h1);
  // h1 never listens itself, so Node would not track its connections: no
  // headers/request timeouts and no closeIdleConnections(). This event is
  // what switches that tracking on.
  h1.emit("listening");
  const h2 = http2.createServer(handler);
  guard.watchHttp2(h2);
  h2.on("sessionError", (err) => logger.debug({ err }, "http/2 session error"));
  const conns = createConnections(h1);
  h2.on("session", (session) => conns.session(session));
  let stopReload = (): void => undefined;
  let listener: net.Server;
  if (options.tls) {
    const tlsServer = createTlsListener({
      h1,
      h2,
      conns,
      tls: options.tls,
      handshakeTimeoutMs: FIRST_BYTES_TIMEOUT_MS,
      logger,
    });
    if (options.tlsReload) stopReload = watchCertificates(tlsServer, options.tlsReload, options.tls, logger);
    listener = tlsServer;
  } else {
    listener = createListener(h1, h2, conns);
  }
  const parts: Parts = { listener, h1, h2, conns, shutdown, logger };

  let closing: Promise<void> | undefined;
  return {
    listen: async () => {
      const bound = await listen(parts.listener, options, logger);
      logger.info(
        { tls: options.tls !== undefined, clientCertificates: options.tls?.clientCa !== undefined },
        transportMode(options.tls),
      );
      return bound;
    },
    close: ({ graceMs = 10_000 } = {}) => {
      stopReload();
      return (closing ??= closeGracefully(parts, graceMs));
    },
    address: () => {
      const a = parts.listener.address();
      return a !== null && typeof a === "object" ? a : null;
    },
    connections: () => conns.count(),
  };
}

/**
 * Every request after the request log: CORS first, then the probes,
 * `/metrics`, the help for a bare GET on an RPC path, the console, and the
 * RPC adapter.
 */
function createRouter(
  options: HttpServerOptions,
  guard: SlowRequestGuard,
  requestLog: RequestLog,
  shutdownSignal: AbortSignal,
): NodeHandler {
  const { logger } = options;
  // Registered through the guard, which learns which methods take a stream of requests.
  const getHelp = createRpcGetHelp();
  const routes = getHelp.routes(guard.routes(options.routes));
  const rpc = createRpcAdapter({
    routes: options.earlyErrors ? withEarlyErrors(routes, options.earlyErrors) : routes,
    maxRequestBytes: options.maxRequestBytes,
    interceptors: [
      ...(options.tls?.clientAuth === "workers" ? [workerCertificateInterceptor] : []),
      ...(options.interceptors ?? []),
    ],
    requestLog,
    shutdownSignal,
  });
  const cors = createCors(options.corsOrigins);
  const probes = createProbes({ ready: options.ready, logger });
  const metrics = options.metrics ? createMetricsEndpoint({ scrape: options.metrics, logger }) : () => false;
  const consoleAssets = options.consoleDir ? loadConsoleAssets({ dir: options.consoleDir, logger }) : () => false;
  return (req, res) =>
    cors(req, res, () => {
      if (!probes(req, res) && !metrics(req, res) && !getHelp.handle(req, res) && !consoleAssets(req, res))
        rpc(req, res);
    });
}

/** The TCP listener: hands each connection to the h2c or the HTTP/1.1 server by its first bytes. */
function createListener(h1: http.Server, h2: http2.Http2Server, conns: Connections): net.Server {
  return net.createServer({ noDelay: true }, (socket) => {
    conns.accept(socket);
    sniffProtocol(socket, { timeoutMs: FIRST_BYTES_TIMEOUT_MS }, (wire) => {
      conns.settled(socket);
      if (wire === "h2") {
        // Not resumed: the HTTP/2 session reads the unshifted bytes itself;
        // a flowing socket would hand them to nobody.
        h2.emit("connection", socket);
      } else {
        h1.emit("connection", socket);
        socket.resume();
      }
    });
  });
}

function listen(
  listener: net.Server,
  opts: { port: number; host?: string | undefined },
  logger: Logger,
): Promise<{ port: number }> {
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(explainListenError(err, opts.port, opts.host) ?? err);
    listener.once("error", failed);
    listener.listen(opts.port, opts.host, () => {
      listener.off("error", failed);
      listener.on("error", (err) => logger.error({ err }, "listener error"));
      resolve({ port: (listener.address() as net.AddressInfo).port });
    });
  });
}

/** See `HttpServer.close`. */
async function closeGracefully(parts: Parts, graceMs: number): Promise<void> {
  const { listener, h1, h2, conns, shutdown, logger } = parts;
  const stopped = new Promise<void>((resolve) => (listener.listening ? listener.close(() => resolve()) : resolve()));
  conns.drain();
  if (!(await conns.idle(graceMs))) {
    logger.warn({ open: conns.count(), graceMs }, "grace period over: ending the calls still open");
    shutdown.abort(new ConnectError("server is shutting down", Code.Unavailable));
    if (!(await conns.idle(ABORT_GRACE_MS))) conns.destroyAll();
    await conns.idle(ABORT_GRACE_MS);
  }
  h1.close(() => undefined);
  h2.close(() => undefined);
  await stopped;
}
