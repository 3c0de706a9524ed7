/**
 * The README's "Built-in steps and triggers" YAML is a valid workflow: its
 * two blocks, joined under an id, pass the same checks as CreateWorkflow.
 */
import { readFileSync } from "node:fs";
import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CreateWorkflowRequestSchema } from "../../gen/weft/v1/workflow_service_pb.js";
import { createRequestChecks } from "../../src/api/request-checks.js";
import { readWorkflowSpec } from "../../src/api/workflow-spec.js";

describe("README examples", () => {
  it("the built-in steps and triggers YAML validates", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.split("## Built-in steps and triggers")[1]!.split("\n## ")[0]!;
    const blocks = [...section.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
    expect(blocks).toHaveLength(2);
    const yaml = `id: readme\n${blocks[1]}${blocks[0]}`;
    const req = create(CreateWorkflowRequestSchema, { source: { case: "yaml", value: yaml } });
    const { def } = readWorkflowSpec(req, createRequestChecks());
    expect(def.steps.map((s) => s.action)).toEqual(["http.request", "transform", "delay", "webhook"]);
    expect(def.on.eventTriggers).toEqual([{ name: "order.updated", filter: "payload.total > 100" }]);
    expect(def.on.schedules).toHaveLength(2);
    expect(def.webhooks.secret).toBe("…");
    expect(def.timeoutMs).toBe(7_200_000);
  });
});
