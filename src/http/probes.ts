/**
 * Plain-HTTP probes for orchestrators and load balancers:
 * `GET /healthz` → 200 `{"status":"ok"}` while the process serves;
 * `GET /readyz` → 200 `{"status":"ready"}` when `ready()` resolves true,
 * else 503 `{"status":"not ready","reason":…}` (also when it throws or
 * takes longer than `timeoutMs`).
 *
 * @example
 *   const probes = createProbes({ ready: () => store.ready() });
 *   if (!probes(req, res)) adapter(req, res);
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { Logger } from "../log.js";
import { sendJson, type NodeRequest, type NodeResponse } from "./node-types.js";

export interface ProbeOptions {
  ready: () => Promise<boolean>;
  /** A readiness check slower than this is "not ready"; 5 s by default. */
  timeoutMs?: number;
  /** Where a throwing readiness check is reported (the answer names no internals). */
  logger?: Logger;
}

/** Answers the request if it is a probe and returns true; false otherwise. */
export type ProbeHandler = (req: NodeRequest, res: NodeResponse) => boolean;

/** The probe paths, for callers that log them at a lower level. */
export const PROBE_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

/**
 * Creates the probe handler.
 *
 * @example
 *   createProbes({ ready: async () => true, timeoutMs: 2000 });
 */
export function createProbes(opts: ProbeOptions): ProbeHandler {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  return (req, res) => {
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    if (!PROBE_PATHS.has(path)) return false;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.setHeader("allow", "GET, HEAD");
      sendJson(res, 405, { status: "method not allowed" });
      return true;
    }
    if (path === "/healthz") {
      sendJson(res, 200, { status: "ok" });
      return true;
    }
    void readiness(opts, timeoutMs).then(({ ok, reason }) =>
      sendJson(res, ok ? 200 : 503, ok ? { status: "ready" } : { status: "not ready", reason }),
    );
    return true;
  };
}

async function readiness(opts: ProbeOptions, timeoutMs: number): Promise<{ ok: boolean; reason?: string }> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      Promise.resolve()
        .then(() => opts.ready())
        .then(
          (ok) => (ok === true ? { ok: true } : { ok: false, reason: "readiness check failed" }),
          (err: unknown) => {
            opts.logger?.warn({ err }, "readiness check threw");
            return { ok: false, reason: "readiness check threw an error" };
          },
        ),
      sleep(
        timeoutMs,
        { ok: false, reason: `readiness check took over ${timeoutMs} ms` },
        { signal: timer.signal },
      ).catch(() => ({ ok: false })),
    ]);
  } finally {
    timer.abort();
  }
}
