/**
 * The HTTP/2 connections a link opens its streams on: its own per address, or
 * the process's shared one (`shareConnection`). A connection costs the server
 * memory of its own besides the stream (nghttp2's session;
 * docs/benchmarks.md#s6-memory-per-stream), and a process running several
 * `Worker`s needs only one. The last link to close drops it.
 *
 * @example
 * ```ts
 * const clients = createLinkClients({ shareConnection: true, pingIntervalMs: 15_000 });
 * const responses = clients.clientFor("http://127.0.0.1:8080").connect(out, { signal });
 * clients.release(); // on close
 * ```
 */
import { createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import { WorkerService } from "../gen/weft/v1/worker_service_pb.js";
import { DECODE_LIMITS, tlsConnectOptions, type TlsFiles } from "./client.js";

interface ClientEntry {
  client: Client<typeof WorkerService>;
  session: Http2SessionManager;
  /** Key in `sharedClients`, for a shared connection. */
  key?: string;
  /** Links using it (shared connections only). */
  users: number;
}

export interface LinkClients {
  /** The WorkerService client for this address, opening (or joining) its connection on first use. */
  clientFor(address: string): Client<typeof WorkerService>;
  /** Drops every connection this link holds (a shared one closes with its last user). */
  release(): void;
}

/** HTTP/2 connections shared by the links of this process, by address, PING interval and TLS files: each link is one stream on it. */
const sharedClients = new Map<string, ClientEntry>();

function openClient(address: string, pingIntervalMs: number, tls: TlsFiles | undefined): ClientEntry {
  const session = new Http2SessionManager(
    address,
    { pingIntervalMs, pingTimeoutMs: Math.min(pingIntervalMs, 10_000) },
    tlsConnectOptions(tls),
  );
  // No compression: gzip of every message over a few hundred bytes costs the server CPU for bytes that
  // stay on a local network (docs/benchmarks.md#worker-stream-messages); connect's default would accept gzip and brotli.
  const transport = createGrpcTransport({
    baseUrl: address,
    sessionManager: session,
    acceptCompression: [],
    ...DECODE_LIMITS,
  });
  return { client: createClient(WorkerService, transport), session, users: 0 };
}

/** Drops a link's hold on a connection: a shared one closes with its last user. */
function releaseClient(entry: ClientEntry): void {
  if (entry.key === undefined) {
    entry.session.abort();
    return;
  }
  entry.users -= 1;
  if (entry.users > 0) return;
  entry.session.abort();
  if (sharedClients.get(entry.key) === entry) sharedClients.delete(entry.key);
}

/**
 * The connections of one link.
 *
 * @example
 * ```ts
 * const clients = createLinkClients({ shareConnection: false, pingIntervalMs: 15_000, tls: { caFile: "ca.pem" } });
 * ```
 */
export function createLinkClients(opts: {
  shareConnection: boolean;
  pingIntervalMs: number;
  /** PEM files for `https://` addresses. */
  tls?: TlsFiles | undefined;
}): LinkClients {
  /** The connections this link holds, by address. */
  const clients = new Map<string, ClientEntry>();
  return {
    clientFor(address) {
      let entry = clients.get(address);
      if (!entry) {
        if (opts.shareConnection) {
          // Workers with other TLS files (another client certificate) must not share a connection.
          const key = `${address} ${opts.pingIntervalMs} ${JSON.stringify(opts.tls ?? {})}`;
          entry = sharedClients.get(key);
          if (!entry) {
            entry = { ...openClient(address, opts.pingIntervalMs, opts.tls), key };
            sharedClients.set(key, entry);
          }
          entry.users += 1;
        } else {
          entry = openClient(address, opts.pingIntervalMs, opts.tls);
        }
        clients.set(address, entry);
      }
      return entry.client;
    },
    release() {
      for (const entry of clients.values()) releaseClient(entry);
      clients.clear();
    },
  };
}
