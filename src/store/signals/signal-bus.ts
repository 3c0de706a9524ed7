/**
 * How store mutations tell every replica what changed.
 *
 * A mutation computes its `StoreSignal`s, embeds `payloads(signals)` as
 * `pg_notify` calls in its own transaction (so Postgres delivers them exactly
 * when the change commits, and never for a rolled-back one), and calls
 * `committed(signals)` after the commit to wake this process's listeners at
 * once. Two buses:
 * - in-process ({@link createLocalSignalBus}): PGlite, one process, no NOTIFY;
 * - Postgres (`pg-signal-bus.ts`): NOTIFY in the transaction, a LISTEN
 *   connection receiving the other replicas' payloads.
 */
import type { Kysely } from "kysely";
import type { Database } from "../db/schema.js";
import type { StoreSignal } from "../types.js";

export interface SignalBus {
  /** Tags this instance's payloads; `undefined` when signals stay in-process (no NOTIFY). */
  readonly origin: string | undefined;
  /** NOTIFY payloads to send inside the mutation's transaction (empty when in-process). */
  payloads(signals: readonly StoreSignal[]): string[];
  /** After a commit: delivers the signals to this process's listeners. Never throws. */
  committed(signals: readonly StoreSignal[]): void;
  /** Sends one signal to every replica outside any transaction. */
  send(db: Kysely<Database>, signal: StoreSignal): Promise<void>;
  /** Adds a listener; resolves once it will hear other replicas too. Returns the unsubscribe function. */
  subscribe(listener: (s: StoreSignal) => void): Promise<() => void>;
  /** Stops listening (ends the LISTEN connection). */
  close(): Promise<void>;
}

/**
 * Listeners, called one by one; a throwing listener is reported as a process
 * warning and does not stop the others (nor fail the committed mutation).
 *
 * @example
 * ```ts
 * const listeners = new Listeners();
 * const off = listeners.add((s) => console.log(s.kind));
 * listeners.deliver([{ kind: "queued" }]);
 * ```
 */
export class Listeners {
  readonly #set = new Set<(s: StoreSignal) => void>();

  get size(): number {
    return this.#set.size;
  }

  add(listener: (s: StoreSignal) => void): () => void {
    // A wrapper, so the same function subscribed twice is two subscriptions.
    const entry = (s: StoreSignal) => listener(s);
    this.#set.add(entry);
    return () => this.#set.delete(entry);
  }

  deliver(signals: readonly StoreSignal[]): void {
    for (const signal of signals) {
      for (const listener of [...this.#set]) {
        try {
          listener(signal);
        } catch (error) {
          process.emitWarning(error instanceof Error ? error : new Error(String(error)), "StoreSignalListenerWarning");
        }
      }
    }
  }
}

/**
 * The in-process bus (PGlite: one process owns the database).
 *
 * @example
 * ```ts
 * const store = new KyselyStore(db, undefined, { signals: createLocalSignalBus() });
 * ```
 */
export function createLocalSignalBus(): SignalBus {
  const listeners = new Listeners();
  return {
    origin: undefined,
    payloads: () => [],
    committed: (signals) => listeners.deliver(signals),
    send(_db, signal) {
      listeners.deliver([signal]);
      return Promise.resolve();
    },
    subscribe: (listener) => Promise.resolve(listeners.add(listener)),
    close: () => Promise.resolve(),
  };
}
