/**
 * Loading data from the server in a component: the result, the error, and
 * a reload; polling for the pages that stay live.
 *
 * @example
 *   const { data, error } = useCall(() => api.workers.listWorkers({}), [], { pollMs: 2000 });
 */
import { Code, ConnectError } from "@connectrpc/connect";
import { useEffect, useRef, useState } from "preact/hooks";
import { apiKey, noteFailure } from "./api.js";
import { useStore } from "./store.js";

export interface CallState<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  reload: () => void;
}

export function useCall<T>(fn: (signal: AbortSignal) => Promise<T>, deps: unknown[], opts: { pollMs?: number } = {}) {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  // A key typed into the prompt reads everything again.
  const key = useStore(apiKey);
  const fnRef = useRef(fn);
  fnRef.current = fn;
  useEffect(() => {
    setState((s) => ({ ...s, data: undefined, error: undefined, loading: true }));
  }, deps);
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const load = () => {
      // A hidden tab does not poll; it reads again once shown.
      if (timer !== undefined && document.hidden) {
        timer = setTimeout(load, opts.pollMs);
        return;
      }
      fnRef.current(abort.signal).then(
        (data) => {
          if (abort.signal.aborted) return;
          setState({ data, error: undefined, loading: false });
          if (opts.pollMs) timer = setTimeout(load, opts.pollMs);
        },
        (error: unknown) => {
          if (abort.signal.aborted) return;
          noteFailure(error);
          setState((s) => ({ data: s.data, error, loading: false }));
          // Without a key only the prompt helps; a new key starts loading again.
          const unauthenticated = ConnectError.from(error).code === Code.Unauthenticated;
          if (opts.pollMs && !unauthenticated) timer = setTimeout(load, opts.pollMs * 2);
        },
      );
    };
    load();
    return () => {
      abort.abort();
      clearTimeout(timer);
    };
  }, [...deps, tick, key]);
  return { ...state, reload: () => setTick((t) => t + 1) } as CallState<T>;
}

/** The current time, every `everyMs` (for running durations). */
export function useNow(everyMs = 1000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(t);
  }, [everyMs]);
  return now;
}
