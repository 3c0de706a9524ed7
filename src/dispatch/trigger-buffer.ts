/**
 * Group commit for triggers: `TriggerWorkflow` calls that arrive while the
 * store is busy with earlier ones are started together, in one
 * `triggerRuns` transaction, instead of one transaction each. There is no window: an idle server starts a call at once (in the
 * same turn of the event loop), so batching costs no latency; calls only
 * queue while `concurrency` trigger transactions are already in flight.
 * Every caller is answered after the commit that holds its runs.
 *
 * A batch that fails with a data error (SQLSTATE class 22 or 23: one
 * caller's input was refused, and the transaction surely did not commit)
 * is retried caller by caller, so a bad input fails only its own call.
 * Any other failure (connection lost, perhaps during COMMIT) goes to every
 * caller of the batch unchanged: retrying it here could start runs twice.
 *
 * S4's profile chose it: with one trigger per transaction, most of the
 * pool's connection time was an open trigger transaction waiting for the
 * server's next statement (docs/benchmarks.md#trigger-path).
 *
 * @example
 *   const triggers = createTriggerBuffer({ trigger: (i) => store.triggerRuns(i), maxBatch: 1000, concurrency: 4 });
 *   const [result] = await triggers.submit([{ workflowId: "billing", input: {} }]);
 */
import type { TriggerInput, TriggerResult } from "../store/index.js";

export interface TriggerBuffer {
  /** Starts `inputs` (one caller's triggers); results in input order, after the commit. */
  submit(inputs: TriggerInput[]): Promise<TriggerResult[]>;
}

interface Group {
  inputs: TriggerInput[];
  resolve: (r: TriggerResult[]) => void;
  reject: (e: unknown) => void;
}

/** A refusal of the data itself: the transaction rolled back, retrying alone is safe. */
function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^2[23]/.test(code);
}

export function createTriggerBuffer(opts: {
  trigger: (inputs: TriggerInput[]) => Promise<TriggerResult[]>;
  /** Triggers per transaction at most (a larger single call still goes alone, whole). */
  maxBatch: number;
  /** Trigger transactions in flight at once (Postgres: a few; PGlite: 1). */
  concurrency: number;
}): TriggerBuffer {
  const pending: Group[] = [];
  let running = 0;
  let scheduled = false;

  const settle = (groups: Group[], results: TriggerResult[]): void => {
    let at = 0;
    for (const g of groups) {
      g.resolve(results.slice(at, at + g.inputs.length));
      at += g.inputs.length;
    }
  };

  const run = async (groups: Group[]): Promise<void> => {
    try {
      settle(groups, await opts.trigger(groups.flatMap((g) => g.inputs)));
    } catch (err) {
      if (groups.length === 1 || !isDataError(err)) {
        for (const g of groups) g.reject(err);
        return;
      }
      for (const g of groups) {
        await opts.trigger(g.inputs).then(g.resolve, g.reject);
      }
    }
  };

  const flush = (): void => {
    scheduled = false;
    while (pending.length > 0 && running < opts.concurrency) {
      const groups: Group[] = [];
      let rows = 0;
      while (pending.length > 0 && (groups.length === 0 || rows + pending[0]!.inputs.length <= opts.maxBatch)) {
        const g = pending.shift()!;
        groups.push(g);
        rows += g.inputs.length;
      }
      running++;
      void run(groups).finally(() => {
        running--;
        flush();
      });
    }
  };

  return {
    submit(inputs) {
      return new Promise<TriggerResult[]>((resolve, reject) => {
        pending.push({ inputs, resolve, reject });
        // Calls made in the same turn (e.g. a burst of requests read together) share the first flush.
        if (!scheduled && running < opts.concurrency) {
          scheduled = true;
          queueMicrotask(flush);
        }
      });
    },
  };
}
