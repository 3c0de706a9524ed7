/**
 * The worker of examples/cicd.yaml: checkout → build → test → deploy. The
 * "work" is deterministic hashing, so every run of the same repo and ref
 * builds the same version.
 *
 *   npx tsx examples/cicd.worker.ts    # a worker, until Ctrl-C
 *   npx tsx examples/run.ts cicd       # one run, printed
 */
import { createHash } from "node:crypto";
import { resolve } from "node:path";
import { TaskError, type Worker } from "weft/sdk";
import { isMain, serveExample, type Example } from "./example.js";

const sha = (algo: "sha1" | "sha256", text: string): string => createHash(algo).update(text).digest("hex");

function checkout({ repo, ref }: { repo: string; ref: string }) {
  return { commit: sha("sha1", `${repo}@${ref}`), files: ["package.json", "src/index.ts", "test/index.test.ts"] };
}

function build({ commit, files }: { commit: string; files: string[] }) {
  const short = commit.slice(0, 7);
  return {
    version: `1.4.0+${short}`,
    artifact: `app-${short}.tgz`,
    digest: `sha256:${sha("sha256", `${commit}:${files.join(",")}`)}`,
  };
}

function test({ artifact, suites }: { artifact: string; suites: string[] }) {
  const failing = suites.filter((s) => s.startsWith("broken"));
  // A failed suite is a verdict, not a glitch: retrying will not make it pass.
  if (failing.length > 0) throw TaskError.nonRetryable("TESTS_FAILED", `${artifact}: ${failing.join(", ")} failed`);
  return { artifact, passed: suites.length, suites };
}

function deploy({
  artifact,
  version,
  environment,
  tests_passed,
}: {
  artifact: string;
  version: string;
  environment: string;
  tests_passed: number;
}) {
  if (tests_passed < 1) throw TaskError.nonRetryable("UNTESTED", "refusing to deploy an artifact no suite tested");
  return { url: `https://${environment}.example.com/releases/${version}`, artifact, environment };
}

/** Registers `ci.checkout`, `ci.build`, `ci.test` and `ci.deploy` on `worker`. */
export function register(worker: Worker): Worker {
  return worker
    .register("ci.checkout", checkout)
    .register("ci.build", build)
    .register("ci.test", test)
    .register("ci.deploy", deploy);
}

export const example: Example = {
  workflowId: "ci-cd",
  yamlFile: resolve(import.meta.dirname, "cicd.yaml"),
  sampleInput: {
    repo: "github.com/acme/shop",
    ref: "main",
    suites: ["unit", "integration", "e2e"],
    environment: "staging",
  },
  register,
};

if (isMain(import.meta)) await serveExample(example);
