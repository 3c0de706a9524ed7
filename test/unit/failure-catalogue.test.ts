/**
 * The failure catalogue (src/engine/failures.ts) against its two mirrors:
 * docs/contract.md's "Error types" table and the SDK's list (sdk/failures.ts).
 * Also: the constructors set the `retryable` the catalogue says, cancels carry
 * their type by value, and the SDK reports its types with the flags its list says.
 */
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs, type Timestamp } from "@bufbuild/protobuf/wkt";
import { describe, expect, it } from "vitest";
import {
  CancelSchema,
  ServerMessageSchema,
  TaskSchema,
  type Task,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import { toTaskError, type TaskHandler } from "../../sdk/context.js";
import { createEmitter } from "../../sdk/events.js";
import { SDK_RETRYABLE, SdkErrorType } from "../../sdk/failures.js";
import { createTaskHost } from "../../sdk/task-host.js";
import { createTaskContext, resultMessage, runHandler } from "../../sdk/task-runner.js";
import { jsonToValue } from "../../sdk/value.js";
import type { WorkerEvents } from "../../sdk/worker-events.js";
import * as failures from "../../src/engine/failures.js";
import {
  AbortReason,
  CANCELLED,
  cancelReason,
  catalogueEntry,
  FAILURE_CATALOGUE,
  HTTP_STATUS,
  LEASE_EXPIRED_CANCEL,
  SHUTDOWN_ABORT,
  STEP_TIMEOUT_CANCEL,
  TIMEOUT,
  WORKER_SHUTDOWN,
} from "../../src/engine/failures.js";
import type { Failure } from "../../src/engine/model.js";
import { RETURNED_ERROR_TYPES } from "../../src/engine/retry.js";

type Row = { meaning: string; retried: string };

/** docs/contract.md's failure table: type → its row (a row may name several types). */
function contractTable(): Map<string, Row> {
  const doc = readFileSync(new URL("../../docs/contract.md", import.meta.url), "utf8");
  const section = doc.split(/^## Error types.*$/m)[1]?.split(/^## /m)[0];
  if (section === undefined) throw new Error("docs/contract.md has no '## Error types' section");
  const rows = new Map<string, Row>();
  for (const line of section.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    // | types | meaning | retried |  →  ["", types, meaning, retried, ""]
    if (cells.length !== 5 || cells[1] === "type" || /^-+$/.test(cells[1]!)) continue;
    const types = [...cells[1]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!);
    for (const type of types) {
      if (rows.has(type)) throw new Error(`docs/contract.md lists ${type} twice`);
      rows.set(type, { meaning: cells[2]!, retried: cells[3]! });
    }
  }
  return rows;
}

const rowText = (type: string, r: Row) => `| \`${type}\` | ${r.meaning} | ${r.retried} |`;

describe("the catalogue and docs/contract.md's table", () => {
  const table = contractTable();

  it("the table parses to the types it shows", () => {
    expect(table.get("LEASE_LOST")?.retried).toBe("under the step's policy");
    expect(table.get("NO_SLOT")?.retried).toBe("at once, without waiting for backoff");
    expect(table.size).toBeGreaterThan(10);
  });

  it("every catalogue type has a row in the table", () => {
    const missing = FAILURE_CATALOGUE.filter((e) => !table.has(e.type)).map((e) => rowText(e.type, e));
    expect(missing, "add these rows to docs/contract.md (add, never rename)").toEqual([]);
  });

  it("the table's meaning and retried columns are the catalogue's, word for word", () => {
    const differ = FAILURE_CATALOGUE.flatMap((e) => {
      const row = table.get(e.type);
      return row && (row.meaning !== e.meaning || row.retried !== e.retried)
        ? [`docs: ${rowText(e.type, row)}  catalogue: ${rowText(e.type, e)}`]
        : [];
    });
    expect(differ).toEqual([]);
  });

  it("every type in the table is in the catalogue", () => {
    const unknown = [...table.keys()].filter((t) => !FAILURE_CATALOGUE.some((e) => e.type === t));
    expect(unknown, "add these to src/engine/failure-types.ts").toEqual([]);
  });
});

describe("the catalogue itself", () => {
  it("lists each type once, and every exported type constant", () => {
    const types = FAILURE_CATALOGUE.map((e) => e.type);
    expect(new Set(types).size).toBe(types.length);
    const constants = Object.entries(failures)
      .filter(([name, value]) => /^[A-Z_]+$/.test(name) && typeof value === "string")
      .map(([, value]) => value as string);
    expect(constants.length).toBe(types.length);
    expect([...constants].sort()).toEqual([...types].sort());
  });

  it("says 'no' in the retried column exactly for the types it sets not retryable", () => {
    for (const e of FAILURE_CATALOGUE) {
      if (e.retryable === undefined) continue;
      expect(e.retried === "no", `${e.type}: retried "${e.retried}", retryable ${e.retryable}`).toBe(!e.retryable);
    }
  });

  it("the types retried at once are decideRetry's handed-back types", () => {
    const atOnce = FAILURE_CATALOGUE.filter((e) => e.retried.startsWith("at once")).map((e) => e.type);
    expect([...RETURNED_ERROR_TYPES].sort()).toEqual(atOnce.sort());
  });

  it.each([
    ["HTTP_404", HTTP_STATUS],
    ["HTTP_503", HTTP_STATUS],
    ["LEASE_LOST", "LEASE_LOST"],
    ["Error", "Error"],
    ["HTTP_ERROR", undefined],
    ["HTTP_5000", undefined],
    ["CARD_DECLINED", undefined],
  ])("catalogueEntry(%s) is the entry of %s", (type, expected) => {
    expect(catalogueEntry(type)?.type).toBe(expected);
  });
});

describe("constructors", () => {
  const built: [string, Failure][] = [
    ["leaseLost", failures.leaseLost("worker stream closed")],
    ["timeout", failures.timeout("no answer within 500 ms")],
    ["cancelled", failures.cancelled("cancelled by request")],
    ["timedOut", failures.timedOut("the run's timeout passed")],
    ["networkError", failures.networkError("ECONNREFUSED")],
    ["egressDenied", failures.egressDenied("10.0.0.5 is in the private range 10.0.0.0/8")],
    ["payloadTooLarge", failures.payloadTooLarge("output is 2 MB")],
    ["invalidInput", failures.invalidInput("delay: bad duration")],
    ["invalidOutput", failures.invalidOutput("output_json is not JSON")],
    ["expressionError", failures.expressionError("transform: no such key")],
    ["unknownAction", failures.unknownAction("no built-in x")],
    ["builtinError", failures.builtinError("transform: boom")],
  ];

  it.each(built)("%s builds a catalogue type with the catalogue's retryable", (_name, f) => {
    const entry = catalogueEntry(f.type);
    expect(entry).toBeDefined();
    expect(f.retryable).toBe(entry!.retryable);
  });

  it("leaseLost says why in its message", () => {
    expect(failures.leaseLost("worker stream closed")).toEqual({
      type: "LEASE_LOST",
      message: "lease lost: worker stream closed",
      retryable: true,
    });
  });

  it("cancelled is retryable only when the caller says so", () => {
    expect(failures.cancelled("x").retryable).toBe(false);
    expect(failures.cancelled("x", true).retryable).toBe(true);
  });

  it.each([
    [200, false],
    [400, false],
    [404, false],
    [428, false],
    [429, true],
    [499, false],
    [500, true],
    [503, true],
  ])("httpStatus(%i) is HTTP_<status>, retryable %s", (status, retryable) => {
    const f = failures.httpStatus(status, "answered");
    expect(f).toEqual({ type: `HTTP_${status}`, message: "answered", retryable });
    expect(catalogueEntry(f.type)?.type).toBe(HTTP_STATUS);
  });
});

describe("abort reasons carry their type", () => {
  it.each([
    ["step timed out", TIMEOUT],
    ["lease expired", CANCELLED],
    ["cancelled by request", CANCELLED],
    ["the run's timeout passed", CANCELLED],
    // A client's words never pick the type: the old regex made this a TIMEOUT.
    ["the order timed out", CANCELLED],
    ["", CANCELLED],
  ])("cancelReason(%j) is %s", (message, type) => {
    const reason = cancelReason(message);
    expect(reason).toBeInstanceOf(AbortReason);
    expect({ type: reason.type, message: reason.message, text: String(reason) }).toEqual({
      type,
      message,
      text: message,
    });
  });

  it("the control plane's own cancels are the catalogue's values", () => {
    expect(cancelReason(STEP_TIMEOUT_CANCEL.message)).toBe(STEP_TIMEOUT_CANCEL);
    expect(cancelReason(LEASE_EXPIRED_CANCEL.message)).toBe(LEASE_EXPIRED_CANCEL);
    expect(SHUTDOWN_ABORT.type).toBe(WORKER_SHUTDOWN);
  });

  it("a signal's reason reads back with its type; any other reason is a cancel", () => {
    const c = new AbortController();
    c.abort(STEP_TIMEOUT_CANCEL);
    expect(AbortReason.of(c.signal.reason)).toBe(STEP_TIMEOUT_CANCEL);
    expect(`${String(c.signal.reason)}`).toBe("step timed out");
    const other = AbortReason.of("stopped by hand");
    expect({ type: other.type, message: other.message }).toEqual({ type: CANCELLED, message: "stopped by hand" });
    expect(AbortReason.of(undefined).type).toBe(CANCELLED);
  });
});

describe("the SDK's list mirrors the catalogue", () => {
  const sdkTypes: string[] = Object.values(SdkErrorType);

  it("names every catalogue type an SDK produces, and no other", () => {
    const fromSdks = FAILURE_CATALOGUE.filter((e) => e.by !== "server").map((e) => e.type);
    expect([...sdkTypes].sort()).toEqual(fromSdks.sort());
  });

  it.each(Object.values(SdkErrorType))("%s: the SDK's retryable is the catalogue's", (type) => {
    expect(SDK_RETRYABLE[type]).toBe(catalogueEntry(type)?.retryable);
  });
});

// ─── the SDK reports its types with the flags its list says ──────────────

const RUN_ID = "01900000-0000-7000-8000-000000000001";

function sdkTask(action: string, extra: { inputJson?: Uint8Array; deadline?: Timestamp } = {}): Task {
  return create(TaskSchema, {
    taskId: `${RUN_ID}/${action}`,
    runId: RUN_ID,
    stepId: action,
    workflowId: "wf",
    action,
    input: jsonToValue(null),
    attempt: 1,
    leaseToken: 7n,
    ...extra,
  });
}

/** A task host whose results land in `failures`; `waits` never returns until its signal aborts. */
function host(slots: number) {
  const reported: { type: string; retryable: boolean }[] = [];
  const waits: TaskHandler<never> = (_input, ctx) =>
    new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(new Error("aborted"))));
  const h = createTaskHost({
    handlers: new Map([["waits", waits]]),
    slots,
    maxResultBytes: 1 << 20,
    resultResendMs: 60_000,
    send(msg: WorkerMessage) {
      if (msg.msg.case === "result" && msg.msg.value.outcome.case === "error") {
        const { type, retryable } = msg.msg.value.outcome.value;
        reported.push({ type, retryable });
      }
      return true;
    },
    events: createEmitter<WorkerEvents>(),
    logger: () => {},
  });
  return { h, reported };
}

