/**
 * One run, live: the DAG coloured by step status, the timeline of attempts,
 * the chosen step (`?step=` in the URL), Cancel and Retry, the run's input,
 * output and error, and the webhooks it sent.
 */
import { useState } from "preact/hooks";
import { RunEventType, RunStatus, StepStatus, type Run } from "../../../gen/weft/v1/common_pb.js";
import { api, readOnly } from "../api.js";
import { Dag } from "../dag.js";
import {
  duration,
  isFinished,
  runDuration,
  runStatusName,
  stepStatusName,
  triggerSource,
  TRIGGER_NOTE,
  when,
} from "../format.js";
import { Gantt } from "../gantt.js";
import { useCall, useNow } from "../hooks.js";
import { useLiveRun } from "../live-run.js";
import { href, navigate, useRoute } from "../router.js";
import { useStore } from "../store.js";
import { Chip, ErrorBox, Json, Loading } from "../ui.js";
import { History, StepPanel } from "./step-panel.js";

export function RunPage({ runId }: { runId: string }) {
  const { query } = useRoute();
  const selected = query.get("step");
  const live = useLiveRun(runId);
  const now = useNow(500);
  const run = live.run;
  const workflow = useCall(
    (signal) =>
      run ? api.workflows.getWorkflow({ id: run.workflowId, version: run.workflowVersion }, { signal }) : never(signal),
    [run?.workflowId, run?.workflowVersion],
  );
  if (!run) return live.error ? <ErrorBox error={live.error} /> : <Loading />;
  const steps = workflow.data?.workflow?.spec?.steps ?? [];
  const status = Object.fromEntries(run.steps.map((s) => [s.stepId, stepStatusName(s.status)]));
  const webhooks = live.events.filter((e) => e.type === RunEventType.WEBHOOK);
  return (
    <section data-run-status={runStatusName(run.status)}>
      <h2>
        Run <span class="mono">{run.id}</span> <Chip status={runStatusName(run.status)} />
      </h2>
      <ErrorBox error={live.error} />
      <RunFacts run={run} now={now} />
      <RunError run={run} />
      <RunActions runId={run.id} status={run.status} onDone={live.restart} />
      <ErrorBox error={workflow.error} />
      <div class="dag-wrap">
        <Dag
          steps={steps}
          status={status}
          selected={selected}
          onSelect={(id) => navigate(href(`/runs/${run.id}`, { step: id }))}
        />
      </div>
      {selected && (
        <StepPanel
          runId={run.id}
          step={run.steps.find((s) => s.stepId === selected)}
          spec={steps.find((s) => s.id === selected)}
          events={live.events}
        />
      )}
      <h3>Timeline</h3>
      <Gantt events={live.events} now={isFinished(run.status) ? 0 : now} />
      <div class="two">
        <div>
          <h3>Input</h3>
          <Json value={run.input} label="run input" />
        </div>
        <div>
          <h3>Output</h3>
          <Json value={run.output} label="run output" />
        </div>
      </div>
      {webhooks.length > 0 && (
        <>
          <h3>Webhooks sent</h3>
          <History events={webhooks} />
        </>
      )}
      <details>
        <summary>History ({live.events.length} events)</summary>
        <History events={live.events} />
      </details>
    </section>
  );
}

/** Waits for the run before asking for its workflow. */
const never = (signal: AbortSignal) =>
  new Promise<undefined>((resolve) => signal.addEventListener("abort", () => resolve(undefined)));

/** Why the run failed, with a link to each failed step's details. */
function RunError({ run }: { run: Run }) {
  if (!run.error) return null;
  const failed = run.steps.filter((s) => s.status === StepStatus.FAILED);
  return (
    <div class="error" data-testid="run-error">
      <strong>{run.error.type || "FAILED"}</strong> {run.error.message}
      {failed.length > 0 && (
        <p>
          Failed:{" "}
          {failed.map((s) => (
            <a key={s.stepId} href={href(`/runs/${run.id}`, { step: s.stepId })} class="mono tag">
              {s.stepId}
            </a>
          ))}
        </p>
      )}
    </div>
  );
}

function RunFacts({ run, now }: { run: Run; now: number }) {
  return (
    <dl class="facts">
      <dt>Workflow</dt>
      <dd>
        <a href={href(`/workflows/${run.workflowId}`, { version: run.workflowVersion })}>{run.workflowId}</a> v
        {run.workflowVersion}
      </dd>
      <dt>Created</dt>
      <dd>{when(run.createTime)}</dd>
      <dt>Duration</dt>
      <dd>{duration(runDuration(run, now))}</dd>
      <dt>Trigger</dt>
      <dd title={TRIGGER_NOTE}>{triggerSource(run)}</dd>
      {run.idempotencyKey && (
        <>
          <dt>Idempotency key</dt>
          <dd class="mono">{run.idempotencyKey}</dd>
        </>
      )}
    </dl>
  );
}

function RunActions({ runId, status, onDone }: { runId: string; status: RunStatus; onDone: () => void }) {
  const ro = useStore(readOnly);
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  if (ro) return null;
  const act = (call: () => Promise<unknown>) => {
    setBusy(true);
    call().then(
      () => (setError(undefined), setBusy(false), onDone()),
      (err: unknown) => (setError(err), setBusy(false)),
    );
  };
  const done = isFinished(status);
  return (
    <div class="actions">
      {!done && (
        <button
          disabled={busy}
          onClick={() => act(() => api.runs.cancelRun({ runId, reason: "cancelled from the console" }))}
        >
          Cancel run
        </button>
      )}
      {done && status !== RunStatus.SUCCEEDED && (
        <button disabled={busy} onClick={() => act(() => api.runs.retryRun({ runId }))}>
          Retry run
        </button>
      )}
      <ErrorBox error={error} />
    </div>
  );
}
