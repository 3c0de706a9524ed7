/**
 * Every `Failure.type` the control plane or an SDK produces, as constants,
 * and the catalogue of them with the line docs/contract.md's table gives
 * each (test/unit/failure-catalogue.test.ts keeps the two equal, and
 * sdk/failures.ts in step). Import them from `./failures.js`, which adds the
 * constructors.
 *
 * Workers may send any type of their own (`CARD_DECLINED`): `Failure.type`
 * stays a string, and these are only the types Weft itself gives a meaning.
 */

/** A worker's lease ended (stream closed, heartbeats missed): the control plane took the task back. */
export const LEASE_LOST = "LEASE_LOST";
/** The step's `timeout` passed, or a built-in's own timeout. */
export const TIMEOUT = "TIMEOUT";
/** The task was stopped on the server's `cancel`, or its run was cancelled. */
export const CANCELLED = "CANCELLED";
/** The run's `timeout` passed: the run's error and that of each step it stopped. */
export const TIMED_OUT = "TIMED_OUT";
/** The family `HTTP_<status>` (`HTTP_404`, `HTTP_503`): see {@link httpStatusType}. */
export const HTTP_STATUS = "HTTP_<status>";
/** `http.request` / `webhook` could not connect. */
export const NETWORK_ERROR = "NETWORK_ERROR";
/** `http.request` / `webhook` / a run webhook asked for an address the outbound policy refuses. */
export const EGRESS_DENIED = "EGRESS_DENIED";
/** An input or output above `--max-payload-bytes`. */
export const PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE";
/** A built-in's input it cannot take, or a step input Postgres cannot store. */
export const INVALID_INPUT = "INVALID_INPUT";
/** An output Postgres cannot store, or an `output_json` that is not JSON. */
export const INVALID_OUTPUT = "INVALID_OUTPUT";
/** A `when`, input template, run `output` or `transform` expression could not be evaluated. */
export const EXPRESSION_ERROR = "EXPRESSION_ERROR";
/** A run's error when the step that failed it recorded none. */
export const STEP_FAILED = "STEP_FAILED";
/** A task for an action its worker (or the built-in runner) does not have. */
export const UNKNOWN_ACTION = "UNKNOWN_ACTION";
/** A built-in action threw instead of returning an outcome. */
export const BUILTIN_ERROR = "BUILTIN_ERROR";
/** An SDK handed a task back: it was draining. */
export const WORKER_DRAINING = "WORKER_DRAINING";
/** An SDK handed a task back: it stopped before the handler finished. */
export const WORKER_SHUTDOWN = "WORKER_SHUTDOWN";
/** An SDK handed a task back: it had no free slot. */
export const NO_SLOT = "NO_SLOT";
/** An SDK stopped a handler at the task's deadline. */
export const DEADLINE_EXCEEDED = "DEADLINE_EXCEEDED";
/** An SDK could not decode a task's input. */
export const BAD_INPUT = "BAD_INPUT";
/** A handler returned what JSON cannot hold. */
export const OUTPUT_NOT_SERIALIZABLE = "OUTPUT_NOT_SERIALIZABLE";
/** A result encodes larger than the server accepts. */
export const OUTPUT_TOO_LARGE = "OUTPUT_TOO_LARGE";
/** An SDK abandoned an attempt because the server offered the task again. */
export const SUPERSEDED = "SUPERSEDED";
/** A worker's failure that names no type (and the SDKs' type for a plain `Error`). */
export const UNTYPED_ERROR = "Error";

/** Who produces a failure type: the control plane, the SDKs, or both. */
export type FailureSource = "server" | "sdk" | "both";

/**
 * One failure type and its row of docs/contract.md's table.
 *
 * @example
 * const e: FailureEntry = { type: NO_SLOT, by: "sdk", retryable: true, meaning: "…", retried: "…" };
 */
export interface FailureEntry {
  /** The `Failure.type`; {@link HTTP_STATUS} stands for the `HTTP_<status>` family. */
  readonly type: string;
  readonly by: FailureSource;
  /** `Failure.retryable` as its producers set it; undefined: it depends (the HTTP status). */
  readonly retryable: boolean | undefined;
  /** The table's "meaning" column. */
  readonly meaning: string;
  /** The table's "retried" column, word for word. */
  readonly retried: string;
}

const POLICY = "under the step's policy";
const RETURNED = "a worker handed a task back";
const AT_ONCE = "at once, without waiting for backoff";

