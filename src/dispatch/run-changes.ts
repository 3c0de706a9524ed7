/**
 * Wakes `WatchRun` streams when their run changes, on any replica (store
 * signals of kind `run`). Waiters also time out, so a lost signal only delays.
 *
 * @example
 *   const changes = createRunChanges();
 *   store.onSignal((s) => s.kind === "run" && changes.notify(s.runIds));
 *   await changes.wait(runId, 1000, ctx.signal);
 */
export interface RunChanges {
  /** Resolves when the run changes, after `timeoutMs`, or when `signal` aborts. */
  wait(runId: string, timeoutMs: number, signal?: AbortSignal): Promise<void>;
  /** An empty list wakes every waiter. */
  notify(runIds: string[]): void;
}

export function createRunChanges(): RunChanges {
  const waiters = new Map<string, Set<() => void>>();
  return {
    wait(runId, timeoutMs, signal) {
      return new Promise<void>((resolve) => {
        let set = waiters.get(runId);
        if (!set) waiters.set(runId, (set = new Set()));
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", done);
          set.delete(done);
          if (set.size === 0) waiters.delete(runId);
          resolve();
        };
        const timer = setTimeout(done, timeoutMs);
        signal?.addEventListener("abort", done, { once: true });
        set.add(done);
      });
    },
    notify(runIds) {
      const ids = runIds.length > 0 ? runIds : [...waiters.keys()];
      for (const id of ids) for (const w of [...(waiters.get(id) ?? [])]) w();
    },
  };
}
