/**
 * Bounds how long a client may take to send a request, so that a client
 * trickling bytes (or sending none after the first ones) cannot hold a
 * connection, its buffers and a pending call open for as long as it likes.
 * Only receiving counts: a response may stream for as long as the call lasts.
 *
 * - HTTP/1.1: Node's own `headersTimeout` and `requestTimeout`, both set to
 *   the bound. They run from the first byte of a request to its last, so a
 *   byte every few seconds does not extend them; Node answers 408 and closes
 *   the socket. They need Node's connection tracking, which the h1 server
 *   only gets from its `listening` event (see server.ts). No method is
 *   excepted: Weft's streaming-request methods are bidirectional, which
 *   needs HTTP/2 (over HTTP/1.1 a request is whole before its response).
 * - HTTP/2: a request whose body has not ended within the bound is reset,
 *   except for methods whose request is a stream (the worker stream
 *   `WorkerService/Connect`, reflection): those are learnt from the
 *   registered routes' descriptors, not listed by hand.
 * - HTTP/2: a session without any open stream for the bound gets GOAWAY. That
 *   covers a client that never opens a stream, and one trickling the
 *   CONTINUATION frames of a request's headers, which Node does not surface
 *   as a stream until they are complete (so headers trickled beside another
 *   open stream are not bounded: nothing shows them).
 *
 * @example
 *   const guard = createSlowRequestGuard({ timeoutMs: 30_000, logger });
 *   connectNodeAdapter({ routes: guard.routes(registerRoutes) });
 *   const h1 = http.createServer(guard.http1Options, handler);
 *   guard.watchHttp1(h1);
 *   guard.watchHttp2(http2.createServer(handler));
 */
import type * as http from "node:http";
import * as http2 from "node:http2";
import type { Socket } from "node:net";
import type { ConnectRouter } from "@connectrpc/connect";
import type { Logger } from "../log.js";

/** Default of `--request-timeout-ms`. */
export const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;

/**
 * Node checks HTTP/1.1 deadlines on an interval, so a late request is closed
 * up to one interval after its bound; its default (30 s) is as long as the
 * bound itself.
 */
const H1_CHECK_INTERVAL_MS = 1_000;

/**
 * After GOAWAY, how long a session without streams may take to close. Node
 * closes it at once unless a request's headers are still arriving: those are
 * let in for this long (the GOAWAY admits them), then the socket is dropped.
 */
const GOAWAY_GRACE_MS = 1_000;

/** Which bound closed a connection or stream, as logged. */
export type SlowBound = "h1-headers" | "h1-body" | "h2-body" | "h2-no-stream";

export interface SlowRequestOptions {
  /** Longest time to receive a request (and longest an HTTP/2 session may go without a stream). */
  timeoutMs: number;
  logger: Logger;
}

export interface SlowRequestGuard {
  /** Wraps the route registration: the guard learns which methods take a stream of requests. */
  routes(register: (router: ConnectRouter) => void): (router: ConnectRouter) => void;
  /** Options for `http.createServer`: the checking interval can only be given there. */
  http1Options: http.ServerOptions;
  /** Sets the HTTP/1.1 timeouts and logs the sockets they close. */
  watchHttp1(h1: http.Server): void;
  /** Bounds request bodies and stream-less sessions of the HTTP/2 server. */
  watchHttp2(h2: http2.Http2Server): void;
}

/**
 * Creates the guard; it acts once the servers are given to it.
 *
 * @example
 *   const guard = createSlowRequestGuard({ timeoutMs: 2000, logger });
 */
export function createSlowRequestGuard(opts: SlowRequestOptions): SlowRequestGuard {
  const { timeoutMs, logger } = opts;
  /** Request paths of client- and bidi-streaming methods: their body ends when the call does. */
  const streamingRequests = new Set<string>();
  const closed = (bound: SlowBound, remote: string | undefined, extra: Record<string, unknown> = {}): void => {
    const line = { remote, bound, timeoutMs, ...extra };
    // A session without streams is mostly an idle client, not a slow one: not worth an info line.
    if (bound === "h2-no-stream") logger.debug(line, "slow client closed");
    else logger.info(line, "slow client closed");
  };
  return {
    routes: (register) => (router) => {
      register(router);
      for (const h of router.handlers) {
        const kind = h.method.methodKind;
        if (kind === "client_streaming" || kind === "bidi_streaming") streamingRequests.add(h.requestPath);
      }
    },
    http1Options: {
      headersTimeout: timeoutMs,
      requestTimeout: timeoutMs,
      connectionsCheckingInterval: Math.min(H1_CHECK_INTERVAL_MS, timeoutMs),
    },
    watchHttp1: (h1) => watchHttp1(h1, closed),
    watchHttp2(h2) {
      h2.on("session", (session: http2.ServerHttp2Session) => closeWithoutStreams(session, timeoutMs, closed));
      h2.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
        const path = (headers[":path"] ?? "").split("?", 1)[0] ?? "";
        if (!stream.endAfterHeaders && !streamingRequests.has(path))
          resetUnfinishedBody(stream, path, timeoutMs, closed);
      });
    },
  };
}

