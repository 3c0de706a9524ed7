/**
 * The failure types this SDK reports, or hands back for the server to
 * recognise, with the `retryable` it sets on each. They mirror the control
 * plane's catalogue (`src/engine/failure-types.ts`, the table in
 * docs/contract.md); test/unit/failure-catalogue.test.ts fails when the two
 * disagree. The SDK does not import the server's code, hence the copy.
 *
 * @example
 * ```ts
 * worker.on("result", (r) => { if (r.error?.type === SdkErrorType.NO_SLOT) scaleUp(); });
 * ```
 */

/** Failure types the SDK itself reports. */
export const SdkErrorType = {
  /** The server sent a task for an action this worker did not register. */
  UNKNOWN_ACTION: "UNKNOWN_ACTION",
  /** More tasks arrived than the worker has slots; back to the queue. */
  NO_SLOT: "NO_SLOT",
  /** The task arrived while the worker was draining; back to the queue. */
  WORKER_DRAINING: "WORKER_DRAINING",
  /** The worker stopped before the handler finished. */
  WORKER_SHUTDOWN: "WORKER_SHUTDOWN",
  /** The server cancelled the task. */
  CANCELLED: "CANCELLED",
  /** The task's deadline passed. */
  DEADLINE_EXCEEDED: "DEADLINE_EXCEEDED",
  /** The task's input could not be decoded. */
  BAD_INPUT: "BAD_INPUT",
  /** The handler returned something JSON cannot hold (a cycle, a bigint). */
  OUTPUT_NOT_SERIALIZABLE: "OUTPUT_NOT_SERIALIZABLE",
  /** The encoded result is larger than the server accepts. */
  OUTPUT_TOO_LARGE: "OUTPUT_TOO_LARGE",
  /** The server offered the same task again; the older run was abandoned. */
  SUPERSEDED: "SUPERSEDED",
  /** A thrown `Error` (its `name`) or non-error value, with no type of its own. */
  ERROR: "Error",
} as const;

/** One of {@link SdkErrorType}'s values. */
export type SdkErrorType = (typeof SdkErrorType)[keyof typeof SdkErrorType];

/**
 * Whether the SDK marks each of its failure types retryable. A handed-back
 * task (`NO_SLOT`, `WORKER_DRAINING`, `WORKER_SHUTDOWN`) is retryable so the
 * server requeues it at once.
 *
 * @example
 * ```ts
 * SDK_RETRYABLE[SdkErrorType.BAD_INPUT]; // false
 * ```
 */
export const SDK_RETRYABLE: Readonly<Record<SdkErrorType, boolean>> = {
  UNKNOWN_ACTION: false,
  NO_SLOT: true,
  WORKER_DRAINING: true,
  WORKER_SHUTDOWN: true,
  CANCELLED: false,
  DEADLINE_EXCEEDED: true,
  BAD_INPUT: false,
  OUTPUT_NOT_SERIALIZABLE: false,
  OUTPUT_TOO_LARGE: false,
  SUPERSEDED: true,
  Error: true,
};
