/**
 * Bad input gets a precise answer: INVALID_ARGUMENT with google.rpc.BadRequest
 * field violations naming every offending field, NOT_FOUND for unknown ids.
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BadRequestSchema } from "../../gen/google/rpc/error_details_pb.js";
import type { MessageInitShape } from "@bufbuild/protobuf";
import type { WorkflowSpecSchema } from "../../gen/weft/v1/common_pb.js";
import { grpcClients, type Clients } from "../support/clients.js";
import { startServerProcess, type ServerProcess } from "../support/server-process.js";

type SpecInit = MessageInitShape<typeof WorkflowSpecSchema>;

async function violationsOf(p: Promise<unknown>): Promise<{ code: Code; fields: Record<string, string> }> {
  const err = await p.then(
    () => {
      throw new Error("expected the call to fail");
    },
    (e: unknown) => ConnectError.from(e),
  );
  const fields: Record<string, string> = {};
  for (const d of err.findDetails(BadRequestSchema)) {
    for (const v of d.fieldViolations)
      fields[v.field] = fields[v.field] ? `${fields[v.field]} | ${v.description}` : v.description;
  }
  return { code: err.code, fields };
}

describe("request validation", () => {
  let server: ServerProcess;
  let c: Clients;
  const createSpec = (spec: SpecInit) => c.workflows.createWorkflow({ source: { case: "workflow", value: spec } });
  const createYaml = (yaml: string) => c.workflows.createWorkflow({ source: { case: "yaml", value: yaml } });

  beforeAll(async () => {
    server = await startServerProcess({ env: { DATABASE_URL: undefined, REDIS_URL: undefined } });
    c = grpcClients(server.url);
    await createSpec({ id: "ok", steps: [{ id: "a", action: "noop" }] });
  });
  afterAll(async () => {
    await server?.stop();
  });

  it("reports protovalidate rules with field paths", async () => {
    const { code, fields } = await violationsOf(
      createSpec({
        id: "1bad id",
        steps: [
          { id: "", action: "ok" },
          { id: "b", action: "has space" },
        ],
      }),
    );
    expect(code).toBe(Code.InvalidArgument);
    expect(Object.keys(fields)).toEqual(
      expect.arrayContaining(["workflow.id", "workflow.steps[0].id", "workflow.steps[1].action"]),
    );
  });

  it("requires steps and a source", async () => {
    expect((await violationsOf(createSpec({ id: "empty", steps: [] }))).fields).toHaveProperty(["workflow.steps"]);
    const none = await violationsOf(c.workflows.createWorkflow({}));
    expect(none.code).toBe(Code.InvalidArgument);
  });

  it("reports every DAG problem at once: duplicates, unknown dependencies, cycles, CEL, cron", async () => {
    const { code, fields } = await violationsOf(
      createSpec({
        id: "broken",
        output: "steps.a.x +",
        on: { schedules: ["61 * * * *"] },
        steps: [
          { id: "a", action: "x", dependsOn: ["ghost"] },
          { id: "a", action: "x" },
          { id: "c1", action: "x", dependsOn: ["c3"] },
          { id: "c2", action: "x", dependsOn: ["c1"] },
          { id: "c3", action: "x", dependsOn: ["c2"] },
          { id: "w", action: "x", when: "input.n >" },
          {
            id: "t",
            action: "x",
            input: {
              kind: {
                case: "structValue",
                value: { fields: { url: { kind: { case: "stringValue", value: "${ input. }" } } } },
              },
            },
          },
        ],
      }),
    );
    expect(code).toBe(Code.InvalidArgument);
    const all = JSON.stringify(fields);
    expect(all).toContain("ghost");
    expect(
      Object.keys(fields).some((f) => f.startsWith("workflow.steps[1]") || f.startsWith("workflow.steps[0]")),
    ).toBe(true);
    expect(all).toMatch(/duplicate/i);
    // The cycle error names its steps in order (each depends on the one before it).
    expect(all).toMatch(/c1 -> c2 -> c3 -> c1|c2 -> c3 -> c1 -> c2|c3 -> c1 -> c2 -> c3/);
    expect(fields).toHaveProperty(["workflow.steps[5].when"]);
    expect(Object.keys(fields).some((f) => f.startsWith("workflow.steps[6].input"))).toBe(true);
    expect(fields).toHaveProperty(["workflow.output"]);
    expect(fields).toHaveProperty(["workflow.on.schedules[0]"]);
  });

  it("reports malformed YAML with line and column", async () => {
    const { code, fields } = await violationsOf(createYaml("id: y\nsteps:\n  - id: a\n    action: [unclosed\n"));
    expect(code).toBe(Code.InvalidArgument);
    expect(fields.yaml).toMatch(/line \d+, column \d+/);
    const unknown = await violationsOf(createYaml("id: y\nstepz: []\n"));
    expect(unknown.fields.yaml).toMatch(/stepz/);
    const rules = await violationsOf(createYaml("id: y\nsteps:\n  - id: a\n    action: x\n    depends_on: [b]\n"));
    expect(rules.fields["yaml.steps[0].depends_on[0]"] ?? JSON.stringify(rules.fields)).toMatch(/b/);
  });

  it("reports every YAML value that does not decode, each with line, column, path and a suggestion", async () => {
    const yaml = [
      "id: 123", // 1
      "steps:", // 2
      "  - id: a", // 3
      "    action: x", // 4
      "  - id: b", // 5
      "    action: x", // 6
      "    dependson: [a]", // 7
      "    timeout: banana", // 8
      "    trigger_rule: sometimes", // 9
      "",
    ].join("\n");
    const err = await createYaml(yaml).then(
      () => {
        throw new Error("expected the call to fail");
      },
      (e: unknown) => ConnectError.from(e),
    );
    expect(err.code).toBe(Code.InvalidArgument);
    const violations = err.findDetails(BadRequestSchema).flatMap((d) => d.fieldViolations);
    expect(violations.map((v) => [v.field, v.description])).toEqual([
      ["yaml", expect.stringMatching(/^line 1, column 5: id: expected a string, got 123/)],
      [
        "yaml",
        expect.stringMatching(/^line 7, column 5: steps\[1\]\.dependson: unknown key \(did you mean depends_on\?\)/),
      ],
      ["yaml", expect.stringMatching(/^line 8, column 14: steps\[1\]\.timeout: expected a duration .*"banana"/)],
      ["yaml", expect.stringMatching(/^line 9, column 19: steps\[1\]\.trigger_rule: expected one of .*ALL_DONE/)],
    ]);
    expect(err.rawMessage).not.toMatch(/protobuf|cannot decode/);
  });

  it("refuses Values nested deeper than 64 levels and strings with NUL", async () => {
    let deep: unknown = 1;
    for (let i = 0; i < 70; i++) deep = { d: deep };
    const res = await fetch(`${server.url}/weft.v1.WorkflowService/TriggerWorkflow`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ workflowId: "ok", input: deep }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { code: string; message: string };
    expect(body.code).toBe("invalid_argument");
    expect(body.message).toMatch(/^input: .*64/);
    const nul = await violationsOf(
      c.workflows.triggerWorkflow({
        workflowId: "ok",
        idempotencyKey: "k\u0000",
        input: {
          kind: {
            case: "structValue",
            value: { fields: { name: { kind: { case: "stringValue", value: "a\u0000b" } } } },
          },
        },
      }),
    );
    expect(nul.code).toBe(Code.InvalidArgument);
    expect(Object.keys(nul.fields).sort()).toEqual(["idempotency_key", "input.name"]);
    // Nothing got stored.
    expect((await c.runs.listRuns({ workflowId: "ok" })).runs).toHaveLength(0);
  });

  it("answers malformed ids with INVALID_ARGUMENT and unknown ones with NOT_FOUND", async () => {
    expect((await violationsOf(c.runs.getRun({ runId: "not-a-uuid" }))).fields).toHaveProperty(["run_id"]);
    const missing = await c.runs
      .getRun({ runId: "0190a0b0-0000-7000-8000-000000000000" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((missing as ConnectError).code).toBe(Code.NotFound);
    const wf = await c.workflows.getWorkflow({ id: "missing" }).catch((e: unknown) => ConnectError.from(e));
    expect((wf as ConnectError).code).toBe(Code.NotFound);
    const trig = await c.workflows
      .triggerWorkflow({ workflowId: "missing" })
      .catch((e: unknown) => ConnectError.from(e));
    expect((trig as ConnectError).code).toBe(Code.NotFound);
    const ver = await c.workflows
      .triggerWorkflow({ workflowId: "ok", version: 9 })
      .catch((e: unknown) => ConnectError.from(e));
    expect((ver as ConnectError).code).toBe(Code.NotFound);
    expect((await violationsOf(c.workflows.getWorkflow({ id: "bad id!" }))).fields).toHaveProperty(["id"]);
  });

  it("checks paging arguments", async () => {
    expect((await violationsOf(c.workflows.listWorkflows({ pageSize: 5000 }))).fields).toHaveProperty(["page_size"]);
    expect((await violationsOf(c.workflows.listWorkflows({ pageToken: "%%%garbage" }))).fields).toHaveProperty([
      "page_token",
    ]);
    expect((await violationsOf(c.runs.listRuns({ pageToken: "%%%garbage" }))).fields).toHaveProperty(["page_token"]);
  });
});
