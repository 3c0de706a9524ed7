/**
 * Typed clients for the control plane's `WorkflowService`, `RunService` and
 * `WorkerService` (its `ListWorkers`), and `triggerAndWait()`: start a run
 * and follow it to its end.
 *
 * @example
 * ```ts
 * const weft = createWeftClient("http://127.0.0.1:8080");
 * const run = await triggerAndWait(weft, "billing", { customer: "c-1" }, { timeoutMs: 60_000 });
 * if (run.status === RunStatus.SUCCEEDED) console.log(valueToJson(run.output));
 * weft.close();
 * ```
 *
 * Over TLS: an `https://` address, with `caFile` when the server's
 * certificate is not signed by a public CA, and `certFile` / `keyFile` when
 * it asks for a client certificate (mTLS).
 */
import { readFileSync } from "node:fs";
import type { SecureContextOptions } from "node:tls";
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { Http2SessionManager, createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { AdminService } from "../gen/weft/v1/admin_service_pb.js";
import { RunStatus, type Run } from "../gen/weft/v1/common_pb.js";
import { RunService } from "../gen/weft/v1/run_service_pb.js";
import { WorkerService } from "../gen/weft/v1/worker_service_pb.js";
import { WorkflowService } from "../gen/weft/v1/workflow_service_pb.js";
import { sleep } from "./timers.js";
import { jsonToValue } from "./value.js";

export interface WeftClient {
  workflows: Client<typeof WorkflowService>;
  runs: Client<typeof RunService>;
  /** `listWorkers`: the workers connected to any replica (`connect` is the `Worker` class's business). */
  workers: Client<typeof WorkerService>;
  /** API keys and the audit trail (admin keys only). */
  admin: Client<typeof AdminService>;
  /** Drop the HTTP/2 connection (gRPC); harmless to call twice. */
  close(): void;
}

/** PEM files of a TLS connection; the same shape for `createWeftClient` and `Worker`'s `tls`. */
export interface TlsFiles {
  /** CA certificate(s) the server's certificate must chain to; unset: the system's public CAs. */
  caFile?: string;
  /** Client certificate (chain), for servers that require one (mTLS); needs `keyFile`. */
  certFile?: string;
  /** Private key of `certFile`. */
  keyFile?: string;
}

/**
 * Reads the PEM files into Node TLS options (empty when none is set); a file
 * that cannot be read, or a certificate without its key, throws a
 * `TypeError` naming the option.
 *
 * @example
 * ```ts
 * new Http2SessionManager("https://weft:8443", undefined, tlsConnectOptions({ caFile: "ca.pem" }));
 * ```
 */
export function tlsConnectOptions(files: TlsFiles | undefined): Pick<SecureContextOptions, "ca" | "cert" | "key"> {
  if (!files) return {};
  if ((files.certFile === undefined) !== (files.keyFile === undefined)) {
    throw new TypeError("certFile and keyFile: a client certificate needs both");
  }
  const read = (name: keyof TlsFiles): Buffer | undefined => {
    const path = files[name];
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (err) {
      throw new TypeError(`${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
    }
  };
  const [ca, cert, key] = [read("caFile"), read("certFile"), read("keyFile")];
  return { ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
}

export interface WeftClientOptions extends TlsFiles {
  /** "grpc" (HTTP/2, default) or "connect" (Connect protocol over HTTP/1.1). */
  protocol?: "grpc" | "connect";
  /** Headers sent with every call, e.g. `{ "x-request-id": "…" }`. */
  headers?: Record<string, string>;
  /** An API key, sent as `authorization: Bearer <key>` (servers that require keys). */
  apiKey?: string;
  /** The namespace every call acts in, sent as `weft-namespace` (default: the key's only one, else `default`). */
  namespace?: string;
}

/**
 * The server accepts `google.protobuf.Value`s nested 64 levels deep (each
 * level two messages in binary, inside a response of up to a few more);
 * protobuf-es decodes only 100 nested messages by default, so a run input or
 * spec the server took could not be read back. The server's own limit.
 */
export const DECODE_LIMITS = { binaryOptions: { recursionLimit: 258 }, jsonOptions: { recursionLimit: 258 } } as const;

/**
 * Clients for a control plane at `address`.
 *
 * @example
 * ```ts
 * const { workflows, runs, close } = createWeftClient("http://127.0.0.1:8080", { protocol: "connect" });
 * const secure = createWeftClient("https://weft.internal:8443", { caFile: "ca.pem" });
 * const { runId } = await workflows.triggerWorkflow({ workflowId: "hello" });
 * ```
 */
export function createWeftClient(address: string, opts: WeftClientOptions = {}): WeftClient {
  const headers = Object.entries({
    ...opts.headers,
    ...(opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {}),
    ...(opts.namespace ? { "weft-namespace": opts.namespace } : {}),
  });
  const interceptors: Interceptor[] =
    headers.length === 0
      ? []
      : [
          (next) => (req) => {
            for (const [k, v] of headers) req.header.set(k, v);
            return next(req);
          },
        ];
  const nodeOptions = tlsConnectOptions(opts);
  let session: Http2SessionManager | undefined;
  let transport;
  if (opts.protocol === "connect") {
    transport = createConnectTransport({
      baseUrl: address,
      httpVersion: "1.1",
      nodeOptions,
      interceptors,
      ...DECODE_LIMITS,
    });
  } else {
    session = new Http2SessionManager(address, undefined, nodeOptions);
    transport = createGrpcTransport({ baseUrl: address, sessionManager: session, interceptors, ...DECODE_LIMITS });
  }
  return {
    workflows: createClient(WorkflowService, transport),
    runs: createClient(RunService, transport),
    workers: createClient(WorkerService, transport),
    admin: createClient(AdminService, transport),
    close: () => session?.abort(),
  };
}

export interface TriggerAndWaitOptions {
  idempotencyKey?: string;
  /** Workflow version; 0 or unset: the latest. */
  version?: number;
  /** Give up (with a `RunTimeoutError`) after this long. Default 5 minutes. */
  timeoutMs?: number;
  /** Poll interval when the server cannot stream (WatchRun UNIMPLEMENTED). Default 500 ms. */
  pollMs?: number;
  signal?: AbortSignal;
}

/**
 * `triggerAndWait()` ran out of time. The run goes on; `runId` is set when
 * the trigger itself had succeeded.
 */
export class RunTimeoutError extends Error {
  override readonly name = "RunTimeoutError";
  constructor(
    readonly workflowId: string,
    readonly runId: string | undefined,
    readonly timeoutMs: number,
    readonly lastStatus: RunStatus | undefined,
  ) {
    super(
      runId === undefined
        ? `triggering workflow "${workflowId}" did not answer within ${timeoutMs} ms`
        : `run ${runId} of workflow "${workflowId}" did not finish within ${timeoutMs} ms` +
            ` (last status: ${lastStatus === undefined ? "unknown" : RunStatus[lastStatus]})`,
    );
  }
}

const TERMINAL = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT]);

/**
 * Whether a run status is final.
 *
 * @example
 * ```ts
 * isTerminal(RunStatus.RUNNING); // false
 * ```
 */
export function isTerminal(status: RunStatus): boolean {
  return TERMINAL.has(status);
}

/**
 * Trigger `workflowId` with plain JSON `input` and resolve with the run once
 * it is final (SUCCEEDED, FAILED, CANCELLED or TIMED_OUT: check
 * `run.status`). Follows `WatchRun`; polls `GetRun` every `pollMs` when the
 * server answers UNIMPLEMENTED, or when the watch ends before the run does.
 *
 * @example
 * ```ts
 * const run = await triggerAndWait(weft, "charge", { cents: 100 }, { idempotencyKey: "order-7", timeoutMs: 30_000 });
 * ```
 */
export async function triggerAndWait(
  client: Pick<WeftClient, "workflows" | "runs">,
  workflowId: string,
  input: unknown,
  opts: TriggerAndWaitOptions = {},
): Promise<Run> {
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const pollMs = opts.pollMs ?? 500;
  const ctrl = new AbortController();
  const timedOut = new Error("timeout");
  const timer = setTimeout(() => ctrl.abort(timedOut), timeoutMs);
  const onAbort = (): void => ctrl.abort(opts.signal?.reason);
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  if (opts.signal?.aborted) onAbort();
  const { signal } = ctrl;
  let runId: string | undefined;
  let last: RunStatus | undefined;
  try {
    ({ runId } = await client.workflows.triggerWorkflow(
      { workflowId, version: opts.version ?? 0, input: jsonToValue(input), idempotencyKey: opts.idempotencyKey ?? "" },
      { signal },
    ));
    try {
      for await (const { event } of client.runs.watchRun({ runId }, { signal })) {
        if (event?.run) last = event.run.status;
        if (event?.run && isTerminal(event.run.status)) return event.run;
      }
    } catch (err) {
      if (ConnectError.from(err).code !== Code.Unimplemented) throw err;
    }
    for (;;) {
      const { run } = await client.runs.getRun({ runId }, { signal });
      if (run) last = run.status;
      if (run && isTerminal(run.status)) return run;
      if (!(await sleep(pollMs, signal))) throw signal.reason;
    }
  } catch (err) {
    if (signal.reason === timedOut) throw new RunTimeoutError(workflowId, runId, timeoutMs, last);
    throw err;
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
