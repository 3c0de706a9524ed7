/**
 * Small pieces every page uses: an error with its gRPC code and field
 * violations, a status chip, a JSON block, an empty state.
 *
 * @example
 *   <ErrorBox error={err} />
 */
import { Code, ConnectError } from "@connectrpc/connect";
import type { ComponentChildren } from "preact";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { toJson } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { json } from "./format.js";

/** The gRPC name of a code: `INVALID_ARGUMENT`, as servers and the CLI write it. */
export function codeName(code: Code): string {
  return (Code[code] ?? "Unknown").replace(/([a-z])([A-Z])/g, "$1_$2").toUpperCase();
}

export function ErrorBox({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const e = ConnectError.from(error);
  const violations = e.findDetails(BadRequestSchema).flatMap((b) => b.fieldViolations);
  return (
    <div class="error" role="alert">
      <strong>{codeName(e.code)}</strong> {e.rawMessage}
      {violations.length > 0 && (
        <ul>
          {violations.map((v) => (
            <li key={v.field + v.description}>
              <code>{v.field}</code>: {v.description}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export function Chip({ status }: { status: string }) {
  return <span class={`chip s-${status}`}>{status.replace("_", " ")}</span>;
}

export function Json({ value, label }: { value: Value | undefined; label?: string }) {
  return (
    <pre class="json" aria-label={label}>
      {json(value ? toJson(ValueSchema, value) : undefined)}
    </pre>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h3>{title}</h3>
      {children}
    </div>
  );
}

export function Loading() {
  return <p class="muted">Loading…</p>;
}
