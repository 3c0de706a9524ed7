/**
 * A run kept current: GetRun and GetRunHistory once, then WatchRun (a
 * server stream over fetch) applies every change as it happens, with a
 * fresh GetRun for outputs after step moves, and a last one when the stream ends. A broken stream is
 * re-opened with backoff while the run is not finished.
 *
 * @example
 *   const { run, events, error, restart } = useLiveRun(runId);
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useState } from "preact/hooks";
import { RunEventType, type Run, type RunEvent } from "../../gen/weft/v1/common_pb.js";
import { api, apiKey, isDisconnect, noteFailure } from "./api.js";
import { useStore } from "./store.js";
import { isFinished } from "./format.js";

export interface LiveRun {
  run: Run | undefined;
  events: RunEvent[];
  error: unknown;
  /** Reads everything again and watches anew (after a retry re-opened the run). */
  restart: () => void;
}

/** Errors that another try would only repeat; a new key restarts the watch. */
const STOPS = new Set([Code.NotFound, Code.InvalidArgument, Code.PermissionDenied, Code.Unauthenticated]);

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => (clearTimeout(t), resolve()), { once: true });
  });

/** The run with one step-status event applied (statuses move before the fresh GetRun lands). */
function applyEvent(run: Run, e: RunEvent): Run {
  if (e.run) return e.run;
  if (e.type === RunEventType.RUN_STATUS) return { ...run, status: e.runStatus };
  if (e.type !== RunEventType.STEP_STATUS) return run;
  const steps = run.steps.map((s) =>
    s.stepId === e.stepId
      ? { ...s, status: e.stepStatus, attempts: Math.max(s.attempts, e.attempt), workerId: e.workerId || s.workerId }
      : s,
  );
  return { ...run, steps };
}

export function useLiveRun(runId: string): LiveRun {
  const [run, setRun] = useState<Run>();
  const [events, setEvents] = useState<RunEvent[]>([]);
  const [error, setError] = useState<unknown>();
  const [generation, setGeneration] = useState(0);
  const key = useStore(apiKey);
  useEffect(() => {
    const abort = new AbortController();
    const { signal } = abort;
    // One GetRun at a time; one asked for meanwhile runs after it, and only the
    // answer of a read that began after the last event is shown (never an older state).
    let pending: Promise<void> | undefined;
    let again = false;
    const refresh = (): Promise<void> => {
      if (pending) {
        again = true;
        return pending;
      }
      pending = (async () => {
        do {
          again = false;
          const r = await api.runs.getRun({ runId }, { signal }).catch(() => undefined);
          if (!again && r?.run && !signal.aborted) setRun(r.run);
        } while (again && !signal.aborted);
        pending = undefined;
      })();
      return pending;
    };
    const add = (e: RunEvent) =>
      setEvents((prev) => (prev.length > 0 && prev[prev.length - 1]!.sequence >= e.sequence ? prev : [...prev, e]));
    const follow = async () => {
      const [{ run: first }, history] = await Promise.all([
        api.runs.getRun({ runId }, { signal }),
        api.runs.getRunHistory({ runId }, { signal }),
      ]);
      setRun(first);
      setEvents(history.events);
      setError(undefined);
      if (!first || isFinished(first.status)) return;
      for await (const { event } of api.runs.watchRun({ runId }, { signal })) {
        if (!event) continue;
        setRun((r) => (r ? applyEvent(r, event) : event.run));
        if (event.type !== RunEventType.SNAPSHOT) add(event);
        if (event.type === RunEventType.STEP_STATUS) void refresh();
      }
      await refresh();
    };
    void (async () => {
      for (let attempt = 0; !signal.aborted; attempt++) {
        try {
          await follow();
          return;
        } catch (err) {
          if (signal.aborted) return;
          noteFailure(err);
          const e = ConnectError.from(err);
          if (!isDisconnect(e)) setError(e);
          if (STOPS.has(e.code)) return;
          await sleep(Math.min(500 * 2 ** attempt, 5000) * (0.8 + Math.random() * 0.4), signal);
        }
      }
    })();
    return () => abort.abort();
  }, [runId, generation, key]);
  return { run, events, error, restart: () => setGeneration((g) => g + 1) };
}
