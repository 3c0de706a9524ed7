/**
 * Clients for every service a server answers (weft.v1, health, reflection)
 * that send one `Authorization` header exactly as given, or none, for the
 * auth tests: a good key, a bad header, a missing one. `localAddress` opens
 * the connection from another loopback address (any of 127.0.0.0/8 on
 * Linux), so a test sees a client address of its own (the auth throttle
 * counts per address).
 *
 * @example
 *   const c = authClients(server.url, { apiKey: "weft_…" });
 *   await c.workflows.listWorkflows({});
 *   c.close();
 */
import { connect } from "node:net";
import { createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health } from "../../gen/grpc/health/v1/health_pb.js";
import * as reflectionV1 from "../../gen/grpc/reflection/v1/reflection_pb.js";
import * as reflectionV1alpha from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";
import { AdminService } from "../../gen/weft/v1/admin_service_pb.js";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkerService } from "../../gen/weft/v1/worker_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";

export interface AuthClients {
  workflows: Client<typeof WorkflowService>;
  runs: Client<typeof RunService>;
  workers: Client<typeof WorkerService>;
  admin: Client<typeof AdminService>;
  health: Client<typeof Health>;
  reflection: Client<typeof reflectionV1.ServerReflection>;
  reflectionAlpha: Client<typeof reflectionV1alpha.ServerReflection>;
  /** Drops the HTTP/2 connection (gRPC); harmless to call twice. */
  close(): void;
}

export interface AuthClientOptions {
  /** Sent as `authorization: Bearer <apiKey>`. */
  apiKey?: string;
  /** The whole `authorization` header, as it is (wins over `apiKey`). */
  authorization?: string;
  /** Open the connection from this local address (e.g. "127.0.0.7"). gRPC only. */
  localAddress?: string;
  /** "grpc" over HTTP/2 (default) or "connect" over HTTP/1.1. */
  protocol?: "grpc" | "connect";
  /**
   * The largest header block the client sends (gRPC). Node's own limit is
   * 64 KiB: a larger header fails in the client before anything is sent.
   */
  maxSendHeaderBytes?: number;
}

/**
 * @example
 *   authClients(url, { authorization: "Basic dXNlcjpwYXNz" }).workflows.listWorkflows({});
 */
export function authClients(baseUrl: string, opts: AuthClientOptions = {}): AuthClients {
  const header = opts.authorization ?? (opts.apiKey === undefined ? undefined : `Bearer ${opts.apiKey}`);
  const interceptors: Interceptor[] =
    header === undefined
      ? []
      : [
          (next) => (req) => {
            req.header.set("authorization", header);
            return next(req);
          },
        ];
  let session: Http2SessionManager | undefined;
  let transport;
  if (opts.protocol === "connect") {
    transport = createConnectTransport({ baseUrl, httpVersion: "1.1", interceptors });
  } else {
    const { localAddress, maxSendHeaderBytes } = opts;
    session = new Http2SessionManager(baseUrl, undefined, {
      ...(localAddress === undefined
        ? {}
        : { createConnection: (url: URL) => connect({ host: url.hostname, port: Number(url.port), localAddress }) }),
      ...(maxSendHeaderBytes === undefined ? {} : { maxSendHeaderBlockLength: maxSendHeaderBytes }),
    });
    transport = createGrpcTransport({ baseUrl, sessionManager: session, interceptors });
  }
  return {
    workflows: createClient(WorkflowService, transport),
    runs: createClient(RunService, transport),
    workers: createClient(WorkerService, transport),
    admin: createClient(AdminService, transport),
    health: createClient(Health, transport),
    reflection: createClient(reflectionV1.ServerReflection, transport),
    reflectionAlpha: createClient(reflectionV1alpha.ServerReflection, transport),
    close: () => session?.abort(),
  };
}

/**
 * A client stream of one request that stays open (not half-closed) until
 * `signal` aborts, as a worker's stream after its hello.
 *
 * @example
 *   for await (const m of client.connect(oneThenWait(hello, ctrl.signal), { signal: ctrl.signal })) break;
 */
export async function* oneThenWait<T>(message: T, signal: AbortSignal): AsyncGenerator<T> {
  yield message;
  if (!signal.aborted) await new Promise((r) => signal.addEventListener("abort", r, { once: true }));
}
