/**
 * The handler-facing API: what an action handler receives (`TaskContext`)
 * and how it reports a failure (`TaskError`). Nothing here knows the
 * connection; `worker.ts` builds contexts and turns errors into results.
 *
 * @example
 * ```ts
 * worker.register("charge", async (input: { cents: number }, ctx) => {
 *   if (input.cents <= 0) throw TaskError.nonRetryable("BAD_AMOUNT", "cents must be positive");
 *   const res = await fetch(url, { signal: ctx.signal });
 *   ctx.heartbeat();
 *   return { status: res.status, attempt: ctx.attempt };
 * });
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { SdkErrorType } from "./failures.js";

/** What a handler knows about the task it runs. */
export interface TaskContext {
  readonly taskId: string;
  readonly runId: string;
  readonly stepId: string;
  readonly workflowId: string;
  readonly action: string;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** When the step's timeout ends this attempt (server clock); undefined: none. */
  readonly deadline: Date | undefined;
  /**
   * Aborts when the server cancels the task (reason: `TaskError` "CANCELLED"),
   * its deadline passes ("DEADLINE_EXCEEDED") or the worker stops before it
   * finished ("WORKER_SHUTDOWN"). Pass it to every I/O call.
   */
  readonly signal: AbortSignal;
  /**
   * Tell the server the task is alive now. The worker already heartbeats
   * every running task on its own, so this is only for sending one early; it
   * is throttled to about a third of the task's heartbeat timeout. `details`
   * is accepted for forward compatibility and not sent: the contract's
   * `Heartbeat` carries task ids only.
   */
  heartbeat(details?: unknown): void;
}

/**
 * An action handler: JSON input in, anything JSON-serializable out
 * (`undefined` becomes `null`). Throw to fail the attempt.
 *
 * @example
 * ```ts
 * const double: TaskHandler<{ n: number }, { n: number }> = ({ n }) => ({ n: n * 2 });
 * ```
 */
export type TaskHandler<I = JsonValue, O = unknown> = (input: I, ctx: TaskContext) => O | Promise<O>;

// Still importable from here, where it used to live; the list is in failures.ts.
export { SdkErrorType };

/** Failure.type is at most 256 characters, Failure.message at most 65,536. */
const MAX_TYPE = 256;
const MAX_MESSAGE = 65_000;

/**
 * A failure with a machine-readable `type` (matched by a step's
 * `retry.non_retryable_errors`) and a `retryable` flag.
 *
 * @example
 * ```ts
 * throw TaskError.retryable("RATE_LIMITED", "429 from the payment API");
 * throw TaskError.nonRetryable("CARD_DECLINED", "the card was declined");
 * ```
 */
export class TaskError extends Error {
  override readonly name = "TaskError";
  readonly type: string;
  readonly retryable: boolean;

  constructor(type: string, message: string, opts: { retryable?: boolean; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.type = type || SdkErrorType.ERROR;
    this.retryable = opts.retryable ?? true;
  }

  /** A failure the server may retry (per the step's retry policy). */
  static retryable(type: string, message: string): TaskError {
    return new TaskError(type, message, { retryable: true });
  }

  /** A failure that ends the step at once, whatever the retry policy says. */
  static nonRetryable(type: string, message: string): TaskError {
    return new TaskError(type, message, { retryable: false });
  }
}

/**
 * Turn any thrown value into a `TaskError`: a `TaskError` stays as it is;
 * any other value becomes retryable with type `error.name || "Error"`.
 * Type and message are cut to the contract's limits.
 *
 * @example
 * ```ts
 * toTaskError(new TypeError("x")); // { type: "TypeError", message: "x", retryable: true }
 * ```
 */
export function toTaskError(err: unknown): TaskError {
  const base =
    err instanceof TaskError
      ? err
      : err instanceof Error
        ? new TaskError(err.name || SdkErrorType.ERROR, err.message, { retryable: true, cause: err })
        : new TaskError(SdkErrorType.ERROR, describe(err), { retryable: true, cause: err });
  if (base.type.length <= MAX_TYPE && base.message.length <= MAX_MESSAGE) return base;
  return new TaskError(base.type.slice(0, MAX_TYPE), base.message.slice(0, MAX_MESSAGE), {
    retryable: base.retryable,
    cause: base,
  });
}

function describe(v: unknown): string {
  if (typeof v === "string") return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return String(v);
  }
}
