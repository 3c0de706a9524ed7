/**
 * The one port: gRPC (HTTP/2 prior knowledge), Connect and gRPC-Web (HTTP/1.1
 * or HTTP/2), plus CORS, `/healthz`, `/readyz`, `/metrics`, request ids, an
 * access log, and a line of help for a bare GET on an RPC path. A plain TCP
 * listener looks at each connection's first bytes
 * and hands it to an h2c or an HTTP/1.1 server; both run the same handler.
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
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { Logger } from "../log.js";
import { createConnections } from "./connections.js";
import { createCors } from "./cors.js";
import type { NodeHandler } from "./node-types.js";
import { withEarlyErrors, type EarlyErrorMap } from "./early-errors.js";
import { closeUnreadUpload } from "./h2-unread-upload.js";
import { createMetricsEndpoint, QUIET_PATHS, type Scrape } from "./metrics-endpoint.js";
import { explainListenError } from "./port-check.js";
import { createProbes } from "./probes.js";
import { sniffProtocol } from "./protocol-sniff.js";
import { createRpcGetHelp } from "./rpc-get-help.js";
import { createRequestLog } from "./request-log.js";
import { createSlowRequestGuard, DEFAULT_REQUEST_TIMEOUT_MS } from "./slow-requests.js";

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

/** A connection that sends nothing for this long is dropped. */
const FIRST_BYTES_TIMEOUT_MS = 10_000;
/** After the grace period, how long aborted calls get to send their status. */
const ABORT_GRACE_MS = 500;

/**
 * Creates the server; nothing is bound until `listen()`.
 *
 * @example
 *   const server = createHttpServer({ routes, port: 0, corsOrigins: [], maxRequestBytes: 1 << 22, ready: async () => true, logger });
 */
export function createHttpServer(options: HttpServerOptions): HttpServer {
  const { logger } = options;
  const guard = createSlowRequestGuard({ timeoutMs: options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, logger });
  // Registered through the guard, which learns which methods take a stream of requests.
  const getHelp = createRpcGetHelp();
  const routes = getHelp.routes(guard.routes(options.routes));
  const opts = { ...options, routes: options.earlyErrors ? withEarlyErrors(routes, options.earlyErrors) : routes };
  const shutdown = new AbortController();
  const requestLog = createRequestLog({ logger, quietPaths: QUIET_PATHS });
  const cors = createCors(opts.corsOrigins);
  const probes = createProbes({ ready: opts.ready, logger });
  const metrics = opts.metrics ? createMetricsEndpoint({ scrape: opts.metrics, logger }) : () => false;
  const adapter = connectNodeAdapter({
    routes: opts.routes,
    grpc: true,
    grpcWeb: true,
    connect: true,
    readMaxBytes: opts.maxRequestBytes,
    // protobuf-es decodes at most 100 nested messages by default. In binary each
    // Value level is two messages (Value, then Struct or ListValue), and the
    // deepest request Value sits under three (CreateWorkflowRequest → WorkflowSpec
    // → Step; WorkerMessage → TaskResults → TaskResult): 3 + 2 × 128 − 1 = 258
    // decodes Values of 128 levels there, twice the 64 the request checks accept,
    // so a Value a little too deep still decodes and gets INVALID_ARGUMENT naming
    // its field. JSON counts about one per Value level, so 258 covers it too.
    binaryOptions: { recursionLimit: 258 },
    // connect ignores unknown JSON keys by default: a misspelt `workflowID` would
    // vanish and the call fail on the field left empty. Refused instead; the
    // early-error map names the key and the field it likely meant.
    jsonOptions: { recursionLimit: 258, ignoreUnknownFields: false },
    interceptors: [requestLog.interceptor, ...(opts.interceptors ?? [])],
    contextValues: requestLog.contextValues,
    shutdownSignal: shutdown.signal,
  });

  const handler: NodeHandler = requestLog.wrap((req, res) => {
    if (res instanceof http.ServerResponse) {
      conns.response(res);
    } else if ("stream" in req) {
      closeUnreadUpload(req.stream);
    }
    cors(req, res, () => {
      if (!probes(req, res) && !metrics(req, res) && !getHelp.handle(req, res)) adapter(req, res);
    });
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

  const listener = net.createServer({ noDelay: true }, (socket) => {
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

  let closing: Promise<void> | undefined;
  return {
    listen: () =>
      new Promise((resolve, reject) => {
        const failed = (err: Error) => reject(explainListenError(err, opts.port, opts.host) ?? err);
        listener.once("error", failed);
        listener.listen(opts.port, opts.host, () => {
          listener.off("error", failed);
          listener.on("error", (err) => logger.error({ err }, "listener error"));
          resolve({ port: (listener.address() as net.AddressInfo).port });
        });
      }),
    close: ({ graceMs = 10_000 } = {}) =>
      (closing ??= (async () => {
        const stopped = new Promise<void>((resolve) =>
          listener.listening ? listener.close(() => resolve()) : resolve(),
        );
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
      })()),
    address: () => {
      const a = listener.address();
      return a !== null && typeof a === "object" ? a : null;
    },
    connections: () => conns.count(),
  };
}
