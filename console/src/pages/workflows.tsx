/**
 * The workflows, by page token; with none yet, the YAML and the command
 * that define the first one.
 */
import { api } from "../api.js";
import { when } from "../format.js";
import { useCall } from "../hooks.js";
import { href, useRoute } from "../router.js";
import { Empty, ErrorBox, Loading } from "../ui.js";

const HELLO = `id: hello
steps:
  - id: greet
    action: greet
  - id: shout
    action: shout
    depends_on: [greet]`;

export function WorkflowsPage() {
  const { query } = useRoute();
  const pages = (query.get("pages") ?? "").split(",").filter(Boolean);
  const list = useCall(
    (signal) => api.workflows.listWorkflows({ pageSize: 100, pageToken: pages[pages.length - 1] ?? "" }, { signal }),
    [pages.join(",")],
  );
  return (
    <section>
      <h2>Workflows</h2>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : !list.data?.workflows.length ? (
        <Empty title="No workflows yet">
          <p>Save a workflow as YAML, e.g. hello.yaml:</p>
          <pre>{HELLO}</pre>
          <p>then apply it, and run a worker for its actions (README, "Run a worker"):</p>
          <pre>npx weft apply -f hello.yaml{"\n"}npx tsx examples/hello.worker.ts</pre>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Workflow</th>
              <th>Latest version</th>
              <th>Steps</th>
              <th>Triggers</th>
              <th>Created</th>
            </tr>
          </thead>
          <tbody>
            {list.data.workflows.map((w) => (
              <tr key={w.id} data-workflow={w.id}>
                <td>
                  <a href={`/workflows/${w.id}`}>{w.id}</a> <span class="muted">{w.spec?.name}</span>
                </td>
                <td>v{w.version}</td>
                <td>{w.spec?.steps.length ?? 0}</td>
                <td>
                  {[...(w.spec?.on?.events ?? []), ...(w.spec?.on?.eventTriggers.map((e) => e.name) ?? [])].map((e) => (
                    <span key={e} class="tag">
                      event {e}
                    </span>
                  ))}
                  {(w.spec?.on?.schedules ?? []).map((s) => (
                    <span key={s} class="tag">
                      cron {s}
                    </span>
                  ))}
                </td>
                <td>{when(w.createTime)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <nav class="pager">
        {pages.length > 0 && <a href={href("/workflows", { pages: pages.slice(0, -1).join(",") })}>Previous</a>}
        {list.data?.nextPageToken && (
          <a href={href("/workflows", { pages: [...pages, list.data.nextPageToken].join(",") })}>Next page</a>
        )}
      </nav>
    </section>
  );
}
