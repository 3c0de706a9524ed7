/**
 * Input Postgres cannot store, and Values nested too deep, are refused with
 * INVALID_ARGUMENT naming the field on every protocol, never INTERNAL from a
 * failed write:
 * - a lone UTF-16 surrogate (`"\ud800"`) reaches the server only through
 *   JSON (Connect JSON, or the escape inside YAML, which binary gRPC carries
 *   too); binary protobuf has no encoding for it: the TypeScript client sends
 *   U+FFFD in its place, and raw invalid UTF-8 fails to decode;
 * - a `google.protobuf.Value` of 64 levels is accepted on gRPC, gRPC-Web and
 *   Connect (binary and JSON), 65 levels are refused naming the field.
 */
import * as http2 from "node:http2";
import { create, fromBinary, fromJson, toBinary, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport, createGrpcWebTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import { RunService } from "../../gen/weft/v1/run_service_pb.js";
import { TriggerWorkflowRequestSchema, WorkflowService } from "../../gen/weft/v1/workflow_service_pb.js";
import { jsonDepth } from "../../src/engine/json.js";
import { requirePostgres } from "../support/db.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();

/** What a refused call carried: its code, message and BadRequest field paths. */
interface Refusal {
  code: Code;
  message: string;
  fields: string[];
}

function refusal(err: ConnectError): Refusal {
  const fields = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations.map((v) => v.field));
  return { code: err.code, message: err.rawMessage, fields: [...new Set(fields)].sort() };
}

async function refused(p: Promise<unknown>): Promise<Refusal> {
  return p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => refusal(ConnectError.from(e)),
  );
}

/** A JSON value `levels` deep as `jsonDepth` counts, alternating objects and arrays (Struct and ListValue). */
function nested(levels: number): JsonValue {
  let v: JsonValue = "leaf";
  for (let i = 1; i < levels; i++) v = i % 2 === 0 ? [v] : { d: v };
  return v;
}

/** Responses echo deep specs and inputs back: the test clients decode more than protobuf-es's default 100 levels. */
const DECODE = { binaryOptions: { recursionLimit: 1000 }, jsonOptions: { recursionLimit: 1000 } };
const deepValue = (levels: number): Value => fromJson(ValueSchema, nested(levels), { recursionLimit: 1000 });

function transports(baseUrl: string): Record<string, Transport> {
  return {
    grpc: createGrpcTransport({ baseUrl, ...DECODE }),
    "grpc-web": createGrpcWebTransport({ baseUrl, httpVersion: "1.1", ...DECODE }),
    connect: createConnectTransport({ baseUrl, httpVersion: "1.1", ...DECODE }),
    "connect json": createConnectTransport({ baseUrl, httpVersion: "1.1", useBinaryFormat: false, ...DECODE }),
  };
}

