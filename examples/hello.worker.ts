/**
 * The worker of examples/hello.yaml: `greet` builds a greeting from the
 * run input's name, `shout` gets greet's output (the default step input:
 * `{input, steps: {greet: …}}`) and upper-cases it.
 *
 *   npx tsx examples/hello.worker.ts    # a worker, until Ctrl-C
 *   npx tsx examples/run.ts hello       # one run, printed
 */
import { resolve } from "node:path";
import { TaskError, type Worker } from "weft/sdk";
import { isMain, serveExample, type Example } from "./example.js";

/** Registers `greet` and `shout` on `worker`. */
export function register(worker: Worker): Worker {
  return worker
    .register("greet", ({ name }: { name: unknown }) => {
      if (typeof name !== "string" || name.trim() === "")
        throw TaskError.nonRetryable("NO_NAME", "input.name must be a non-empty string");
      return { greeting: `Hello, ${name}!` };
    })
    .register("shout", ({ steps }: { steps: { greet: { greeting: string } } }) => ({
      text: steps.greet.greeting.toUpperCase(),
    }));
}

export const example: Example = {
  workflowId: "hello",
  yamlFile: resolve(import.meta.dirname, "hello.yaml"),
  sampleInput: { name: "Ada" },
  register,
};

if (isMain(import.meta)) await serveExample(example);
