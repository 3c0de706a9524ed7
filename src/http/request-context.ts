/**
 * Per-request values every handler can read through connect's context:
 * the request id (the caller's `x-request-id`, or a new one) and a logger
 * already bound to it.
 *
 * @example
 *   async getRun(req, ctx) {
 *     const { logger } = ctx.values.get(requestContextKey);
 *     logger.info({ runId: req.runId }, "looking up run");
 *   }
 */
import { randomUUID } from "node:crypto";
import { pino } from "pino";
import type { Code } from "@connectrpc/connect";
import { createContextKey } from "@connectrpc/connect";
import type { Logger } from "../log.js";

/** What the HTTP layer knows about one request. */
export interface RequestContext {
  /** Echoed back in the `x-request-id` response header. */
  id: string;
  /** Logger with `reqId` bound. */
  logger: Logger;
  /** The RPC's error code once known (set by the request-log interceptor). */
  code?: Code;
}

/**
 * The context key. Outside a served request (e.g. a router transport in a
 * unit test) it yields an empty id and a silent logger.
 *
 * @example
 *   const { id, logger } = ctx.values.get(requestContextKey);
 */
export const requestContextKey = createContextKey<RequestContext>(
  { id: "", logger: pino({ level: "silent" }) },
  { description: "weft request context" },
);

const ACCEPTABLE_ID = /^[\x21-\x7e]{1,128}$/;

/**
 * The id to use for a request: the caller's `x-request-id` when it is a
 * short printable token, else a fresh UUID.
 *
 * @example
 *   requestIdFrom(req.headers["x-request-id"]); // "9b2c…"
 */
export function requestIdFrom(header: string | string[] | undefined): string {
  const given = Array.isArray(header) ? header[0] : header;
  return given !== undefined && ACCEPTABLE_ID.test(given) ? given : randomUUID();
}
