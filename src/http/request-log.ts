/**
 * Request ids and the access log. Every request gets an id (the caller's
 * `x-request-id` or a fresh one), echoed in the `x-request-id` response
 * header and bound to a child logger that handlers reach through
 * `requestContextKey`. When the response closes, one line records method,
 * path, status, RPC code (if the call failed), protocol and duration: at
 * info, or debug for probe paths.
 *
 * @example
 *   const log = createRequestLog({ logger, quietPaths: PROBE_PATHS });
 *   const adapter = connectNodeAdapter({ routes, contextValues: log.contextValues, interceptors: [log.interceptor] });
 *   http.createServer(log.wrap(adapter));
 */
import { performance } from "node:perf_hooks";
import type { TLSSocket } from "node:tls";
import { ConnectError, createContextValues, type ContextValues, type Interceptor } from "@connectrpc/connect";
import { codeToString } from "@connectrpc/connect/protocol-connect";
import type { Logger } from "../log.js";
import { peerKey } from "../security/principal.js";
import { verifiedClientCertKey } from "./worker-certificates.js";
import type { NodeHandler, NodeRequest, NodeResponse } from "./node-types.js";
import { requestContextKey, requestIdFrom, type RequestContext } from "./request-context.js";

export interface RequestLogOptions {
  logger: Logger;
  /** Paths logged at debug instead of info (health probes). */
  quietPaths?: ReadonlySet<string>;
}

export interface RequestLog {
  /** Wraps a handler: assigns the id, sets the header, logs on close. */
  wrap(next: NodeHandler): NodeHandler;
  /** For `connectNodeAdapter({ contextValues })`: puts the request's context in. */
  contextValues(req: NodeRequest): ContextValues;
  /** Records a failed call's code for the access line; put it first. */
  interceptor: Interceptor;
}

/**
 * Creates the request log.
 *
 * @example
 *   createRequestLog({ logger: createLogger({ level: "info" }) });
 */
export function createRequestLog(opts: RequestLogOptions): RequestLog {
  const contexts = new WeakMap<NodeRequest, RequestContext>();
  const quiet = opts.quietPaths ?? new Set<string>();
  return {
    wrap: (next) => (req, res) => {
      const started = performance.now();
      const id = requestIdFrom(req.headers["x-request-id"]);
      const ctx: RequestContext = { id, logger: opts.logger.child({ reqId: id }) };
      contexts.set(req, ctx);
      res.setHeader("x-request-id", id);
      res.once("close", () => {
        const path = (req.url ?? "").split("?", 1)[0] ?? "";
        const line = {
          method: req.method,
          path,
          status: res.statusCode,
          ...(ctx.code !== undefined && { code: codeToString(ctx.code) }),
          protocol: protocolOf(req),
          http: req.httpVersion,
          ms: Math.round((performance.now() - started) * 10) / 10,
          ...(clientWentAway(req, res) && { aborted: true }),
        };
        if (quiet.has(path)) ctx.logger.debug(line, "request");
        else ctx.logger.info(line, "request");
      });
      next(req, res);
    },
    contextValues(req) {
      const values = createContextValues();
      const ctx = contexts.get(req);
      if (ctx) values.set(requestContextKey, ctx);
      values.set(peerKey, () => peerOf(req));
      values.set(verifiedClientCertKey, () => (req.socket as Partial<TLSSocket>).authorized === true);
      return values;
    },
    interceptor: (next) => async (req) => {
      const ctx = req.contextValues.get(requestContextKey);
      const record = (err: unknown): void => {
        if (ctx !== requestContextKey.defaultValue) ctx.code = ConnectError.from(err).code;
      };
      try {
        const res = await next(req);
        return res.stream ? { ...res, message: recordingErrors(res.message, record) } : res;
      } catch (err) {
        record(err);
        throw err;
      }
    },
  };
}

async function* recordingErrors<T>(messages: AsyncIterable<T>, record: (err: unknown) => void): AsyncIterable<T> {
  try {
    yield* messages;
  } catch (err) {
    record(err);
    throw err;
  }
}

/** The client's address (read only when asked: most calls never need it). */
function peerOf(req: NodeRequest): string {
  return req.socket?.remoteAddress ?? "";
}

/** The client reset the stream or dropped the connection before the response was done. */
function clientWentAway(req: NodeRequest, res: NodeResponse): boolean {
  if ("stream" in req) return (req.stream.rstCode ?? 0) !== 0;
  return !res.writableFinished;
}

function protocolOf(req: NodeRequest): string {
  const type = req.headers["content-type"] ?? "";
  if (type.startsWith("application/grpc-web")) return "grpc-web";
  if (type.startsWith("application/grpc")) return "grpc";
  if (type.startsWith("application/connect+") || req.headers["connect-protocol-version"] !== undefined)
    return "connect";
  if (type.startsWith("application/json") || type.startsWith("application/proto")) return "connect";
  return "http";
}
