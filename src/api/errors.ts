/**
 * Turning failures into wire codes, at the edge only.
 *
 * Handlers throw `ConnectError`s built here; anything else that escapes is
 * logged and answered as `INTERNAL` without leaking its message.
 *
 * @example
 *   throw invalidArgument([{ field: "workflow.steps[1].depends_on[0]", description: "unknown step \"x\"" }]);
 */
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema, BadRequest_FieldViolationSchema } from "../../gen/google/rpc/error_details_pb.js";
import { InvalidPageTokenError, isDatabaseUnavailable } from "../store/index.js";

/** One offending field of a request, in proto field-path form (`workflow.steps[0].id`). */
export interface FieldViolation {
  field: string;
  description: string;
}

/** `INVALID_ARGUMENT` carrying every violation as `google.rpc.BadRequest` details. */
export function invalidArgument(violations: FieldViolation[]): ConnectError {
  const summary = violations.map((v) => (v.field ? `${v.field}: ${v.description}` : v.description)).join("; ");
  const details = create(BadRequestSchema, {
    fieldViolations: violations.map((v) => create(BadRequest_FieldViolationSchema, v)),
  });
  return new ConnectError(summary, Code.InvalidArgument, undefined, [{ desc: BadRequestSchema, value: details }]);
}

/** `NOT_FOUND` with a message naming what is missing. */
export function notFound(message: string): ConnectError {
  return new ConnectError(message, Code.NotFound);
}

/** `RESOURCE_EXHAUSTED` with a message naming the oversized value. */
export function resourceExhausted(message: string): ConnectError {
  return new ConnectError(message, Code.ResourceExhausted);
}

/**
 * Maps a thrown value to a `ConnectError`: an unreachable database is
 * `UNAVAILABLE` (retryable; a trigger retried with its idempotency key
 * never makes a second run), other unknown
 * errors `INTERNAL` with their cause kept.
 */
export function toConnectError(err: unknown): ConnectError {
  if (err instanceof ConnectError) return err;
  if (err instanceof InvalidPageTokenError) {
    return invalidArgument([{ field: "page_token", description: err.message }]);
  }
  if (isDatabaseUnavailable(err)) {
    return new ConnectError(
      "the database is unreachable; try again shortly",
      Code.Unavailable,
      undefined,
      undefined,
      err,
    );
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
