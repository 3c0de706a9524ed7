/**
 * Runs, newest first: filters (workflow, status, since) and the page token
 * live in the URL; the visible page is re-read every 2 s so statuses move;
 * selected runs can be cancelled or retried, one call each.
 */
import { ConnectError } from "@connectrpc/connect";
import { useState } from "preact/hooks";
import type { Run } from "../../../gen/weft/v1/common_pb.js";
import { api, readOnly } from "../api.js";
import {
  duration,
  ms,
  RUN_STATUSES,
  runDuration,
  runStatusFromName,
  runStatusName,
  SINCE,
  triggerSource,
  TRIGGER_NOTE,
  when,
} from "../format.js";
import { useCall, useNow } from "../hooks.js";
import { href, navigate, useRoute } from "../router.js";
import { useStore } from "../store.js";
import { Chip, Empty, ErrorBox, Loading } from "../ui.js";

const PAGE_SIZE = 50;

export function RunsPage() {
  const { query } = useRoute();
  const filters = {
    workflow: query.get("workflow") ?? "",
    status: query.get("status") ?? "",
    since: query.get("since") ?? "",
  };
  const pages = (query.get("pages") ?? "").split(",").filter(Boolean);
  const token = pages[pages.length - 1] ?? "";
  const now = useNow();
  const runs = useCall(
    (signal) =>
      api.runs.listRuns(
        {
          workflowId: filters.workflow,
          status: runStatusFromName(filters.status),
          pageSize: PAGE_SIZE,
          pageToken: token,
        },
        { signal },
      ),
    [filters.workflow, filters.status, token],
    { pollMs: 2000 },
  );
  const after = SINCE[filters.since] ? now - SINCE[filters.since]! : 0;
  const shown = (runs.data?.runs ?? []).filter((r) => (ms(r.createTime) ?? 0) >= after);
  const olderCut = shown.length < (runs.data?.runs.length ?? 0);
  const go = (changes: Record<string, string>) =>
    navigate(href("/runs", { ...filters, pages: pages.join(","), ...changes }));

  return (
    <section>
      <h2>Runs</h2>
      <Filters key={filters.workflow} filters={filters} onChange={(k, v) => go({ [k]: v, pages: "" })} />
      <ErrorBox error={runs.error} />
      {runs.loading && !runs.data ? (
        <Loading />
      ) : shown.length === 0 ? (
        <Empty title="No runs here">
          <p>
            {pages.length || filters.workflow || filters.status || filters.since
              ? "Nothing matches these filters on this page."
              : "Trigger a workflow from its page under Workflows, or from a terminal:"}
          </p>
          <pre>npx weft trigger hello --input '{'{"name": "Ada"}'}'</pre>
        </Empty>
      ) : (
        <RunTable runs={shown} now={now} onDone={runs.reload} />
      )}
      <nav class="pager">
        {pages.length > 0 && <a href={href("/runs", { ...filters })}>First page</a>}
        {pages.length > 0 && <a href={href("/runs", { ...filters, pages: pages.slice(0, -1).join(",") })}>Previous</a>}
        {runs.data?.nextPageToken && !olderCut && (
          <a
            href={href("/runs", { ...filters, pages: [...pages, runs.data.nextPageToken].join(",") })}
            data-testid="next-page"
          >
            Next page
          </a>
        )}
      </nav>
    </section>
  );
}

type FilterKey = "workflow" | "status" | "since";

function Filters({
  filters,
  onChange,
}: {
  filters: Record<FilterKey, string>;
  onChange: (k: FilterKey, v: string) => void;
}) {
  const [workflow, setWorkflow] = useState(filters.workflow);
  return (
    <form
      class="filters"
      onSubmit={(e) => {
        e.preventDefault();
        onChange("workflow", workflow.trim());
      }}
    >
      <label>
        Workflow{" "}
        <input name="workflow" value={workflow} placeholder="any" onInput={(e) => setWorkflow(e.currentTarget.value)} />
      </label>
      <label>
        Status{" "}
        <select name="status" value={filters.status} onChange={(e) => onChange("status", e.currentTarget.value)}>
          <option value="">any</option>
          {RUN_STATUSES.map((s) => (
            <option key={s} value={s}>
              {s.replace("_", " ")}
            </option>
          ))}
        </select>
      </label>
      <label>
        Created{" "}
        <select name="since" value={filters.since} onChange={(e) => onChange("since", e.currentTarget.value)}>
          <option value="">any time</option>
          {Object.keys(SINCE).map((s) => (
            <option key={s} value={s}>
              last {s}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Apply</button>
    </form>
  );
}

function RunHead({ pick }: { pick: boolean }) {
  return (
    <thead>
      <tr>
        {pick && <th />}
        <th>Run</th>
        <th>Workflow</th>
        <th>Status</th>
        <th>Created</th>
        <th>Duration</th>
        <th>Trigger</th>
      </tr>
    </thead>
  );
}

function RunTable({ runs, now, onDone }: { runs: Run[]; now: number; onDone: () => void }) {
  const [picked, setPicked] = useState<Set<string>>(new Set());
  const [errors, setErrors] = useState<unknown[]>([]);
  const ro = useStore(readOnly);
  const toggle = (id: string) => {
    const next = new Set(picked);
    if (next.has(id)) next.delete(id);
    else next.add(id);
    setPicked(next);
  };
  const act = async (what: "cancel" | "retry") => {
    const ids = runs.filter((r) => picked.has(r.id)).map((r) => r.id);
    const results = await Promise.allSettled(
      ids.map((runId) => (what === "cancel" ? api.runs.cancelRun({ runId }) : api.runs.retryRun({ runId }))),
    );
    setErrors(results.flatMap((r) => (r.status === "rejected" ? [ConnectError.from(r.reason)] : [])));
    setPicked(new Set());
    onDone();
  };
  return (
    <>
      {!ro && (
        <div class="actions">
          <button disabled={picked.size === 0} onClick={() => void act("cancel")}>
            Cancel selected ({picked.size})
          </button>
          <button disabled={picked.size === 0} onClick={() => void act("retry")}>
            Retry selected ({picked.size})
          </button>
        </div>
      )}
      {errors.map((e, i) => (
        <ErrorBox key={i} error={e} />
      ))}
      <table class="list runs">
        <RunHead pick={!ro} />
        <tbody>
          {runs.map((r) => (
            <tr key={r.id} data-run={r.id} data-status={runStatusName(r.status)}>
              {!ro && (
                <td>
                  <input
                    type="checkbox"
                    aria-label={`select ${r.id}`}
                    checked={picked.has(r.id)}
                    onChange={() => toggle(r.id)}
                  />
                </td>
              )}
              <td>
                <a href={`/runs/${r.id}`} class="mono">
                  {r.id}
                </a>
              </td>
              <td>
                <a href={href(`/workflows/${r.workflowId}`, { version: r.workflowVersion })}>{r.workflowId}</a>{" "}
                <span class="muted">v{r.workflowVersion}</span>
              </td>
              <td>
                <Chip status={runStatusName(r.status)} />
              </td>
              <td>{when(r.createTime)}</td>
              <td class="num">{duration(runDuration(r, now))}</td>
              <td title={TRIGGER_NOTE}>{triggerSource(r)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}
