/**
 * One workflow: its versions (`?version=`), the DAG and YAML of the chosen
 * one, what changed against another (`?compare=`), its triggers with the
 * next fire times, and the Trigger form.
 */
import { toJson } from "@bufbuild/protobuf";
import { Cron } from "croner";
import { WorkflowSpecSchema, type WorkflowSpec } from "../../../gen/weft/v1/common_pb.js";
import { api, readOnly } from "../api.js";
import { Dag } from "../dag.js";
import { when } from "../format.js";
import { useCall } from "../hooks.js";
import { href, navigate, useRoute } from "../router.js";
import { useStore } from "../store.js";
import { ErrorBox, Loading } from "../ui.js";
import { diffLines, toYaml } from "../yaml.js";
import { TriggerForm } from "./trigger-form.js";

const specYaml = (spec: WorkflowSpec | undefined) =>
  spec ? toYaml(toJson(WorkflowSpecSchema, spec, { useProtoFieldName: true })) : "";

export function WorkflowPage({ id }: { id: string }) {
  const { query } = useRoute();
  const version = Number(query.get("version") ?? 0) || 0;
  const compare = Number(query.get("compare") ?? 0) || 0;
  const ro = useStore(readOnly);
  const wf = useCall((signal) => api.workflows.getWorkflow({ id, version }, { signal }), [id, version]);
  const other = useCall(
    (signal) =>
      compare ? api.workflows.getWorkflow({ id, version: compare }, { signal }) : Promise.resolve(undefined),
    [id, compare],
  );
  if (!wf.data) return wf.error ? <ErrorBox error={wf.error} /> : <Loading />;
  const w = wf.data.workflow!;
  const spec = w.spec;
  const link = (changes: Record<string, number | undefined>) =>
    href(`/workflows/${id}`, { version, compare, ...changes });
  return (
    <section>
      <h2>
        Workflow <span class="mono">{id}</span> <span class="muted">v{w.version}</span>
      </h2>
      {spec?.description && <p>{spec.description}</p>}
      <p>
        Versions:{" "}
        {wf.data.versions.map((v) => (
          <a key={v} class={`tag${v === w.version ? " on" : ""}`} href={link({ version: v })}>
            v{v}
          </a>
        ))}{" "}
        · <a href={href("/runs", { workflow: id })}>Runs of {id}</a> · created {when(w.createTime)}
      </p>
      <div class="dag-wrap">
        <Dag steps={spec?.steps ?? []} />
      </div>
      <Triggers spec={spec} />
      {!ro && (
        <>
          <h3>Trigger</h3>
          <TriggerForm workflowId={id} version={w.version} />
        </>
      )}
      <h3>YAML</h3>
      <label>
        Compare with{" "}
        <select
          name="compare"
          value={String(compare)}
          onChange={(e) => navigate(link({ compare: Number(e.currentTarget.value) || undefined }), { replace: true })}
        >
          <option value="0">—</option>
          {wf.data.versions
            .filter((v) => v !== w.version)
            .map((v) => (
              <option key={v} value={String(v)}>
                v{v}
              </option>
            ))}
        </select>
      </label>
      <ErrorBox error={other.error} />
      {other.data?.workflow ? (
        <pre class="yaml diff" data-testid="diff">
          {diffLines(specYaml(other.data.workflow.spec), specYaml(spec)).map((l, i) => (
            <div key={i} class={l.op === "+" ? "add" : l.op === "-" ? "del" : ""}>
              {l.op} {l.text}
            </div>
          ))}
        </pre>
      ) : (
        <pre class="yaml">{specYaml(spec)}</pre>
      )}
    </section>
  );
}

function nextTimes(expr: string): string {
  const m = /^(?:CRON_)?TZ=(\S+)\s+/.exec(expr.trim());
  try {
    const cron = new Cron(m ? expr.trim().slice(m[0].length) : expr.trim(), {
      paused: true,
      mode: "5-or-6-parts",
      timezone: m?.[1] ?? "UTC",
    });
    return cron
      .nextRuns(3)
      .map((d) => d.toLocaleString())
      .join(", ");
  } catch (err) {
    return (err as Error).message;
  }
}

function Triggers({ spec }: { spec: WorkflowSpec | undefined }) {
  const events = [
    ...(spec?.on?.events ?? []),
    ...(spec?.on?.eventTriggers ?? []).map((e) => e.name + (e.filter ? ` if ${e.filter}` : "")),
  ];
  const schedules = spec?.on?.schedules ?? [];
  if (events.length === 0 && schedules.length === 0)
    return <p class="muted">Started by TriggerWorkflow only (no events or schedules).</p>;
  return (
    <>
      <h3>Triggers</h3>
      <ul>
        {events.map((e) => (
          <li key={e}>
            event <code>{e}</code>
          </li>
        ))}
        {schedules.map((s) => (
          <li key={s}>
            schedule <code>{s}</code> — next: {nextTimes(s)}
          </li>
        ))}
      </ul>
    </>
  );
}