/** A Connect JSON call with the body as written: the honest way to send `\ud800` escapes. */
async function postJson(baseUrl: string, method: string, body: string): Promise<Refusal | "ok"> {
  const res = await fetch(`${baseUrl}/weft.v1.WorkflowService/${method}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body,
  });
  if (res.ok) return "ok";
  const json = (await res.json()) as { code: string; message: string; details?: { type: string; value: string }[] };
  const fields = (json.details ?? [])
    .filter((d) => d.type === BadRequestSchema.typeName)
    .flatMap((d) => fromBinary(BadRequestSchema, Buffer.from(d.value, "base64")).fieldViolations.map((v) => v.field));
  const code = Code[json.code.replace(/(^|_)([a-z])/g, (_, __, c: string) => c.toUpperCase()) as keyof typeof Code];
  return { code, message: json.message, fields: [...new Set(fields)].sort() };
}

/** One unary gRPC call with a hand-made message body; resolves with grpc-status and grpc-message. */
async function rawGrpc(
  baseUrl: string,
  path: string,
  message: Uint8Array,
): Promise<{ status: string; message: string }> {
  const session = http2.connect(baseUrl);
  try {
    const req = session.request({
      ":method": "POST",
      ":path": path,
      "content-type": "application/grpc",
      te: "trailers",
    });
    const frame = Buffer.alloc(5 + message.length);
    frame.writeUInt32BE(message.length, 1);
    frame.set(message, 5);
    req.end(frame);
    const meta = await new Promise<http2.IncomingHttpHeaders>((resolve, reject) => {
      let headers: http2.IncomingHttpHeaders = {};
      req.on("response", (h) => (headers = h));
      req.on("trailers", (t) => (headers = { ...headers, ...t }));
      req.on("end", () => resolve(headers));
      req.on("error", reject);
      req.resume();
    });
    return { status: String(meta["grpc-status"]), message: decodeURIComponent(String(meta["grpc-message"] ?? "")) };
  } finally {
    session.close();
  }
}

describe.skipIf(!hasPostgres)("bad input on Postgres", () => {
  let weft: Weft;
  let url: string;
  const grpc = () => createClient(WorkflowService, createGrpcTransport({ baseUrl: url, ...DECODE }));
  const runs = () => createClient(RunService, createGrpcTransport({ baseUrl: url, ...DECODE }));
  const runCount = async (workflowId: string) => (await runs().listRuns({ workflowId, pageSize: 100 })).runs.length;
  const listening = (id: string, event: string) =>
    `{"id": "${id}", "on": {"events": ["${event}"]}, "steps": [{"id": "a", "action": "noop"}]}`;

  beforeAll(async () => {
    weft = await startWeft({ backend: "postgres" });
    url = weft.url;
    // Nothing runs their steps: runs stay PENDING, which is all these tests need.
    await grpc().createWorkflow({ source: { case: "yaml", value: listening("sink", "ev") } });
    await grpc().createWorkflow({ source: { case: "yaml", value: listening("nest", "nested") } });
  }, 60_000);
  afterAll(async () => {
    await weft?.stop();
  });

  it("refuses lone surrogates in Connect JSON values and keys, naming the field", async () => {
    const cases: [string, string, string[]][] = [
      ["TriggerWorkflow", '{"workflowId": "sink", "input": "\\ud800"}', ["input"]],
      [
        "TriggerWorkflow",
        '{"workflowId": "sink", "input": {"a": {"\\udc00k": 1, "pair": "\\ud83d\\ude00"}}}',
        ['input.a["\\udc00k"]'],
      ],
      [
        "TriggerWorkflows",
        '{"triggers": [{"workflowId": "sink"}, {"workflowId": "sink", "input": {"list": ["ok", "x\\ud800"]}}]}',
        ["triggers[1].input.list[1]"],
      ],
      ["PublishEvent", '{"name": "ev", "payload": {"\\ud800": true}}', ['payload["\\ud800"]']],
      [
        "CreateWorkflow",
        '{"workflow": {"id": "s1", "steps": [{"id": "a", "action": "noop", "input": {"url": "\\ud800"}}]}}',
        ["workflow.steps[0].input.url"],
      ],
    ];
    for (const [method, body, fields] of cases) {
      expect(await postJson(url, method, body), `${method} ${body}`).toMatchObject({
        code: Code.InvalidArgument,
        fields,
      });
    }
    expect(await runCount("sink")).toBe(0);
    expect((await grpc().listWorkflows({})).workflows.map((w) => w.id).sort()).toEqual(["nest", "sink"]);
  });

  it("refuses a lone surrogate in a plain string field while decoding Connect JSON", async () => {
    // protobuf-es checks string fields (not Value strings or Struct keys) as it
    // decodes, before any interceptor runs: INVALID_ARGUMENT naming the field
    // in the message, without BadRequest details.
    const trigger = await postJson(url, "TriggerWorkflow", '{"workflowId": "sink", "idempotencyKey": "k\\ud800"}');
    expect(trigger).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("idempotency_key") });
    const publish = await postJson(url, "PublishEvent", '{"name": "ev", "idempotencyKey": "\\udc00"}');
    expect(publish).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("idempotency_key") });
    const create = await postJson(
      url,
      "CreateWorkflow",
      '{"workflow": {"id": "s2", "description": "\\udfff", "steps": [{"id": "a", "action": "noop"}]}}',
    );
    expect(create).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("description") });
    expect(await runCount("sink")).toBe(0);
  });

  it("refuses a lone surrogate escaped in YAML, over binary gRPC too", async () => {
    const yaml =
      'id: y1\nsteps:\n  - id: a\n    action: noop\n    input: {s: "\\udc00", ok: "\\ud83d\\ude00", "\\ud800": 1}\n';
    const fields = ["yaml.steps[0].input.s", 'yaml.steps[0].input["\\ud800"]'].sort();
    expect(await refused(grpc().createWorkflow({ source: { case: "yaml", value: yaml } }))).toMatchObject({
      code: Code.InvalidArgument,
      fields,
    });
    expect(await postJson(url, "CreateWorkflow", JSON.stringify({ yaml }))).toMatchObject({
      code: Code.InvalidArgument,
      fields,
    });
    // A spec string field is decoded from the parsed YAML, and refused by that decoding.
    const named = await refused(
      grpc().createWorkflow({
        source: { case: "yaml", value: 'id: y2\nname: "n\\ud800"\nsteps: [{id: a, action: noop}]\n' },
      }),
    );
    expect(named).toMatchObject({
      code: Code.InvalidArgument,
      fields: ["yaml"],
      message: expect.stringMatching(/name.*UTF8/),
    });
  });

  it("gets no lone surrogate through binary gRPC: the client sends U+FFFD, invalid UTF-8 does not decode", async () => {
    const { runId } = await grpc().triggerWorkflow({
      workflowId: "sink",
      input: fromJson(ValueSchema, { s: "a\ud800" }),
      idempotencyKey: "k\udc00",
    });
    const { run } = await runs().getRun({ runId });
    expect(toJson(ValueSchema, run!.input!)).toEqual({ s: "a\uFFFD" });
    expect(run!.idempotencyKey).toBe("k\uFFFD");

    // The bytes a WTF-8 encoder would write for U+D800, in a Value string: a
    // decode error, answered by the protocol layer before any handler runs.
    const placeholder = "\u0001\u0002\u0003";
    const bytes = toBinary(
      TriggerWorkflowRequestSchema,
      create(TriggerWorkflowRequestSchema, {
        workflowId: "sink",
        input: { kind: { case: "stringValue", value: placeholder } },
      }),
    );
    const at = Buffer.from(bytes).indexOf(Buffer.from(placeholder));
    bytes.set([0xed, 0xa0, 0x80], at);
    const answer = await rawGrpc(url, "/weft.v1.WorkflowService/TriggerWorkflow", bytes);
    expect(answer.status).not.toBe("0");
    expect(answer.message).toMatch(/UTF-8/i);
    expect(await runCount("sink")).toBe(1);
  });

  it("accepts Values of 64 levels and refuses 65, naming the field, on every protocol", async () => {
    expect(jsonDepth(nested(64))).toBe(64);
    for (const [name, transport] of Object.entries(transports(url))) {
      const client = createClient(WorkflowService, transport);
      const ok = await client.triggerWorkflow({ workflowId: "nest", input: deepValue(64) });
      expect(ok.created, name).toBe(true);
      const r = await refused(client.triggerWorkflow({ workflowId: "nest", input: deepValue(65) }));
      expect(r, name).toMatchObject({
        code: Code.InvalidArgument,
        fields: ["input"],
        message: expect.stringContaining("64"),
      });
      const batch = await refused(
        client.triggerWorkflows({
          triggers: [
            { workflowId: "nest", input: deepValue(64) },
            { workflowId: "nest", input: deepValue(65) },
          ],
        }),
      );
      expect(batch, name).toMatchObject({ code: Code.InvalidArgument, fields: ["triggers[1].input"] });
      const event = await refused(client.publishEvent({ name: "nested", payload: deepValue(65) }));
      expect(event, name).toMatchObject({ code: Code.InvalidArgument, fields: ["payload"] });
    }
    expect(await runCount("nest")).toBe(4);
  });

  it("takes 64 levels in the deepest request envelope (a step input), and refuses 65 and 128 precisely", async () => {
    const client = grpc();
    const step = (levels: number) => ({ id: "a", action: "noop", input: deepValue(levels) });
    const created = await client.createWorkflow({
      source: { case: "workflow", value: { id: "deep", steps: [step(64)] } },
    });
    expect(created.created).toBe(true);
    for (const levels of [65, 128]) {
      const r = await refused(
        client.createWorkflow({ source: { case: "workflow", value: { id: "deep", steps: [step(levels)] } } }),
      );
      expect(r, `${levels} levels`).toMatchObject({ code: Code.InvalidArgument, fields: ["workflow.steps[0].input"] });
    }
    const json = await postJson(
      url,
      "CreateWorkflow",
      JSON.stringify({ workflow: { id: "deep", steps: [{ id: "a", action: "noop", input: nested(65) }] } }),
    );
    expect(json).toMatchObject({ code: Code.InvalidArgument, fields: ["workflow.steps[0].input"] });
    const spec = (await client.getWorkflow({ id: "deep" })).workflow!.spec!;
    expect(jsonDepth(toJson(ValueSchema, spec.steps[0]!.input!) as JsonValue)).toBe(64);
    // A run input of 64 levels is stored and read back whole.
    const { runId } = await client.triggerWorkflow({ workflowId: "nest", input: deepValue(64) });
    expect(toJson(ValueSchema, (await runs().getRun({ runId })).run!.input!)).toEqual(nested(64));
  });

  it("refuses a message deeper than the decoder takes without breaking the server", async () => {
    // 400 levels is past the adapter's recursionLimit: connect refuses it while
    // decoding, before any interceptor runs, so the code is the protocol
    // layer's (JSON: INVALID_ARGUMENT; binary: INTERNAL, "parse binary").
    const json = await postJson(url, "TriggerWorkflow", JSON.stringify({ workflowId: "nest", input: nested(400) }));
    expect(json).toMatchObject({ code: Code.InvalidArgument, message: expect.stringContaining("recursion") });
    const binary = await refused(grpc().triggerWorkflow({ workflowId: "nest", input: deepValue(400) }));
    expect(binary.message).toMatch(/recursion/);
    expect((await grpc().triggerWorkflow({ workflowId: "nest" })).created).toBe(true);
  });
});
