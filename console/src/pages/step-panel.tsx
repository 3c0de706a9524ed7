/**
 * One step of a run: status, attempts, worker, the input its latest attempt
 * got (before it is queued: the spec's template), output, error, and the
 * step's own history.
 */
import { RunEventType, type RunEvent, type StepRun, type StepSpec } from "../../../gen/weft/v1/common_pb.js";
import { runStatusName, stepStatusName, when } from "../format.js";
import { href } from "../router.js";
import { Chip, Json } from "../ui.js";

export function StepPanel(props: {
  runId: string;
  step: StepRun | undefined;
  spec: StepSpec | undefined;
  events: RunEvent[];
}) {
  const { step, spec } = props;
  const id = step?.stepId ?? spec?.id ?? "";
  const history = props.events.filter((e) => e.stepId === id);
  return (
    <section class="panel" data-testid="step-panel">
      <h3>
        Step <span class="mono">{id}</span> {step && <Chip status={stepStatusName(step.status)} />}
        <a class="close" href={href(`/runs/${props.runId}`)} aria-label="close">
          ×
        </a>
      </h3>
      <dl class="facts">
        <dt>Action</dt>
        <dd class="mono">{step?.action || spec?.action}</dd>
        <dt>Attempts</dt>
        <dd>{step?.attempts ?? 0}</dd>
        <dt>Worker</dt>
        <dd class="mono">
          {step?.workerId ? <a href={href("/workers", { worker: step.workerId })}>{step.workerId}</a> : "—"}
        </dd>
        <dt>Started</dt>
        <dd>{when(step?.startTime)}</dd>
        <dt>Ended</dt>
        <dd>{when(step?.endTime)}</dd>
        {spec?.dependsOn.length ? (
          <>
            <dt>Depends on</dt>
            <dd class="mono">{spec.dependsOn.join(", ")}</dd>
          </>
        ) : null}
      </dl>
      {step?.error && (
        <div class="error" data-testid="step-error">
          <strong>{step.error.type || "ERROR"}</strong> {step.error.message}
        </div>
      )}
      <h4>Output</h4>
      <Json value={step?.output} label="step output" />
      <h4>Input</h4>
      {step?.input !== undefined ? (
        <Json value={step.input} label="step input" />
      ) : spec?.input === undefined ? (
        <p class="muted">
          The default: <code>{"{input: <run input>, steps: {<dependency>: <its output>}}"}</code>
        </p>
      ) : (
        <Json value={spec.input} label="step input template" />
      )}
      <h4>History</h4>
      <History events={history} />
    </section>
  );
}

export function History({ events }: { events: RunEvent[] }) {
  if (events.length === 0) return <p class="muted">Nothing yet.</p>;
  return (
    <table class="list history">
      <tbody>
        {events.map((e) => (
          <tr key={String(e.sequence)}>
            <td class="num muted">{String(e.sequence)}</td>
            <td>{when(e.time)}</td>
            <td>{(RunEventType[e.type] ?? "").toLowerCase().replace("_", " ")}</td>
            <td class="mono">{e.stepId}</td>
            <td>
              {e.type === RunEventType.STEP_STATUS ? (
                <Chip status={stepStatusName(e.stepStatus)} />
              ) : e.type === RunEventType.RUN_STATUS ? (
                <Chip status={runStatusName(e.runStatus)} />
              ) : null}
            </td>
            <td>{e.attempt ? `#${e.attempt}` : ""}</td>
            <td class="mono">{e.workerId}</td>
            <td>{e.error ? `${e.error.type}: ${e.error.message}` : e.message}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
