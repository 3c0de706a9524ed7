/**
 * The request and response types both Node servers (HTTP/1.1 and h2c) hand
 * to the one shared handler.
 *
 * @example
 *   const handler: NodeHandler = (req, res) => res.end();
 */
import type * as http from "node:http";
import type * as http2 from "node:http2";

/** A request from `http` or the `http2` compatibility API. */
export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** A response from `http` or the `http2` compatibility API. */
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;

/** A request listener usable by both servers. */
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/**
 * Writes a small JSON body.
 *
 * @example
 *   sendJson(res, 503, { status: "not ready" });
 */
export function sendJson(res: NodeResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}
