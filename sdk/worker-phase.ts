/**
 * Inside the worker the state is a `Phase`: the names of `WorkerState`, each
 * with what that state holds (the link and tasks from RUNNING on, the drain
 * from DRAINING on). Apart from `worker-state.ts` so that the public state
 * names import nothing of the worker's parts.
 *
 * @example
 * ```ts
 * let phase: Phase = { kind: "INITIALIZED" };
 * ```
 */
import type { Welcome } from "../gen/weft/v1/worker_service_pb.js";
import type { Link } from "./link.js";
import type { TaskHost } from "./task-host.js";
import type { Deferred } from "./worker-state.js";

/** What a started worker holds; kept once it stops, so its counts stay readable. */
export interface Run {
  readonly link: Link;
  readonly host: TaskHost;
  /** start()'s promise: the first welcome resolves it; a refusal of the first hello, or a stop before any welcome, rejects it. */
  readonly started: Deferred;
  /** The last welcome; undefined before the first (a refusal then fails the worker). */
  welcome: Welcome | undefined;
  /** Stops listening for SIGTERM/SIGINT (a no-op without `handleSignals`, or once called). */
  unhookSignals: () => void;
}

export interface Draining {
  readonly kind: "DRAINING";
  readonly run: Run;
  readonly drained: Promise<void>;
  closingLink: boolean;
}

/**
 * The lifecycle: its `kind` is the public `WorkerState`, and each state
 * holds what it needs. `drained` is stop()'s drain, for as long as one began;
 * `closingLink` is set once the drain closes the stream (no reconnecting).
 */
export type Phase =
  | { readonly kind: "INITIALIZED" }
  | { readonly kind: "RUNNING"; readonly run: Run }
  | Draining
  | { readonly kind: "STOPPED"; readonly run: Run | undefined; readonly drained: Promise<void> | undefined }
  | { readonly kind: "FAILED"; readonly run: Run; readonly drained: Promise<void> | undefined };
