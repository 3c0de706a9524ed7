/**
 * The console's only way to the server: the generated service descriptors
 * over Connect (fetch), with the API key from this browser tab's session.
 *
 * @example
 *   const { run } = await api.runs.getRun({ runId });
 */
import { Code, ConnectError, createClient, type Client, type Interceptor } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-web";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { WorkerService } from "../../gen/weft/v1/worker_service_pb.js";
import { WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import { createStore } from "./store.js";

const KEY_ITEM = "weft.apiKey";

/** The key typed into the prompt; kept in sessionStorage only (gone when the tab closes). */
export const apiKey = createStore<string | null>(sessionStorage.getItem(KEY_ITEM));
apiKey.subscribe((key) => {
  if (key === null) sessionStorage.removeItem(KEY_ITEM);
  else sessionStorage.setItem(KEY_ITEM, key);
});

/** The server asked for a key (UNAUTHENTICATED): the prompt shows. */
export const needsKey = createStore(false);
/** The last call could not reach the server: the "disconnected, retrying" banner shows. */
export const disconnected = createStore(false);
/** The key may read but not cancel or retry (a viewer): those buttons are hidden. */
export const readOnly = createStore(false);

const auth: Interceptor = (next) => async (req) => {
  const key = apiKey.get();
  if (key) req.header.set("authorization", `Bearer ${key}`);
  try {
    const res = await next(req);
    disconnected.set(false);
    return res;
  } catch (err) {
    noteFailure(err);
    throw err;
  }
};

/** Updates the banner, the key prompt and the read-only flag from a failed call. */
export function noteFailure(err: unknown): void {
  const e = ConnectError.from(err);
  if (isDisconnect(e)) {
    disconnected.set(true);
    return;
  }
  disconnected.set(false);
  if (e.code === Code.Unauthenticated) needsKey.set(true);
  if (e.code === Code.PermissionDenied) readOnly.set(true);
}

/** A fetch that never reached the server, or a server going away. */
export function isDisconnect(e: ConnectError): boolean {
  return e.code === Code.Unavailable || (e.code === Code.Unknown && /fetch|network/i.test(e.rawMessage));
}

const transport = createConnectTransport({ baseUrl: window.location.origin, interceptors: [auth] });

export const api: {
  workflows: Client<typeof WorkflowService>;
  runs: Client<typeof RunService>;
  workers: Client<typeof WorkerService>;
} = {
  workflows: createClient(WorkflowService, transport),
  runs: createClient(RunService, transport),
  workers: createClient(WorkerService, transport),
};

/**
 * Learns whether the key may cancel: a CancelRun without a run id is refused
 * before anything is looked up, PERMISSION_DENIED for a role that may not
 * cancel and INVALID_ARGUMENT for one that may. Only asked when the server
 * wants keys (an open server lets everyone act).
 */
export async function probeRole(): Promise<void> {
  if (!apiKey.get()) return;
  try {
    await api.runs.cancelRun({ runId: "" });
  } catch (err) {
    const e = ConnectError.from(err);
    readOnly.set(e.code === Code.PermissionDenied);
  }
}

/** Saves a key typed into the prompt and asks what it may do. */
export function saveKey(key: string): void {
  apiKey.set(key.trim() || null);
  needsKey.set(false);
  readOnly.set(false);
  void probeRole();
}
