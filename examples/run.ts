/**
 * One demo run of an example, start to end, against a running server:
 * creates the workflow, starts the example's worker in this process,
 * triggers a run (with the example's sample input, or the JSON given),
 * prints every step and the output, and exits 0 when the run SUCCEEDED.
 *
 *   npx tsx examples/run.ts <hello|etl|orders|cicd|conditional> [input-json]
 *   npx tsx examples/run.ts orders '{"order_id": "o-2", "card": "tok_declined", "customer": "ada@example.com", "items": [{"sku": "mug", "qty": 1, "price_cents": 1200}]}'
 *
 * The server: `WEFT_ADDRESS`, else http://127.0.0.1:8080 (`npm start`).
 */
import { RunStatus, StepStatus, Worker, createWeftClient, triggerAndWait, valueToJson } from "weft/sdk";
import { address, createExampleWorkflow, type Example } from "./example.js";

const NAMES = ["hello", "etl", "orders", "cicd", "conditional"];
const [name, inputJson] = process.argv.slice(2);
if (!name || !NAMES.includes(name)) {
  console.error(`usage: npx tsx examples/run.ts <${NAMES.join("|")}> [input-json]`);
  process.exit(2);
}
const { example } = (await import(`./${name}.worker.ts`)) as { example: Example };
const input = inputJson === undefined ? example.sampleInput : parseInput(inputJson);

/** The input from the command line; not JSON: one line saying so, with valid input to copy, and exit 2. */
function parseInput(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    const sample = JSON.stringify(example.sampleInput);
    console.error(
      `run.ts: the input ${text} is not JSON (${why}); keys and strings need double quotes, e.g. '${sample}'`,
    );
    process.exit(2);
  }
}

const client = createWeftClient(address);
const worker = example.register(new Worker({ address, name: `${name}-demo`, slots: 4 }));
try {
  const version = await createExampleWorkflow(client, example);
  await worker.start();
  console.log(`workflow ${example.workflowId} v${version}, input ${JSON.stringify(input)}`);
  const started = Date.now();
  const run = await triggerAndWait(client, example.workflowId, input, { timeoutMs: 60_000 });
  console.log(`run ${run.id}: ${RunStatus[run.status]} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  for (const s of run.steps) {
    const detail = s.error
      ? `${s.error.type}: ${s.error.message}`
      : s.output
        ? JSON.stringify(valueToJson(s.output))
        : "";
    console.log(
      `  ${s.stepId.padEnd(12)} ${StepStatus[s.status].padEnd(9)} attempts ${s.attempts}  ${detail.length > 110 ? `${detail.slice(0, 109)}…` : detail}`,
    );
  }
  if (run.error) console.log(`error: ${run.error.type}: ${run.error.message}`);
  if (run.output) console.log(`output: ${JSON.stringify(valueToJson(run.output))}`);
  process.exitCode = run.status === RunStatus.SUCCEEDED ? 0 : 1;
} finally {
  await worker.stop();
  client.close();
}
