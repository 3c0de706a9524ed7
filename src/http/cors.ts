/**
 * CORS for browser clients (Connect and gRPC-Web from a web page): origins
 * on the allow-list get the headers the Connect protocols need, preflights
 * are answered with 204; other origins get no CORS headers at all, so the
 * browser refuses the call.
 *
 * @example
 *   const cors = createCors(["http://localhost:*"]);
 *   cors(req, res, () => next(req, res));
 */
import { cors as connectCors } from "@connectrpc/connect";
import corsMiddleware from "cors";
import type { NodeRequest, NodeResponse } from "./node-types.js";
import { createOriginMatcher } from "./origin-patterns.js";

/** Runs CORS for one request, then `next` unless it answered a preflight. */
export type CorsHandler = (req: NodeRequest, res: NodeResponse, next: () => void) => void;

/** Headers of ours that browsers may send and read. */
const OWN_HEADERS = ["x-request-id"];

/**
 * Creates the CORS step for the given allow-list.
 *
 * @example
 *   createCors(["http://localhost:*", "https://console.example.com"]);
 */
export function createCors(origins: readonly string[]): CorsHandler {
  const allowed = createOriginMatcher(origins);
  const middleware = corsMiddleware({
    origin: (origin, cb) => cb(null, origin !== undefined && allowed(origin)),
    methods: [...connectCors.allowedMethods],
    allowedHeaders: [...connectCors.allowedHeaders, ...OWN_HEADERS],
    exposedHeaders: [...connectCors.exposedHeaders, ...OWN_HEADERS],
    maxAge: 7200,
  });
  return (req, res, next) => {
    if (req.headers.origin === undefined) return next();
    middleware(req, res, (err?: unknown) => {
      if (err) {
        res.statusCode = 500;
        res.end();
        return;
      }
      next();
    });
  };
}
