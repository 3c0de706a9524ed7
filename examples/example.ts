/**
 * What each example exports, and the two ways to run one: as a long-lived
 * worker (`npx tsx examples/etl.worker.ts`, see `serveExample`) or as one
 * demo run (`npx tsx examples/run.ts etl`, see `run.ts`).
 *
 * @example
 * ```ts
 * export const example: Example = { workflowId: "hello", yamlFile: …, sampleInput: { name: "Ada" }, register };
 * if (isMain(import.meta)) await serveExample(example);
 * ```
 */
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Worker, createWeftClient, type WeftClient } from "weft/sdk";

/** One example: a workflow file and the handlers of its actions. */
export interface Example {
  /** The `id` in the YAML file. */
  workflowId: string;
  /** Absolute path of the YAML file. */
  yamlFile: string;
  /** The input of a demo run. */
  sampleInput: unknown;
  /** Registers a handler for every action the workflow uses; returns the worker. */
  register(worker: Worker): Worker;
}

/** `WEFT_ADDRESS`, else the address `npm start` listens on. */
export const address = process.env.WEFT_ADDRESS ?? "http://127.0.0.1:8080";

/**
 * Creates (or finds) the example's workflow from its YAML; returns the version.
 *
 * @example
 * ```ts
 * const version = await createExampleWorkflow(createWeftClient(address), example);
 * ```
 */
export async function createExampleWorkflow(client: Pick<WeftClient, "workflows">, example: Example): Promise<number> {
  const { workflow } = await client.workflows.createWorkflow({
    source: { case: "yaml", value: readFileSync(example.yamlFile, "utf8") },
  });
  return workflow?.version ?? 0;
}

/** Whether the module with this `import.meta` is the script node was started with. */
export function isMain(meta: ImportMeta): boolean {
  return process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(meta.url);
}

/**
 * Runs the example as a worker until SIGTERM / SIGINT (which drain it):
 * creates the workflow, registers the handlers, connects to `address`.
 */
export async function serveExample(example: Example): Promise<void> {
  const client = createWeftClient(address);
  let version: number;
  try {
    version = await createExampleWorkflow(client, example);
  } finally {
    client.close();
  }
  const worker = example.register(
    new Worker({ address, name: `${example.workflowId}-worker`, slots: 4, handleSignals: true }),
  );
  worker.on("task", (t) => console.log(`run ${t.runId}: ${t.stepId} started (attempt ${t.attempt})`));
  worker.on("result", (r) =>
    console.log(`task ${r.taskId}: ${r.error ? `failed, ${r.error.type}: ${r.error.message}` : "done"}`),
  );
  await worker.start();
  console.log(
    `workflow ${example.workflowId} v${version} ready; worker connected to ${address} (Ctrl-C stops it). Trigger a run:`,
  );
  console.log(
    `  curl -s --json '${JSON.stringify({ workflowId: example.workflowId, input: example.sampleInput })}' ${address}/weft.v1.WorkflowService/TriggerWorkflow`,
  );
}
