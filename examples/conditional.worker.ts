/**
 * The worker of examples/conditional.yaml: fetch → validate → publish or
 * quarantine, and a cleanup that always runs. `fetch` writes a real scratch
 * folder (under the OS temp dir); `cleanup` removes it.
 *
 *   npx tsx examples/conditional.worker.ts   # a worker, until Ctrl-C
 *   npx tsx examples/run.ts conditional      # one run, printed
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { TaskError, type Worker } from "weft/sdk";
import { isMain, serveExample, type Example } from "./example.js";

interface Row {
  id: number;
  email: string;
}

function fetch({ source, rows }: { source: string; rows: Row[] }) {
  if (source === "missing") throw TaskError.nonRetryable("SOURCE_NOT_FOUND", `no export named ${source}`);
  const workspace = mkdtempSync(join(tmpdir(), "weft-dq-"));
  writeFileSync(join(workspace, "rows.json"), JSON.stringify(rows));
  return { workspace, rows: rows.length };
}

function validate({ workspace }: { workspace: string }) {
  const rows = JSON.parse(readFileSync(join(workspace, "rows.json"), "utf8")) as Row[];
  const bad = rows.filter((r) => !/^[^@\s]+@[^@\s]+\.[a-z]{2,}$/i.test(r.email)).map((r) => r.id);
  return { valid: rows.length - bad.length, invalid: bad.length, bad_rows: bad };
}

function publish({ workspace, target }: { workspace: string; target: string }) {
  const rows = readFileSync(join(workspace, "rows.json"));
  return { location: `${target}/contacts.json`, bytes: rows.length };
}

function announce({ location, rows }: { location: string; rows: number }) {
  return { message: `${rows} contacts published to ${location}` };
}

function quarantine({ bad_rows }: { bad_rows: number[] }) {
  return { ticket: `DQ-${bad_rows.join("-")}`, rows: bad_rows };
}

/** Runs after everything else, whatever happened: removes fetch's folder if there is one. */
function cleanup({ steps }: { steps: { fetch: { workspace: string } | null } }) {
  const workspace = steps.fetch?.workspace ?? null;
  if (workspace) rmSync(workspace, { recursive: true, force: true });
  return { removed: workspace };
}

/** Registers the six `dq.*` actions on `worker`. */
export function register(worker: Worker): Worker {
  return worker
    .register("dq.fetch", fetch)
    .register("dq.validate", validate)
    .register("dq.publish", publish)
    .register("dq.announce", announce)
    .register("dq.quarantine", quarantine)
    .register("dq.cleanup", cleanup);
}

export const example: Example = {
  workflowId: "conditional-pipeline",
  yamlFile: resolve(import.meta.dirname, "conditional.yaml"),
  sampleInput: {
    source: "crm-export",
    target: "s3://acme-contacts/2026-12-01",
    rows: [
      { id: 1, email: "ada@example.com" },
      { id: 2, email: "grace@example.org" },
    ],
  },
  register,
};

if (isMain(import.meta)) await serveExample(example);
