/**
 * mTLS for workers only (`--tls-client-auth workers`): the TLS listener asks
 * every client for a certificate but lets one without in, and this
 * interceptor refuses the worker stream to a connection whose certificate
 * was not verified against `--tls-client-ca`. Other calls (the CLI, the
 * console, scripts) authenticate with API keys as usual.
 *
 * @example
 *   interceptors: [...(tls?.clientAuth === "workers" ? [workerCertificateInterceptor] : [])]
 */
import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";

/** Whether the call's connection presented a certificate the client CA verified; set by the request log's context. */
export const verifiedClientCertKey = createContextKey<() => boolean>(() => false, {
  description: "weft client certificate verified",
});

const WORKER_STREAM = "/weft.v1.WorkerService/Connect";

/** Refuses the worker stream without a verified client certificate; every other call passes. */
export const workerCertificateInterceptor: Interceptor = (next) => (req) => {
  if (new URL(req.url).pathname !== WORKER_STREAM || req.contextValues.get(verifiedClientCertKey)()) return next(req);
  throw new ConnectError(
    "this server requires workers to present a client certificate signed by its client CA (mTLS)",
    Code.Unauthenticated,
  );
};
