/**
 * Triggers a workflow version: the input is JSON, checked as it is typed
 * and before anything is sent; the idempotency key is optional. Lands on
 * the new run's page.
 */
import { useState } from "preact/hooks";
import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { api } from "../api.js";
import { navigate } from "../router.js";
import { ErrorBox } from "../ui.js";

function parse(text: string): { value?: JsonValue; problem?: string } {
  if (text.trim() === "") return {};
  try {
    return { value: JSON.parse(text) as JsonValue };
  } catch (err) {
    return { problem: (err as Error).message };
  }
}

export function TriggerForm({ workflowId, version }: { workflowId: string; version: number }) {
  const [input, setInput] = useState("{}");
  const [key, setKey] = useState("");
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const parsed = parse(input);
  const submit = async (e: Event) => {
    e.preventDefault();
    if (parsed.problem) return;
    setBusy(true);
    try {
      const res = await api.workflows.triggerWorkflow({
        workflowId,
        version,
        input: parsed.value === undefined ? undefined : fromJson(ValueSchema, parsed.value),
        idempotencyKey: key.trim(),
      });
      navigate(`/runs/${res.runId}`);
    } catch (err) {
      setError(err);
      setBusy(false);
    }
  };
  return (
    <form class="trigger" onSubmit={(e) => void submit(e)}>
      <label>
        Input (JSON)
        <textarea
          name="input"
          rows={6}
          value={input}
          onInput={(e) => setInput(e.currentTarget.value)}
          spellcheck={false}
        />
      </label>
      {parsed.problem && (
        <p class="invalid" role="alert">
          Not JSON: {parsed.problem}
        </p>
      )}
      <label>
        Idempotency key (optional)
        <input name="idempotencyKey" value={key} onInput={(e) => setKey(e.currentTarget.value)} />
      </label>
      <button type="submit" disabled={busy || parsed.problem !== undefined}>
        Trigger v{version}
      </button>
      <ErrorBox error={error} />
    </form>
  );
}
