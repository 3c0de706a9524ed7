/**
 * The web console on the one port. `GET /` and the console's own routes
 * (any GET or HEAD that accepts `text/html` and is not an RPC path) get
 * `index.html`, never cached, so a new server's bundle is picked up at the
 * next load; `/assets/*` are content-hashed files, cached for a year. RPC
 * paths (`/<package>.<Service>/<Method>`) are never answered here.
 *
 * @example
 *   const consoleAssets = loadConsoleAssets({ dir: "console/dist" });
 *   if (!consoleAssets(req, res)) adapter(req, res);
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { extname, join } from "node:path";
import { gzipSync } from "node:zlib";
import type { Logger } from "../log.js";
import type { NodeRequest, NodeResponse } from "./node-types.js";
import type { ProbeHandler } from "./probes.js";

const ASSET_PREFIX = "/assets/";
const IMMUTABLE = "public, max-age=31536000, immutable";
const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".html": "text/html; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
  ".woff2": "font/woff2",
  ".json": "application/json",
};
/** What a Connect, gRPC or gRPC-Web call's path looks like: `/weft.v1.RunService/GetRun`. */
const RPC_PATH = /^\/[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+\/[A-Za-z_]\w*$/;

interface File {
  type: string;
  body: Buffer;
  gzip: Buffer | undefined;
}

export interface ConsoleAssetOptions {
  /** The built console: `index.html` and `assets/`. */
  dir: string;
  logger?: Logger;
}

/**
 * Reads the built console into memory once; answers its requests and returns
 * true, anything else false. Without a built console, a browser is told how
 * to build it.
 *
 * @example
 *   loadConsoleAssets({ dir: fileURLToPath(new URL("../console/dist", import.meta.url)) });
 */
export function loadConsoleAssets(opts: ConsoleAssetOptions): ProbeHandler {
  const index = readIfThere(join(opts.dir, "index.html"));
  if (index === undefined) opts.logger?.warn({ dir: opts.dir }, "no console to serve: run npm run build:console");
  const assets = readAssets(join(opts.dir, "assets"));
  return (req, res) => {
    if (req.method !== "GET" && req.method !== "HEAD") return false;
    const path = (req.url ?? "").split("?", 1)[0] ?? "";
    if (path.startsWith(ASSET_PREFIX)) {
      const file = assets.get(path.slice(ASSET_PREFIX.length));
      if (file) send(req, res, 200, file, IMMUTABLE);
      else send(req, res, 404, text("no such console asset\n"), "no-store");
      return true;
    }
    if (RPC_PATH.test(path) || !String(req.headers.accept ?? "").includes("text/html")) return false;
    if (index) send(req, res, 200, index, "no-cache");
    else send(req, res, 404, text("The console is not built: run npm run build:console\n"), "no-store");
    return true;
  };
}

function readIfThere(path: string): File | undefined {
  return existsSync(path) ? file(path, readFileSync(path)) : undefined;
}

function readAssets(dir: string): Map<string, File> {
  const files = new Map<string, File>();
  if (!existsSync(dir)) return files;
  for (const name of readdirSync(dir)) files.set(name, file(name, readFileSync(join(dir, name))));
  return files;
}

function file(name: string, body: Buffer): File {
  const type = TYPES[extname(name)] ?? "application/octet-stream";
  const compressible = type.startsWith("text/") || type === "image/svg+xml" || type === "application/json";
  return { type, body, gzip: compressible && body.length > 1024 ? gzipSync(body, { level: 9 }) : undefined };
}

function text(body: string): File {
  return { type: "text/plain; charset=utf-8", body: Buffer.from(body), gzip: undefined };
}

/** Gzipped when the client takes it; Node leaves the body out of an answer to HEAD. */
function send(req: NodeRequest, res: NodeResponse, status: number, f: File, cache: string): void {
  const gzip = f.gzip !== undefined && /\bgzip\b/.test(String(req.headers["accept-encoding"] ?? ""));
  const body = gzip ? f.gzip! : f.body;
  res.statusCode = status;
  res.setHeader("content-type", f.type);
  res.setHeader("cache-control", cache);
  res.setHeader("x-content-type-options", "nosniff");
  if (f.gzip !== undefined) res.setHeader("vary", "accept-encoding");
  if (gzip) res.setHeader("content-encoding", "gzip");
  res.setHeader("content-length", body.length);
  res.end(body);
}