type OnClosed = (bound: SlowBound, remote: string | undefined, extra?: Record<string, unknown>) => void;

function watchHttp1(h1: http.Server, closed: OnClosed): void {
  // Node closes a late request itself (408, then destroy): its error reaches
  // the socket's listeners, which is where the closing is seen.
  const lastRequest = new WeakMap<Socket, http.IncomingMessage>();
  h1.on("request", (req: http.IncomingMessage) => lastRequest.set(req.socket, req));
  h1.on("connection", (socket: Socket) => {
    const remote = addressOf(socket);
    socket.on("error", (err: NodeJS.ErrnoException) => {
      if (err.code !== "ERR_HTTP_REQUEST_TIMEOUT") return;
      const req = lastRequest.get(socket);
      if (req && !req.complete) closed("h1-body", remote, { path: req.url });
      else closed("h1-headers", remote);
    });
  });
}

/**
 * The request body of a unary or server-streaming call is one message: if
 * it has not ended within the bound, the stream is reset with CANCEL. Not
 * answered with a status: the call's handler (connect-node) owns the
 * response and is still waiting for the message, and a status written beside
 * it would race its own and differ per protocol (gRPC trailers, gRPC-Web
 * body, Connect JSON). The reset ends its read, and gRPC clients report
 * RST_STREAM CANCEL as CANCELLED.
 */
function resetUnfinishedBody(stream: http2.ServerHttp2Stream, path: string, timeoutMs: number, closed: OnClosed): void {
  const timer = setTimeout(() => {
    if (stream.closed || stream.destroyed || stream.state.remoteClose) return;
    // Read only now: the session is still open, and a call that ends in time never pays for it.
    closed("h2-body", addressOf(stream.session?.socket), { path });
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }, timeoutMs).unref();
  stream.once("close", () => clearTimeout(timer));
}

/** GOAWAY to a session once it has had no open stream for the bound, then the socket dropped if it still has none. */
function closeWithoutStreams(session: http2.ServerHttp2Session, timeoutMs: number, closed: OnClosed): void {
  const remote = addressOf(session.socket);
  let open = 0;
  /** Since when the session has had no open stream (undefined while one is open). */
  let idleSince: number | undefined = Date.now();
  // One timer per session, not one per call: when it fires it looks at how long the session has
  // been idle, and waits again for the rest of the bound if a call came and went meanwhile.
  const check = (): void => {
    if (session.closed || session.destroyed) return;
    const idleFor = idleSince === undefined ? 0 : Date.now() - idleSince;
    if (idleSince === undefined || idleFor < timeoutMs) {
      timer = setTimeout(check, timeoutMs - idleFor).unref();
      return;
    }
    closed("h2-no-stream", remote);
    session.close();
    // nghttp2 counts a stream whose headers are incomplete as open, so
    // Node's graceful close waits for it: a trickle would hold it forever.
    timer = setTimeout(() => open === 0 && session.destroy(), GOAWAY_GRACE_MS).unref();
  };
  let timer = setTimeout(check, timeoutMs).unref();
  session.on("stream", (stream: http2.ServerHttp2Stream) => {
    open++;
    idleSince = undefined;
    stream.once("close", () => {
      if (--open === 0) idleSince = Date.now();
    });
  });
  session.once("close", () => clearTimeout(timer));
}

/** `host:port` of the peer, read while the socket is open (it is gone once destroyed). */
function addressOf(socket: Socket | undefined): string | undefined {
  if (!socket?.remoteAddress) return undefined;
  return `${socket.remoteAddress}:${socket.remotePort}`;
}
