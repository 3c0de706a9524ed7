/**
 * The lease store: who runs a task right now, under which fencing token, and
 * until when. Two implementations share these semantics: Redis (several
 * replicas) and in-process (single-node mode).
 *
 * Fencing: every grant carries a token from a counter that only goes up, so
 * a later holder always has a higher token than an earlier one, and a stale
 * holder's renew, check and release do nothing. Tokens stay below 2^53
 * (`MAX_LEASE_TOKEN`), so they are exact in Lua and in JSON numbers.
 *
 * @example
 * ```ts
 * const [grant] = await leases.acquire([{ taskId, minToken: lastTokenInPostgres }], workerId, 5_000);
 * const held = await leases.renew([{ taskId, token: grant.token }], workerId, 5_000); // [taskId]
 * await leases.release([{ taskId, token: grant.token }]);
 * ```
 */

/**
 * One lease handed out by `acquire`.
 *
 * @example
 * ```ts
 * const [{ token, expiresAt }] = await leases.acquire([{ taskId }], workerId, 5_000);
 * ```
 */
export interface LeaseGrant {
  taskId: string;
  /** Fencing token: higher than every token this store handed out before, and than `minToken`. */
  token: bigint;
  /** When the lease ends unless renewed (ms since the epoch, on the store's clock). */
  expiresAt: number;
}

/**
 * A task to lease; its token will be above `minToken`.
 *
 * @example
 * ```ts
 * const item: AcquireItem = { taskId: "0190…/charge", minToken: 41n }; // token ≥ 42n
 * ```
 */
export interface AcquireItem {
  taskId: string;
  /**
   * Floor: the grant's token is above it. Pass the last token written to
   * Postgres, so tokens keep rising even after Redis lost its counter.
   */
  minToken?: bigint;
}

/**
 * A lease as its holder knows it (a `LeaseGrant` fits).
 *
 * @example
 * ```ts
 * await leases.release([{ taskId: grant.taskId, token: grant.token }]);
 * ```
 */
export interface HeldLease {
  taskId: string;
  token: bigint;
}

/**
 * A lease that ended without being released (no heartbeat in time), with
 * the token and worker it had, for requeueing the task.
 *
 * @example
 * ```ts
 * for (const { taskId, token, workerId } of await leases.expired(Date.now(), 500)) lose(taskId, token, workerId);
 * ```
 */
export interface ExpiredLease {
  taskId: string;
  token: bigint;
  workerId: string;
}

/**
 * Task leases with fencing tokens. Every batch call is one round trip.
 *
 * @example
 * ```ts
 * const grants = await leases.acquire(tasks.map((t) => ({ taskId: t.id })), session.id, ttlMs);
 * const stillHeld = new Set(await leases.renew(held, session.id, ttlMs));
 * for (const lost of await leases.expired(Date.now(), 500)) requeue(lost);
 * ```
 */
export interface LeaseStore {
  /**
   * Leases many tasks to one worker at once. Each task gets a fresh token,
   * `max(counter + 1, minToken + 1)`, in the order given; a task already
   * leased is taken over (its old token stops counting). Rejects when the
   * store cannot be reached (Redis: within about two seconds, never queued
   * for longer).
   */
  acquire(items: AcquireItem[], workerId: string, ttlMs: number): Promise<LeaseGrant[]>;
  /**
   * Heartbeat: extends the leases this worker holds with these tokens to
   * `ttlMs` from now. Returns the task ids still held; the others were lost
   * (expired, taken over, released, or wiped).
   */
  renew(items: HeldLease[], workerId: string, ttlMs: number): Promise<string[]>;
  /** True if `token` is the current, live lease of `taskId`. */
  check(taskId: string, token: bigint): Promise<boolean>;
  /**
   * Ends these leases, each only if its token is still the current one (a
   * stale token never releases a newer lease). A released lease is never
   * reported by `expired`.
   */
  release(items: HeldLease[]): Promise<void>;
  /**
   * Leases that ended without release, oldest first, at most `limit`. Each
   * is reported once, to one caller only, even with many replicas sweeping.
   * Expiry is decided by the store's own clock (Redis: server `TIME`;
   * in-process: the injected clock), never by the caller's: `nowMs` is
   * accepted for the record and ignored, so a replica with a skewed clock
   * can neither report a live lease nor hide an expired one.
   */
  expired(nowMs: number, limit: number): Promise<ExpiredLease[]>;
  /** Closes connections the store opened itself. */
  close(): Promise<void>;
}
