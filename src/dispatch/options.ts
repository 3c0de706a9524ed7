/**
 * Dispatch knobs, with their defaults (see the README's configuration table).
 */
export interface DispatchOptions {
  /** Lease time to live for tasks without a heartbeat_timeout (ms). */
  leaseTtlMs: number;
  /** How often workers are asked to heartbeat (ms). */
  heartbeatIntervalMs: number;
  /** Group-commit window for results (ms). */
  completionWindowMs: number;
  /** Results per completion transaction at most. */
  completionBatchSize: number;
  /** Completion transactions in flight at once. */
  completionConcurrency: number;
  /** Tasks claimed per query at most. */
  claimBatchSize: number;
  /** Claims in flight at once (one per worker stream at most; Postgres: 2, PGlite: 1). */
  claimConcurrency: number;
  /** Triggers started per transaction at most when calls queue up (see trigger-buffer.ts). */
  triggerBatchSize: number;
  /** Period of the expiry / timeout / due-retry sweep (ms). */
  sweepIntervalMs: number;
}

export const DEFAULT_DISPATCH_OPTIONS: DispatchOptions = {
  leaseTtlMs: 5_000,
  heartbeatIntervalMs: 1_000,
  completionWindowMs: 2,
  completionBatchSize: 500,
  completionConcurrency: 2,
  claimBatchSize: 250,
  claimConcurrency: 2,
  triggerBatchSize: 1000,
  sweepIntervalMs: 500,
};
