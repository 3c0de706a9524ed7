/**
 * `weft apply -f FILE|DIR` and `weft workflows ls|get|rm`.
 *
 * @example
 *   weft apply -f examples/hello.yaml
 *   weft workflows get hello --version 1 -o yaml
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import type { Command } from "commander";
import { WorkflowSchema, WorkflowSpecSchema, type Workflow } from "../../../gen/weft/v1/common_pb.js";
import { UsageError } from "../errors.js";
import type { CliContext } from "../context.js";

type Run = (
  action: (ctx: CliContext, ...args: never[]) => Promise<number | void>,
) => (...args: unknown[]) => Promise<void>;

/** YAML files named by `-f`: the file, or every `.yaml`/`.yml` in the folder (sorted, not recursive). */
export function workflowFiles(path: string): string[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw new UsageError(`-f: no such file or folder: ${path}`);
  }
  if (!stat.isDirectory()) return [path];
  const files = readdirSync(path)
    .filter((f) => /\.ya?ml$/.test(f))
    .sort()
    .map((f) => join(path, f));
  if (files.length === 0) throw new UsageError(`-f: no .yaml or .yml file in ${path}`);
  return files;
}

const created = (wf: Workflow | undefined, isNew: boolean): string =>
  !isNew ? "unchanged" : wf?.version === 1 ? "created" : `new version`;

/** Registers `apply` and `workflows` on the program. */
export function registerWorkflowCommands(program: Command, run: Run): void {
  program
    .command("apply")
    .description("create or update workflows from YAML files")
    .requiredOption("-f, --file <path>", "a YAML file, or a folder of them")
    .addHelpText("after", "\nExample:\n  weft apply -f examples/hello.yaml\n  weft apply -f examples/")
    .action(run(apply));

  const workflows = program.command("workflows").alias("wf").description("list, show and delete workflows");
  workflows
    .command("ls")
    .description("list the live workflows (latest version of each)")
    .option("--limit <n>", "at most this many", "100")
    .addHelpText("after", "\nExample:\n  weft workflows ls -o json")
    .action(run(listWorkflows));
  workflows
    .command("get <id>")
    .description("show a workflow's spec (latest version unless --version)")
    .option("--version <n>", "a given version")
    .addHelpText("after", "\nExample:\n  weft workflows get hello --version 1")
    .action(run(showWorkflow));
  workflows
    .command("rm <id>")
    .description("delete a workflow (every version); running runs finish")
    .addHelpText("after", "\nExample:\n  weft workflows rm hello")
    .action(
      run(async (ctx, id: string) => {
        await ctx.client.workflows.deleteWorkflow({ id });
        if (ctx.out.format !== "table") return ctx.out.data({ deleted: id });
        ctx.out.line(`deleted workflow ${id}`);
      }),
    );
}

/** `weft apply`: creates each file's workflow (a new version when its spec changed). */
async function apply(ctx: CliContext, opts: { file: string }): Promise<void> {
  const rows: { file: string; id: string; version: number; result: string }[] = [];
  for (const file of workflowFiles(opts.file)) {
    const yaml = readFileSync(file, "utf8");
    const res = await ctx.client.workflows.createWorkflow({ source: { case: "yaml", value: yaml } });
    const wf = res.workflow;
    rows.push({ file, id: wf?.id ?? "", version: wf?.version ?? 0, result: created(wf, res.created) });
  }
  if (ctx.out.format !== "table") return ctx.out.data(rows);
  ctx.out.table(
    ["FILE", "ID", "VERSION", "RESULT"],
    rows.map((r) => [r.file, r.id, String(r.version), r.result]),
  );
}

/** `weft workflows ls`: pages through the live workflows up to `--limit`. */
async function listWorkflows(ctx: CliContext, opts: { limit: string }): Promise<void> {
  const limit = Number(opts.limit);
  const items: Workflow[] = [];
  let pageToken = "";
  do {
    const page = await ctx.client.workflows.listWorkflows({
      pageSize: Math.min(1000, limit - items.length),
      pageToken,
    });
    items.push(...page.workflows);
    pageToken = page.nextPageToken;
  } while (pageToken && items.length < limit);
  if (ctx.out.format !== "table") return ctx.out.data(items.map((w) => toJson(WorkflowSchema, w)));
  ctx.out.table(
    ["ID", "VERSION", "STEPS", "TRIGGERS", "CREATED"],
    items.map((w) => [
      w.id,
      String(w.version),
      String(w.spec?.steps.length ?? 0),
      triggers(w),
      w.createTime ? timestampDate(w.createTime).toISOString() : "",
    ]),
  );
}

/** `weft workflows get`: the spec (YAML unless `-o json`) under a line naming the versions there are. */
async function showWorkflow(ctx: CliContext, id: string, opts: { version?: string }): Promise<void> {
  const res = await ctx.client.workflows.getWorkflow({ id, version: opts.version ? Number(opts.version) : 0 });
  const wf = res.workflow!;
  if (ctx.out.format === "json")
    return ctx.out.data({ ...(toJson(WorkflowSchema, wf) as object), versions: res.versions });
  ctx.out.line(ctx.out.dim(`# ${wf.id} version ${wf.version} of ${res.versions.join(", ")}`));
  ctx.out.data(wf.spec ? toJson(WorkflowSpecSchema, wf.spec) : {});
}

/** Events and schedules that start the workflow, in a few words. */
function triggers(w: Workflow): string {
  const on = w.spec?.on;
  const names = [...(on?.events ?? []), ...(on?.eventTriggers ?? []).map((t) => t.name)].map((n) => `event:${n}`);
  const crons = (on?.schedules ?? []).map((s) => `cron:${s}`);
  return [...names, ...crons].join(" ");
}
