/**
 * The worker's lifecycle, one union and one `transition()` that owns the
 * legal moves:
 *
 * ```
 * INITIALIZED ─start()─▶ RUNNING ─stop()─▶ DRAINING ──▶ STOPPED
 *      │                    │                  │
 *      └──stop()──▶ STOPPED └─first connect ───┴──▶ FAILED
 *                              refused (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED)
 * ```
 *
 * RUNNING covers connecting and reconnecting as well (see `worker.connected`).
 * STOPPED and FAILED are final.
 *
 * @example
 * ```ts
 * state = transition(state, WorkerState.DRAINING);
 * ```
 *
 * Inside the worker the state is a `Phase` (`worker-phase.ts`).
 */

export const WorkerState = {
  /** Built; handlers may be registered. */
  INITIALIZED: "INITIALIZED",
  /** Started: connected, or reconnecting with backoff. */
  RUNNING: "RUNNING",
  /** stop() was called: no new tasks, running ones get their grace period. */
  DRAINING: "DRAINING",
  /** Drained and disconnected. */
  STOPPED: "STOPPED",
  /** The server refused the worker on its first connect. */
  FAILED: "FAILED",
} as const;

/** `"INITIALIZED" | "RUNNING" | "DRAINING" | "STOPPED" | "FAILED"`. */
export type WorkerState = (typeof WorkerState)[keyof typeof WorkerState];

const MOVES: Record<WorkerState, readonly WorkerState[]> = {
  INITIALIZED: [WorkerState.RUNNING, WorkerState.STOPPED],
  RUNNING: [WorkerState.DRAINING, WorkerState.FAILED],
  DRAINING: [WorkerState.STOPPED, WorkerState.FAILED],
  STOPPED: [],
  FAILED: [],
};

/**
 * Whether `from → to` is a legal move.
 *
 * @example
 * ```ts
 * canTransition("RUNNING", "DRAINING"); // true
 * ```
 */
export function canTransition(from: WorkerState, to: WorkerState): boolean {
  return MOVES[from].includes(to);
}

/**
 * The new state, or a thrown `Error` naming an illegal move.
 *
 * @example
 * ```ts
 * transition("STOPPED", "RUNNING"); // throws: worker: cannot go from STOPPED to RUNNING
 * ```
 */
export function transition(from: WorkerState, to: WorkerState): WorkerState {
  if (!canTransition(from, to)) throw new Error(`worker: cannot go from ${from} to ${to}`);
  return to;
}

export interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

/**
 * A promise and the functions that settle it.
 *
 * @example
 * ```ts
 * const started = deferred();
 * started.resolve();
 * ```
 */
export function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}
