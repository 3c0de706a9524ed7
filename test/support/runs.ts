/**
 * Helpers for end-to-end run tests: define a workflow from a plain object,
 * trigger it, wait for the run to end, read its steps and history, and start
 * in-process SDK workers that are stopped after the test.
 *
 * @example
 * ```ts
 * await defineWorkflow(weft.client, { id: "wf", steps: [{ id: "a", action: "wf.a" }] });
 * const runId = await trigger(weft.client, "wf", { n: 1 });
 * const run = await waitForRun(weft.client, runId);
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { timestampMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import {
  RunEventType,
  RunStatus,
  StepStatus,
  type Run,
  type RunEvent,
  type StepRun,
} from "../../gen/weft/v1/common_pb.js";
import { Worker, jsonToValue, valueToJson, type WeftClient, type WorkerOptions } from "../../sdk/index.js";

type Clients = Pick<WeftClient, "workflows" | "runs">;

/**
 * Creates a workflow from a spec written as plain JSON in the YAML shape
 * (snake_case keys, friendly durations such as "200ms").
 */
export async function defineWorkflow(client: Clients, spec: Record<string, unknown>): Promise<void> {
  await client.workflows.createWorkflow({ source: { case: "yaml", value: JSON.stringify(spec) } });
}

/** Triggers a run with JSON input; returns its id. */
export async function trigger(client: Clients, workflowId: string, input: unknown = {}): Promise<string> {
  const { runId } = await client.workflows.triggerWorkflow({ workflowId, input: jsonToValue(input) });
  return runId;
}

const FINISHED = new Set([RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.TIMED_OUT]);

/**
 * Polls GetRun until the run is final (or `until` holds); fails after
 * `timeoutMs`. An `UNAVAILABLE` answer (the server lost its database, as
 * the outage tests make it) is polled through like a run not done yet.
 */
export async function waitForRun(
  client: Clients,
  runId: string,
  timeoutMs = 20_000,
  until?: (run: Run) => boolean,
): Promise<Run> {
  const end = Date.now() + timeoutMs;
  let last: Run | undefined;
  for (;;) {
    const run = await client.runs.getRun({ runId }).then(
      (res) => res.run,
      (err: unknown) => {
        if (ConnectError.from(err).code !== Code.Unavailable || Date.now() > end) throw err;
        return last;
      },
    );
    last = run;
    if (run && (until ? until(run) : FINISHED.has(run.status))) return run;
    if (Date.now() > end) {
      throw new Error(`run ${runId} not done in ${timeoutMs} ms: ${last ? describeRun(last) : "missing"}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A readable one-liner of a run's state, for failure messages. */
export function describeRun(run: Run): string {
  const steps = run.steps.map(
    (s) => `${s.stepId}=${StepStatus[s.status]}/${s.attempts}${s.error?.type ? `(${s.error.type})` : ""}`,
  );
  return `${RunStatus[run.status]} [${steps.join(" ")}]`;
}

/** The run's step with this id (throws if there is none). */
export function step(run: Run, id: string): StepRun {
  const s = run.steps.find((x) => x.stepId === id);
  if (!s) throw new Error(`no step ${id} in run ${run.id}`);
  return s;
}

/** Step statuses by id, as enum names: `{ a: "SUCCEEDED", … }`. */
export function statuses(run: Run): Record<string, string> {
  return Object.fromEntries(run.steps.map((s) => [s.stepId, StepStatus[s.status]]));
}

/** A step's output as JSON. */
export function output(run: Run, id: string): JsonValue {
  return valueToJson(step(run, id).output);
}

/** The run's full history, oldest first. */
export async function history(client: Clients, runId: string): Promise<RunEvent[]> {
  return (await client.runs.getRunHistory({ runId })).events;
}

/** STEP_STATUS events of one step, as `[status, attempt, timeMs]`. */
export function stepEvents(
  events: RunEvent[],
  stepId: string,
): { status: string; attempt: number; at: number; error?: string }[] {
  return events
    .filter((e) => e.type === RunEventType.STEP_STATUS && e.stepId === stepId)
    .map((e) => ({
      status: StepStatus[e.stepStatus],
      attempt: e.attempt,
      at: e.time ? timestampMs(e.time) : 0,
      error: e.error?.type || undefined,
    }));
}

/**
 * Every (step, attempt) that reached SUCCEEDED more than once in the history:
 * an empty list means no step completed twice.
 */
export function doubleCompletions(events: RunEvent[]): string[] {
  const seen = new Map<string, number>();
  for (const e of events) {
    if (e.type !== RunEventType.STEP_STATUS || e.stepStatus !== StepStatus.SUCCEEDED) continue;
    const key = `${e.stepId}#${e.attempt}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const perStep = new Map<string, number>();
  for (const e of events) {
    if (e.type === RunEventType.STEP_STATUS && e.stepStatus === StepStatus.SUCCEEDED)
      perStep.set(e.stepId, (perStep.get(e.stepId) ?? 0) + 1);
  }
  return [
    ...[...seen].filter(([, n]) => n > 1).map(([k, n]) => `${k} x${n}`),
    ...[...perStep].filter(([, n]) => n > 1).map(([k, n]) => `${k} succeeded ${n} times`),
  ];
}

/**
 * In-process SDK workers started for a test; `stopAll()` in `afterEach`.
 *
 * @example
 * ```ts
 * const workers = new WorkerPool();
 * await workers.start({ address: weft.url, name: "w" }, { "wf.a": async () => 1 });
 * await workers.stopAll();
 * ```
 */
export class WorkerPool {
  readonly #workers: Worker[] = [];

  async start(
    opts: Partial<WorkerOptions> & Pick<WorkerOptions, "address">,
    handlers: Record<string, (input: never, ctx: never) => unknown>,
  ): Promise<Worker> {
    const worker = new Worker({
      name: "e2e",
      slots: 4,
      drainGraceMs: 500,
      ackWaitMs: 1000,
      logger: () => {},
      reconnect: { initialDelayMs: 50, maxDelayMs: 500 },
      ...opts,
    });
    for (const [action, handler] of Object.entries(handlers)) worker.register(action, handler as never);
    this.#workers.push(worker);
    await worker.start();
    return worker;
  }

  async stopAll(): Promise<void> {
    const all = this.#workers.splice(0);
    await Promise.all(all.map((w) => w.stop()));
  }
}

/** Resolves after `ms`. */
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
