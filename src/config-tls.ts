/**
 * The TLS settings of the one port: `--tls-cert` and `--tls-key` (both or
 * neither) and `--tls-client-ca` (mTLS, which needs the other two). Checked
 * at start so a missing file, a key that does not match its certificate or
 * a file that is not PEM stops the server with one line (exit 2) instead of
 * failing the first handshake.
 *
 * @example
 *   const paths = checkTlsSettings(raw, (msg) => new ConfigError(msg));
 *   const tls = readServerTls(config); // undefined: cleartext
 */
import { readFileSync } from "node:fs";
import { createSecureContext } from "node:tls";
import type { Config } from "./config-types.js";
import type { ServerTls } from "./http/tls-listener.js";

type TlsKey = "tlsCert" | "tlsKey" | "tlsClientCa";
export type TlsPaths = Pick<Config, TlsKey> & Partial<Pick<Config, "tlsClientAuth">>;

const NAMES: Record<TlsKey, string> = {
  tlsCert: "--tls-cert / WEFT_TLS_CERT",
  tlsKey: "--tls-key / WEFT_TLS_KEY",
  tlsClientCa: "--tls-client-ca / WEFT_TLS_CLIENT_CA",
};

/**
 * Reads and checks the three settings; `fail` builds the error thrown (the
 * caller's `ConfigError`, which config.ts owns: importing it here would make
 * a cycle).
 *
 * @example
 *   checkTlsSettings((k) => env[k], (m) => new Error(m)); // {} when TLS is off
 */
export function checkTlsSettings(raw: (key: TlsKey) => string | undefined, fail: (msg: string) => Error): TlsPaths {
  const paths: TlsPaths = { tlsCert: raw("tlsCert"), tlsKey: raw("tlsKey"), tlsClientCa: raw("tlsClientCa") };
  if ((paths.tlsCert === undefined) !== (paths.tlsKey === undefined)) {
    const missing = paths.tlsCert === undefined ? "tlsCert" : "tlsKey";
    throw fail(`${NAMES[missing]}: TLS needs both a certificate and its key; set it too, or unset the other`);
  }
  if (paths.tlsClientCa !== undefined && paths.tlsCert === undefined) {
    throw fail(`${NAMES.tlsClientCa}: client certificates need TLS: set --tls-cert and --tls-key too`);
  }
  const tls = readTls(paths, fail);
  if (tls) {
    try {
      createSecureContext({ cert: tls.cert, key: tls.key, ...(tls.clientCa ? { ca: tls.clientCa } : {}) });
    } catch (err) {
      throw fail(
        `${NAMES.tlsCert} and ${NAMES.tlsKey}: not a usable PEM certificate and key (${(err as Error).message})`,
      );
    }
  }
  return paths;
}

/**
 * The PEM contents for the listener, or undefined when TLS is off.
 *
 * @example
 *   createHttpServer({ ..., tls: readServerTls(config) });
 */
export function readServerTls(config: TlsPaths): ServerTls | undefined {
  const tls = readTls(config, (msg) => new Error(msg));
  return tls?.clientCa && config.tlsClientAuth === "workers" ? { ...tls, clientAuth: "workers" } : tls;
}

function readTls(paths: TlsPaths, fail: (msg: string) => Error): ServerTls | undefined {
  if (paths.tlsCert === undefined || paths.tlsKey === undefined) return undefined;
  const read = (key: TlsKey, path: string): Buffer => {
    let pem: Buffer;
    try {
      pem = readFileSync(path);
    } catch (err) {
      throw fail(
        `${NAMES[key]}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    if (!pem.includes("-----BEGIN ")) throw fail(`${NAMES[key]}: ${path} is not a PEM file (no -----BEGIN line)`);
    return pem;
  };
  return {
    cert: read("tlsCert", paths.tlsCert),
    key: read("tlsKey", paths.tlsKey),
    ...(paths.tlsClientCa !== undefined ? { clientCa: read("tlsClientCa", paths.tlsClientCa) } : {}),
  };
}
