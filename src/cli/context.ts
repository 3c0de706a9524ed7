/**
 * What every client command gets: a client for the server named by
 * `--address` (or `WEFT_ADDRESS`), carrying `--api-key` as a bearer token,
 * `--namespace` as the `weft-namespace` header
 * and `--ca-file` / `--cert-file` / `--key-file` for TLS, and the printer
 * for `-o`.
 *
 * @example
 *   const ctx = openContext({ address: "http://127.0.0.1:8080", output: "json" });
 *   await ctx.client.workflows.listWorkflows({});
 *   ctx.close();
 */
import { readFileSync } from "node:fs";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { UsageError } from "./errors.js";
import { createOutput, FORMATS, type Format, type Output } from "./output.js";

export interface GlobalOptions {
  address: string;
  apiKey?: string;
  namespace?: string;
  output: string;
  caFile?: string;
  certFile?: string;
  keyFile?: string;
}

export interface CliContext {
  address: string;
  client: WeftClient;
  out: Output;
  close(): void;
}

export const DEFAULT_ADDRESS = "http://127.0.0.1:8080";

/**
 * Opens the client and the printer for one command.
 *
 * @example
 *   const ctx = openContext({ address: DEFAULT_ADDRESS, output: "table" });
 */
export function openContext(opts: GlobalOptions): CliContext {
  if (!FORMATS.includes(opts.output as Format)) {
    throw new UsageError(`-o/--output: expected one of ${FORMATS.join(", ")}, got "${opts.output}"`);
  }
  const tls = opts.caFile !== undefined || opts.certFile !== undefined;
  // A bare host:port with TLS files means TLS: the files would be pointless over cleartext.
  const address = /^[a-z]+:\/\//i.test(opts.address) ? opts.address : `${tls ? "https" : "http"}://${opts.address}`;
  let client: WeftClient;
  try {
    const { apiKey, namespace, caFile, certFile, keyFile } = opts;
    client = createWeftClient(address, { apiKey, namespace, caFile, certFile, keyFile });
  } catch (err) {
    // certFile, keyFile and caFile are --cert-file, --key-file and --ca-file here.
    const msg = (err as Error).message.replace(/\b(ca|cert|key)File\b/g, "--$1-file");
    throw new UsageError(msg);
  }
  return {
    address,
    client,
    out: createOutput({ format: opts.output as Format, stream: process.stdout }),
    close: () => client.close(),
  };
}

/**
 * JSON given inline or as `@file` (`@-`: standard input); `what` names the flag in errors.
 *
 * @example
 *   parseJsonArg('{"name": "Ada"}', "--input"); // { name: "Ada" }
 */
export function parseJsonArg(text: string, what: string): unknown {
  let source = text;
  if (text.startsWith("@")) {
    const path = text.slice(1);
    try {
      source = readFileSync(path === "-" ? 0 : path, "utf8");
    } catch (err) {
      throw new UsageError(`${what}: cannot read ${path}: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(source) as unknown;
  } catch (err) {
    throw new UsageError(
      `${what}: not JSON (${(err as Error).message}); for example ${what} '{"name": "Ada"}' or ${what} @input.json`,
    );
  }
}

/**
 * `30s`, `15m`, `1h`, `7d` → milliseconds.
 *
 * @example
 *   parseSince("1h"); // 3600000
 */
export function parseSince(text: string, flag = "--since"): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new UsageError(`${flag}: expected a duration such as 30s, 15m, 1h or 7d, got "${text}"`);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as "ms" | "s" | "m" | "h" | "d"];
  return Number(m[1]) * unit;
}
