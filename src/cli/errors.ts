/**
 * Errors of the `weft` client commands: one line on stderr naming the gRPC
 * code and every field the server refused, and a documented exit code.
 *
 * Exit codes: 0 success; 1 a run waited for ended other than SUCCEEDED;
 * 2 bad usage (unknown flag, input that is not JSON, …); 3 the server
 * refused the call (its code is printed); 4 the server could not be reached.
 *
 * @example
 *   try { … } catch (err) { process.exitCode = reportError(err, process.stderr); }
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";

export const EXIT = { ok: 0, runFailed: 1, usage: 2, refused: 3, unreachable: 4 } as const;

/** A mistake in how the command was called: printed as it is, exit code 2. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}

/** `INVALID_ARGUMENT` → `invalid_argument`, as gRPC tools print codes. */
function codeName(code: Code): string {
  return Code[code].replace(/([a-z])([A-Z])/g, "$1_$2").toLowerCase();
}

/**
 * The one line an error prints, and its exit code.
 *
 * @example
 *   describeError(new ConnectError("no workflow", Code.NotFound)); // { line: "weft: not_found: no workflow", exitCode: 3 }
 */
export function describeError(err: unknown, address?: string): { line: string; exitCode: number } {
  if (err instanceof UsageError) return { line: `weft: ${err.message}`, exitCode: EXIT.usage };
  const ce = ConnectError.from(err);
  if (ce.code === Code.Unavailable && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|connect/i.test(ce.rawMessage)) {
    const where = address ? ` at ${address}` : "";
    return {
      line: `weft: unavailable: no Weft server answers${where} (start one with npm start, or pass --address / WEFT_ADDRESS)`,
      exitCode: EXIT.unreachable,
    };
  }
  const fields = ce
    .findDetails(BadRequestSchema)
    .flatMap((d) => d.fieldViolations.map((v) => `${v.field}: ${v.description}`));
  const message = fields.length > 0 ? fields.join("; ") : ce.rawMessage;
  return {
    line: `weft: ${codeName(ce.code)}: ${message}`,
    exitCode: ce.code === Code.Unavailable ? EXIT.unreachable : EXIT.refused,
  };
}