async function settled(reported: unknown[]): Promise<void> {
  for (let i = 0; i < 100 && reported.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
}

describe("the SDK reports each type retryable as its list says", () => {
  it.each([
    [
      SdkErrorType.UNKNOWN_ACTION,
      (h: ReturnType<typeof host>["h"]) =>
        h.receive(create(ServerMessageSchema, { msg: { case: "task", value: sdkTask("unregistered") } })),
    ],
    [
      SdkErrorType.NO_SLOT,
      (h: ReturnType<typeof host>["h"]) =>
        h.receive(create(ServerMessageSchema, { msg: { case: "task", value: sdkTask("waits") } })),
    ],
    [
      SdkErrorType.WORKER_DRAINING,
      (h: ReturnType<typeof host>["h"]) => {
        h.drain();
        h.receive(create(ServerMessageSchema, { msg: { case: "task", value: sdkTask("waits") } }));
      },
    ],
  ])("%s (a refusal)", async (type, act) => {
    const { h, reported } = host(type === SdkErrorType.NO_SLOT ? 0 : 1);
    act(h);
    await settled(reported);
    expect(reported).toEqual([{ type, retryable: SDK_RETRYABLE[type] }]);
    h.close();
  });

  it("CANCELLED (the server's cancel)", async () => {
    const { h, reported } = host(1);
    h.receive(create(ServerMessageSchema, { msg: { case: "task", value: sdkTask("waits") } }));
    h.receive(
      create(ServerMessageSchema, {
        msg: { case: "cancel", value: create(CancelSchema, { taskId: `${RUN_ID}/waits`, reason: "run cancelled" }) },
      }),
    );
    await settled(reported);
    expect(reported).toEqual([{ type: SdkErrorType.CANCELLED, retryable: SDK_RETRYABLE.CANCELLED }]);
    h.close();
  });

  it("DEADLINE_EXCEEDED (the task's deadline passed)", async () => {
    const { h, reported } = host(1);
    h.receive(
      create(ServerMessageSchema, {
        msg: { case: "task", value: sdkTask("waits", { deadline: timestampFromMs(Date.now() + 5) }) },
      }),
    );
    await settled(reported);
    expect(reported).toEqual([{ type: SdkErrorType.DEADLINE_EXCEEDED, retryable: SDK_RETRYABLE.DEADLINE_EXCEEDED }]);
    h.close();
  });

  const run = async (handler: TaskHandler<never>, task: Task, maxBytes = 1 << 20) => {
    const ctx = createTaskContext(task, new AbortController().signal, () => {});
    const outcome = resultMessage(task, await runHandler(handler, task, ctx), maxBytes).msg.value.outcome;
    return outcome.case === "error" ? { type: outcome.value.type, retryable: outcome.value.retryable } : undefined;
  };

  it.each([
    [SdkErrorType.BAD_INPUT, () => run(() => null, sdkTask("a", { inputJson: new TextEncoder().encode("{") }))],
    [SdkErrorType.OUTPUT_NOT_SERIALIZABLE, () => run(() => 1n as never, sdkTask("a"))],
    [SdkErrorType.OUTPUT_TOO_LARGE, () => run(() => "z".repeat(1000), sdkTask("a"), 100)],
    [
      SdkErrorType.ERROR,
      async () => {
        const e = toTaskError("plain");
        return { type: e.type, retryable: e.retryable };
      },
    ],
  ])("%s (running a handler)", async (type, act) => {
    expect(await act()).toEqual({ type, retryable: SDK_RETRYABLE[type] });
  });
});