/**
 * Every failure type Weft produces, in docs/contract.md's table order.
 *
 * @example
 * const retried = FAILURE_CATALOGUE.find((e) => e.type === LEASE_LOST)?.retried; // "under the step's policy"
 */
export const FAILURE_CATALOGUE: readonly FailureEntry[] = [
  entry(LEASE_LOST, "server", true, "the worker's lease ended (stream closed, heartbeats missed)", POLICY),
  entry(TIMEOUT, "server", true, "the step's `timeout` passed, or a built-in's own timeout", POLICY),
  entry(
    CANCELLED,
    "both",
    false,
    "a worker stopped the task on the server's `cancel` (run cancelled or timed out)",
    "no",
  ),
  entry(
    HTTP_STATUS,
    "server",
    undefined,
    "`http.request` / `webhook` got a non-2xx answer",
    "5xx and 429 yes, other 4xx no",
  ),
  entry(NETWORK_ERROR, "server", true, "`http.request` / `webhook` could not connect", "yes"),
  entry(
    EGRESS_DENIED,
    "server",
    false,
    "`http.request` / `webhook` was refused the address by the outbound policy (`--egress-allow`, `--egress-deny`; internal ranges while auth is on)",
    "no",
  ),
  entry(PAYLOAD_TOO_LARGE, "server", false, "an input or output above `--max-payload-bytes`", "no"),
  entry(
    INVALID_OUTPUT,
    "server",
    false,
    "an output Postgres cannot store (a NUL character, a lone UTF-16 surrogate)",
    "no",
  ),
  entry(WORKER_DRAINING, "sdk", true, RETURNED, AT_ONCE),
  entry(WORKER_SHUTDOWN, "sdk", true, RETURNED, AT_ONCE),
  entry(NO_SLOT, "sdk", true, RETURNED, AT_ONCE),
  entry(
    TIMED_OUT,
    "server",
    false,
    "the run's `timeout` passed: the run's error and that of each step it stopped",
    "no",
  ),
  entry(
    INVALID_INPUT,
    "server",
    false,
    "a built-in's input it cannot take, or a step input Postgres cannot store",
    "no",
  ),
  entry(
    EXPRESSION_ERROR,
    "server",
    false,
    "a `when`, input template, run `output` or `transform` expression failed",
    "no",
  ),
  entry(STEP_FAILED, "server", false, "a run's error when the step that failed it recorded none", "no"),
  entry(UNKNOWN_ACTION, "both", false, "a task for an action its worker (or the built-in runner) does not have", "no"),
  entry(BUILTIN_ERROR, "server", true, "a built-in action threw instead of returning an outcome", POLICY),
  entry(DEADLINE_EXCEEDED, "sdk", true, "the SDK stopped the handler at the task's deadline", POLICY),
  entry(BAD_INPUT, "sdk", false, "the SDK could not decode the task's input", "no"),
  entry(OUTPUT_NOT_SERIALIZABLE, "sdk", false, "the handler returned what JSON cannot hold (a cycle, a BigInt)", "no"),
  entry(OUTPUT_TOO_LARGE, "sdk", false, "the encoded result is larger than the server accepts", "no"),
  entry(SUPERSEDED, "sdk", true, "the server offered the task again; the SDK abandoned the older attempt", POLICY),
  entry(UNTYPED_ERROR, "both", true, "a worker's failure that names no type (the SDKs: a plain `Error`)", POLICY),
];

function entry(
  type: string,
  by: FailureSource,
  retryable: boolean | undefined,
  meaning: string,
  retried: string,
): FailureEntry {
  return { type, by, retryable, meaning, retried };
}

/**
 * The type of an HTTP answer's failure: `HTTP_<status>`.
 *
 * @example
 * httpStatusType(503); // "HTTP_503"
 */
export function httpStatusType(status: number): string {
  return `HTTP_${status}`;
}

const BY_TYPE = new Map(FAILURE_CATALOGUE.map((e) => [e.type, e]));

/**
 * The catalogue entry of a failure type (`HTTP_404` → the `HTTP_<status>`
 * entry), or undefined for a type of a worker's own.
 *
 * @example
 * catalogueEntry("HTTP_429")?.retried; // "5xx and 429 yes, other 4xx no"
 * catalogueEntry("CARD_DECLINED"); // undefined
 */
export function catalogueEntry(type: string): FailureEntry | undefined {
  return BY_TYPE.get(/^HTTP_\d{3}$/.test(type) ? HTTP_STATUS : type);
}
