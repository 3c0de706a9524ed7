/**
 * The console's shell: navigation, the "disconnected, retrying" banner, the
 * API-key prompt, and the page the URL names.
 */
import { render } from "preact";
import { useState } from "preact/hooks";
import { apiKey, disconnected, needsKey, probeRole, readOnly, saveKey } from "./api.js";
import { onLinkClick, useRoute } from "./router.js";
import { useStore } from "./store.js";
import { RunPage } from "./pages/run.js";
import { RunsPage } from "./pages/runs.js";
import { WorkersPage } from "./pages/workers.js";
import { WorkflowPage } from "./pages/workflow.js";
import { WorkflowsPage } from "./pages/workflows.js";
import "./style.css";

function Page() {
  const { path } = useRoute();
  const parts = path.split("/").filter(Boolean).map(decodeURIComponent);
  if (parts[0] === "runs" && parts[1]) return <RunPage key={parts[1]} runId={parts[1]} />;
  if (parts[0] === "workflows" && parts[1]) return <WorkflowPage key={parts[1]} id={parts[1]} />;
  if (parts[0] === "workflows") return <WorkflowsPage />;
  if (parts[0] === "workers") return <WorkersPage />;
  if (parts.length === 0 || parts[0] === "runs") return <RunsPage />;
  return (
    <section>
      <h2>Not found</h2>
      <p>
        No page at <code>{path}</code>. <a href="/runs">Runs</a>
      </p>
    </section>
  );
}

function KeyPrompt() {
  const [key, setKey] = useState("");
  return (
    <div class="modal" role="dialog" aria-label="API key">
      <form
        onSubmit={(e) => {
          e.preventDefault();
          saveKey(key);
        }}
      >
        <h3>This server asks for an API key</h3>
        <p>It is kept in this tab's session only and sent as a Bearer token.</p>
        <input
          name="apiKey"
          type="password"
          autoFocus
          value={key}
          onInput={(e) => setKey(e.currentTarget.value)}
          placeholder="weft_…"
        />
        <button type="submit">Use key</button>
      </form>
    </div>
  );
}

function App() {
  const { path } = useRoute();
  const down = useStore(disconnected);
  const asking = useStore(needsKey);
  const key = useStore(apiKey);
  const ro = useStore(readOnly);
  const tab = path.split("/")[1] || "runs";
  return (
    <div onClick={(e) => onLinkClick(e as unknown as MouseEvent)}>
      <header>
        <a href="/runs" class="brand">
          Weft
        </a>
        <nav>
          {["runs", "workflows", "workers"].map((t) => (
            <a key={t} href={`/${t}`} class={tab === t ? "on" : ""}>
              {t[0]!.toUpperCase() + t.slice(1)}
            </a>
          ))}
        </nav>
        <span class="who">
          {key ? (ro ? "read-only key" : "key set") : ""}
          {key && (
            <button class="link" onClick={() => (apiKey.set(null), readOnly.set(false))}>
              forget key
            </button>
          )}
        </span>
      </header>
      {down && (
        <div class="banner" role="status">
          Disconnected from the server, retrying…
        </div>
      )}
      {asking && <KeyPrompt />}
      <main>
        <Page />
      </main>
    </div>
  );
}

void probeRole();
render(<App />, document.getElementById("app")!);
