/**
 * The failure catalogue: every `Failure.type` Weft produces (constants and
 * their docs table, from `./failure-types.js`), constructors that build the
 * `Failure` with the right `retryable`, and typed abort reasons. The rest
 * of the code base imports failure types from here, not as string literals.
 *
 * @example
 * ```ts
 * import { leaseLost, TIMEOUT } from "../engine/failures.js";
 * const error = leaseLost("worker stream closed"); // { type: "LEASE_LOST", message: "lease lost: …", retryable: true }
 * ```
 */
import {
  BUILTIN_ERROR,
  CANCELLED,
  EGRESS_DENIED,
  EXPRESSION_ERROR,
  httpStatusType,
  INVALID_INPUT,
  INVALID_OUTPUT,
  LEASE_LOST,
  NETWORK_ERROR,
  PAYLOAD_TOO_LARGE,
  TIMED_OUT,
  TIMEOUT,
  UNKNOWN_ACTION,
  WORKER_SHUTDOWN,
} from "./failure-types.js";
import type { Failure } from "./model.js";

export * from "./failure-types.js";

/**
 * A lease that ended: the control plane takes the task back (retryable).
 *
 * @example
 * leaseLost("worker stream closed"); // { type: "LEASE_LOST", message: "lease lost: worker stream closed", retryable: true }
 */
export function leaseLost(why: string): Failure {
  return { type: LEASE_LOST, message: `lease lost: ${why}`, retryable: true };
}

/**
 * A step's or a built-in's timeout (retryable).
 *
 * @example
 * timeout("GET https://x: no answer within 500 ms");
 */
export function timeout(message: string): Failure {
  return { type: TIMEOUT, message, retryable: true };
}

/**
 * A task stopped on a cancel. Not retryable, except where the caller says:
 * the built-in runner reports its cut-short attempts as retryable, as the
 * lease it may race with would be.
 *
 * @example
 * cancelled("cancelled by request"); // { type: "CANCELLED", message: "cancelled by request", retryable: false }
 */
export function cancelled(message: string, retryable = false): Failure {
  return { type: CANCELLED, message, retryable };
}

/**
 * A run whose `timeout` passed (not retryable).
 *
 * @example
 * timedOut("the run's timeout passed");
 */
export function timedOut(message: string): Failure {
  return { type: TIMED_OUT, message, retryable: false };
}

/**
 * A non-2xx HTTP answer: `HTTP_<status>`, retryable for 5xx and 429.
 *
 * @example
 * httpStatus(503, "POST https://x answered 503").retryable; // true
 * httpStatus(404, "GET https://x answered 404").retryable; // false
 */
export function httpStatus(status: number, message: string): Failure {
  return { type: httpStatusType(status), message, retryable: status >= 500 || status === 429 };
}

/**
 * An HTTP exchange that could not connect (retryable).
 *
 * @example
 * networkError("GET https://x: ECONNREFUSED");
 */
export function networkError(message: string): Failure {
  return { type: NETWORK_ERROR, message, retryable: true };
}

/**
 * An outbound request to an address the egress policy refuses (not
 * retryable: the next attempt would be refused the same way).
 *
 * @example
 * egressDenied("GET http://10.0.0.5/: 10.0.0.5 is in the private range 10.0.0.0/8, denied while auth is on; …");
 */
export function egressDenied(message: string): Failure {
  return { type: EGRESS_DENIED, message, retryable: false };
}

/**
 * A payload above `--max-payload-bytes` (not retryable).
 *
 * @example
 * payloadTooLarge("run r step s: output is 2000000 bytes, above the payload limit of 1048576 bytes");
 */
export function payloadTooLarge(message: string): Failure {
  return { type: PAYLOAD_TOO_LARGE, message, retryable: false };
}

/**
 * An input that cannot be used (not retryable).
 *
 * @example
 * invalidInput("delay: input.duration must be a duration such as 30s, 5m or 1h");
 */
export function invalidInput(message: string): Failure {
  return { type: INVALID_INPUT, message, retryable: false };
}

/**
 * An output that cannot be stored or read (not retryable).
 *
 * @example
 * invalidOutput("output_json is not JSON: Unexpected token");
 */
export function invalidOutput(message: string): Failure {
  return { type: INVALID_OUTPUT, message, retryable: false };
}

/**
 * An expression that could not be evaluated (not retryable).
 *
 * @example
 * expressionError("transform: no such key: total");
 */
export function expressionError(message: string): Failure {
  return { type: EXPRESSION_ERROR, message, retryable: false };
}

/**
 * A task for an action nobody here runs (not retryable).
 *
 * @example
 * unknownAction("no built-in http.fetch");
 */
export function unknownAction(message: string): Failure {
  return { type: UNKNOWN_ACTION, message, retryable: false };
}

/**
 * A built-in that threw (retryable: the next attempt may not).
 *
 * @example
 * builtinError("transform: boom");
 */
export function builtinError(message: string): Failure {
  return { type: BUILTIN_ERROR, message, retryable: true };
}

/**
 * Why the control plane aborted work it runs itself, as the failure type the
 * cut-short attempt reports plus a message. Given to `AbortController.abort`
 * so whoever reads `signal.reason` gets the type without parsing text;
 * `String(reason)` is the message.
 *
 * @example
 * controller.abort(new AbortReason(TIMEOUT, "step timed out"));
 * AbortReason.of(controller.signal.reason).type; // "TIMEOUT"
 */
export class AbortReason {
  constructor(
    readonly type: string,
    readonly message: string,
  ) {}

  toString(): string {
    return this.message;
  }

  /** `reason` itself when it is an AbortReason; anything else (an abort by other code) as a cancel. */
  static of(reason: unknown): AbortReason {
    return reason instanceof AbortReason ? reason : new AbortReason(CANCELLED, String(reason));
  }
}

/** The cancel the sweeper sends when a step's timeout passed. */
export const STEP_TIMEOUT_CANCEL = new AbortReason(TIMEOUT, "step timed out");
/** The cancel the sweeper sends when a task's lease expired. */
export const LEASE_EXPIRED_CANCEL = new AbortReason(CANCELLED, "lease expired");
/** The abort of a built-in still running when its server shuts down. */
export const SHUTDOWN_ABORT = new AbortReason(WORKER_SHUTDOWN, "the server is shutting down");

const SERVER_CANCELS = new Map([STEP_TIMEOUT_CANCEL, LEASE_EXPIRED_CANCEL].map((r) => [r.message, r]));

/**
 * The abort reason of a `cancel` message. A cancel travels as text (the
 * NOTIFY between replicas, `Cancel.reason` to workers), so the control
 * plane's own cancels are known by their exact text; any other (a
 * `CancelRun` reason, a run timeout) is `CANCELLED`.
 *
 * @example
 * cancelReason("step timed out").type; // "TIMEOUT"
 * cancelReason("the order timed out").type; // "CANCELLED": a client's words never pick the type
 */
export function cancelReason(message: string): AbortReason {
  return SERVER_CANCELS.get(message) ?? new AbortReason(CANCELLED, message);
}
