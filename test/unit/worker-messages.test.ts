/**
 * A worker's result as the store records it: an output (a Value tree or
 * JSON bytes) or an error; JSON bytes that do not parse fail the step
 * without a retry.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { TaskResultSchema } from "../../gen/weft/v1/worker_service_pb.js";
import { jsonToValue } from "../../src/api/convert.js";
import { resultOutcome } from "../../src/api/worker-messages.js";
import { INVALID_OUTPUT } from "../../src/engine/failures.js";

type Outcome = MessageInitShape<typeof TaskResultSchema>["outcome"];

describe("resultOutcome", () => {
  it.each<{ name: string; outcome: Outcome; want: ReturnType<typeof resultOutcome> }>([
    {
      name: "a Value output",
      outcome: { case: "output", value: jsonToValue({ n: 1, tags: ["a"] }) },
      want: { kind: "output", output: { n: 1, tags: ["a"] } },
    },
    {
      name: "JSON bytes",
      outcome: { case: "outputJson", value: new TextEncoder().encode('{"n":1}') },
      want: { kind: "output", output: { n: 1 } },
    },
    {
      name: "an error, its type and retryability kept",
      outcome: { case: "error", value: { message: "no such user", type: "NotFound", retryable: true } },
      want: { kind: "error", error: { message: "no such user", type: "NotFound", retryable: true } },
    },
    {
      name: "an error without a type",
      outcome: { case: "error", value: { message: "boom" } },
      want: { kind: "error", error: { message: "boom", type: "Error", retryable: false } },
    },
    { name: "no outcome at all", outcome: { case: undefined }, want: { kind: "output", output: null } },
  ])("$name", ({ outcome, want }) => {
    expect(resultOutcome(create(TaskResultSchema, { taskId: "r/a", outcome }))).toEqual(want);
  });

  it("JSON bytes that do not parse: the step's error, not retryable", () => {
    const got = resultOutcome(
      create(TaskResultSchema, { outcome: { case: "outputJson", value: new TextEncoder().encode("{nope") } }),
    );
    expect(got).toMatchObject({ kind: "error", error: { type: INVALID_OUTPUT, retryable: false } });
    expect(got.kind === "error" && got.error.message).toMatch(/^output_json is not JSON: /);
  });
});
