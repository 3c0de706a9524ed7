/** Connected workers (ListWorkers), re-read every 3 s; `?worker=` marks one. */
import { api } from "../api.js";
import { when } from "../format.js";
import { useCall } from "../hooks.js";
import { useRoute } from "../router.js";
import { Empty, ErrorBox, Loading } from "../ui.js";

export function WorkersPage() {
  const { query } = useRoute();
  const mark = query.get("worker");
  const list = useCall((signal) => api.workers.listWorkers({ pageSize: 1000 }, { signal }), [], { pollMs: 3000 });
  return (
    <section>
      <h2>Workers</h2>
      <ErrorBox error={list.error} />
      {list.loading && !list.data ? (
        <Loading />
      ) : !list.data?.workers.length ? (
        <Empty title="No worker is connected">
          <p>Start one for the hello workflow's actions:</p>
          <pre>npx tsx examples/hello.worker.ts</pre>
        </Empty>
      ) : (
        <table class="list">
          <thead>
            <tr>
              <th>Worker</th>
              <th>Name</th>
              <th>Actions</th>
              <th>Slots in use</th>
              <th>Labels</th>
              <th>Replica</th>
              <th>Last seen</th>
            </tr>
          </thead>
          <tbody>
            {list.data.workers.map((w) => (
              <tr key={w.workerId} class={w.workerId === mark ? "marked" : ""} data-worker={w.workerId}>
                <td class="mono">{w.workerId}</td>
                <td>{w.name}</td>
                <td>{w.actions.join(", ")}</td>
                <td class="num">
                  {w.slotsInUse} / {w.slots}
                </td>
                <td>
                  {Object.entries(w.labels).map(([k, v]) => (
                    <span key={k} class="tag">
                      {k}={v}
                    </span>
                  ))}
                </td>
                <td class="mono" title={w.replica?.id}>
                  {w.replica?.address}
                </td>
                <td>{when(w.lastSeenAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
