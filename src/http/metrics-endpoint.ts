/**
 * `GET /metrics`: the Prometheus text exposition, on the one port beside
 * the probes. Scrapes come every few seconds from every Prometheus, so the
 * request log writes them at debug, like the probes (see `QUIET_PATHS`).
 *
 * @example
 *   const metrics = createMetricsEndpoint({ scrape: () => registry.metrics(), logger });
 *   if (!metrics(req, res)) adapter(req, res);
 */
import type { Logger } from "../log.js";
import type { NodeResponse } from "./node-types.js";
import { PROBE_PATHS, type ProbeHandler } from "./probes.js";

export const METRICS_PATH = "/metrics";

/** Paths the request log writes at debug: the probes and the metrics. */
export const QUIET_PATHS: ReadonlySet<string> = new Set([...PROBE_PATHS, METRICS_PATH]);

/** Renders the metrics: the body and its content type. */
export type Scrape = () => Promise<{ contentType: string; body: string }>;

/**
 * Creates the handler; it answers `/metrics` and returns true, else returns false.
 *
 * @example
 *   createMetricsEndpoint({ scrape: async () => ({ contentType: "text/plain; version=0.0.4", body: "" }) });
 */
export function createMetricsEndpoint(opts: { scrape: Scrape; logger?: Logger }): ProbeHandler {
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    if (path !== METRICS_PATH) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendText(res, 405, "text/plain; charset=utf-8", "method not allowed\n");
      return true;
    }
    opts.scrape().then(
      ({ contentType, body }) => sendText(res, 200, contentType, body),
      (err: unknown) => {
        opts.logger?.warn({ err }, "metrics scrape failed");
        sendText(res, 500, "text/plain; charset=utf-8", "metrics unavailable\n");
      },
    );
    return true;
  };
}

/** Node leaves the body out of an answer to HEAD by itself. */
function sendText(res: NodeResponse, status: number, type: string, text: string): void {
  if (res.writableEnded || res.destroyed) return;
  res.statusCode = status;
  res.setHeader("content-type", type);
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}
