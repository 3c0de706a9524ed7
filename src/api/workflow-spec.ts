/**
 * Turns a `CreateWorkflowRequest` (structured spec or YAML) into a checked
 * spec, collecting every violation with its field path.
 *
 * @example
 *   const { spec, def } = readWorkflowSpec(req, checks); // throws INVALID_ARGUMENT
 */
import { createHash } from "node:crypto";
import { fromJson, type JsonValue as PbJson } from "@bufbuild/protobuf";
import { WorkflowSpecSchema, type WorkflowSpec } from "../../gen/weft/v1/common_pb.js";
import { CreateWorkflowRequestSchema, type CreateWorkflowRequest } from "../../gen/weft/v1/workflow_service_pb.js";
import { pathJoin, stableStringify } from "../engine/json.js";
import type { JsonValue, WorkflowDef } from "../engine/model.js";
import { validateWorkflowDef } from "../engine/validate.js";
import { normalizeSpecJson, parseWorkflowYaml, yamlLocator } from "../engine/yaml.js";
import { specToDef, specToJson } from "./convert.js";
import { invalidArgument, type FieldViolation } from "./errors.js";
import { findJsonProblems } from "./json-problems.js";
import type { RequestChecks } from "./request-checks.js";

export interface CheckedSpec {
  spec: WorkflowSpec;
  specJson: JsonValue;
  def: WorkflowDef;
  specHash: string;
}

/** Reads and checks the spec of a create request; throws `INVALID_ARGUMENT` naming every offending field. */
export function readWorkflowSpec(req: CreateWorkflowRequest, checks: RequestChecks): CheckedSpec {
  // Rule checks and DAG checks are reported together, so this RPC skips the
  // request interceptor (see SELF_VALIDATING) and runs both here.
  const violations: FieldViolation[] = checks.check(CreateWorkflowRequestSchema, req);
  let spec: WorkflowSpec;
  let prefix: string;
  if (req.source.case === "yaml") {
    if (violations.length > 0) throw invalidArgument(violations);
    prefix = "yaml";
    spec = specFromYaml(req.source.value);
    violations.push(...checks.check(WorkflowSpecSchema, spec, prefix));
  } else if (req.source.case === "workflow") {
    prefix = "workflow";
    spec = req.source.value;
  } else {
    throw invalidArgument(
      violations.length > 0 ? violations : [{ field: "source", description: "set either workflow or yaml" }],
    );
  }
  const def = specToDef(spec);
  for (const v of validateWorkflowDef(def)) {
    violations.push({ field: v.field ? `${prefix}.${v.field}` : prefix, description: v.description });
  }
  if (violations.length > 0) throw invalidArgument(violations);
  const specJson = specToJson(spec);
  const specHash = createHash("sha256").update(stableStringify(specJson)).digest("hex");
  return { spec, specJson, def, specHash };
}

function specFromYaml(text: string): WorkflowSpec {
  const parsed = parseWorkflowYaml(text);
  if (!parsed.ok) {
    throw invalidArgument(
      parsed.errors.map((e) => ({ field: "yaml", description: `line ${e.line}, column ${e.column}: ${e.message}` })),
    );
  }
  const json = normalizeSpecJson(parsed.value);
  // Every value that does not decode, placed in the text; fromJson alone would name the first, by proto type.
  const problems = findJsonProblems(WorkflowSpecSchema, json);
  if (problems.length > 0) {
    const locate = yamlLocator(text);
    throw invalidArgument(
      problems.map((p) => {
        const { line, column } = locate(p.path, p.at);
        const path = p.path.reduce<string>(pathJoin, "");
        return { field: "yaml", description: `line ${line}, column ${column}: ${path}: ${p.message}` };
      }),
    );
  }
  try {
    return fromJson(WorkflowSpecSchema, json as PbJson);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    throw invalidArgument([
      { field: "yaml", description: message.replace(/^cannot decode message weft\.v1\.WorkflowSpec from JSON: /, "") },
    ]);
  }
}
