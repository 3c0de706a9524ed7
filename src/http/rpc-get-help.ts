/**
 * A bare `GET` on an RPC path (a browser, `curl http://…/weft.v1.WorkflowService/ListWorkflows`)
 * gets one line saying how to call it, with a `curl` example, where connect
 * answers with an empty body. The status stays connect's: 405 with
 * `Allow: POST` for methods that take only POST, 415 for those that also
 * take Connect's GET form (`?connect=v1&encoding=json&message=…`), which is
 * still served. The body is text/plain: read by people, never by a Connect
 * client, which does not send a bare GET.
 *
 * @example
 *   const help = createRpcGetHelp();
 *   connectNodeAdapter({ routes: help.routes(registerRoutes) });
 *   if (!help.handle(req, res)) adapter(req, res);
 */
import type { ConnectRouter } from "@connectrpc/connect";
import type { NodeRequest, NodeResponse } from "./node-types.js";

export interface RpcGetHelp {
  /** Wraps a route registration to learn the RPC paths and which of them take GET. */
  routes(register: (router: ConnectRouter) => void): (router: ConnectRouter) => void;
  /** Answers a bare GET on an RPC path and returns true; false for anything else. */
  handle(req: NodeRequest, res: NodeResponse): boolean;
}

/**
 * Creates the helper; it knows the paths once the adapter registered the routes.
 *
 * @example
 *   const help = createRpcGetHelp();
 */
export function createRpcGetHelp(): RpcGetHelp {
  /** Request path → whether the method also takes Connect's GET form, and whether it streams. */
  const paths = new Map<string, { takesGet: boolean; streams: boolean }>();
  return {
    routes: (register) => (router) => {
      register(router);
      for (const h of router.handlers) {
        paths.set(h.requestPath, {
          takesGet: h.allowedMethods.includes("GET"),
          streams: h.method.methodKind !== "unary",
        });
      }
    },
    handle(req, res) {
      if (req.method !== "GET") return false;
      const [path = "", query = ""] = (req.url ?? "").split("?", 2);
      const rpc = paths.get(path);
      if (rpc === undefined) return false;
      const params = new URLSearchParams(query);
      // Anything like Connect's GET form is connect's to answer, errors included.
      if (params.has("message") || params.has("encoding")) return false;
      const url = `http://${String(req.headers.host ?? req.headers[":authority"] ?? "127.0.0.1:8080")}${path}`;
      const line = rpc.streams
        ? `${path} is a streaming method: call it from a gRPC or Connect client, e.g. npx buf curl --protocol grpc --http2-prior-knowledge -d '{}' ${url}\n`
        : rpc.takesGet
          ? `${path} takes POST (or a Connect GET: ?connect=v1&encoding=json&message=<url-encoded JSON>), e.g. curl -s --json '{}' ${url}\n`
          : `${path} takes POST, not GET, e.g. curl -s --json '{}' ${url}\n`;
      res.statusCode = rpc.takesGet ? 415 : 405;
      if (!rpc.takesGet) res.setHeader("allow", "POST");
      res.setHeader("content-type", "text/plain; charset=utf-8");
      res.setHeader("content-length", Buffer.byteLength(line));
      res.end(line);
      return true;
    },
  };
}
