/**
 * The RPC handler of the one port: connect-node's adapter serving gRPC,
 * gRPC-Web and Connect from the same routes, with the request size bound,
 * the depth limits the request checks rely on, strict JSON, the request-log
 * interceptor first, and the shutdown signal that aborts calls after the
 * grace period.
 */
import type { ConnectRouter, Interceptor } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import type { NodeHandler } from "./node-types.js";
import type { RequestLog } from "./request-log.js";

export interface RpcAdapterOptions {
  routes: (router: ConnectRouter) => void;
  /** A request message larger than this is refused with RESOURCE_EXHAUSTED, on every protocol. */
  maxRequestBytes: number;
  /** Run around every call, after the request-log interceptor. */
  interceptors?: Interceptor[];
  requestLog: RequestLog;
  /** Aborting it ends the calls in flight with the abort's reason. */
  shutdownSignal: AbortSignal;
}

/**
 * Creates the handler for RPC requests (everything that is not a probe, `/metrics` or a bare GET).
 *
 * @example
 *   const rpc = createRpcAdapter({ routes, maxRequestBytes: 1 << 22, requestLog, shutdownSignal: shutdown.signal });
 */
export function createRpcAdapter(opts: RpcAdapterOptions): NodeHandler {
  return connectNodeAdapter({
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
    interceptors: [opts.requestLog.interceptor, ...(opts.interceptors ?? [])],
    contextValues: opts.requestLog.contextValues,
    shutdownSignal: opts.shutdownSignal,
  });
}
