/**
 * Signals between replicas over Postgres LISTEN/NOTIFY.
 *
 * Sending: mutations embed `pg_notify('weft', payload)` in their transaction
 * (see `signal-bus.ts`), so a signal leaves exactly when its change commits.
 *
 * Receiving: one dedicated `pg.Client` (a session connection: LISTEN does not
 * survive a transaction-mode pooler) runs `LISTEN weft`. If it drops
 * (Postgres restart, network, `pg_terminate_backend`), it reconnects with
 * capped exponential backoff and jitter, forever until `close()`; after a
 * reconnect it delivers a wake-all (`queued` and `run` with no ids), because
 * signals sent while it was away are lost and the listeners must look again.
 * The connection is opened by the first `subscribe`, which fails when it
 * cannot be opened (a replica that cannot hear wake-ups should not start).
 */
import { randomUUID } from "node:crypto";
import { sql, type Kysely } from "kysely";
import pg from "pg";
import type { Database } from "../db/schema.js";
import { Listeners, type SignalBus } from "./signal-bus.js";
import { decodeSignal, encodeSignals, SIGNAL_CHANNEL } from "./signal-codec.js";
import type { StoreSignal } from "../types.js";

export interface PgSignalBusOptions {
  /** The database URL (the listener opens its own connection). */
  url: string;
  /** First reconnect delay (ms, default 100); doubles up to `maxBackoffMs`. */
  minBackoffMs?: number;
  /** Longest reconnect delay (ms, default 5,000). */
  maxBackoffMs?: number;
  /** Reports a lost connection or a failed reconnect (default: a process warning). */
  onError?: (error: Error) => void;
}

/** What a reconnected listener delivers: look for work and re-read every watched run. */
const WAKE_ALL: StoreSignal[] = [{ kind: "queued" }, { kind: "run", runIds: [] }];

/**
 * A bus over NOTIFY with a reconnecting LISTEN connection.
 *
 * @example
 * ```ts
 * const bus = createPgSignalBus({ url });
 * const off = await bus.subscribe((s) => s.kind === "queued" && dispatcher.wake());
 * ```
 */
export function createPgSignalBus(options: PgSignalBusOptions): SignalBus & { readonly listening: boolean } {
  const origin = randomUUID();
  const listeners = new Listeners();
  let closed = false;
  const connection = new ListenConnection(options, {
    notified: (payload) => {
      const decoded = decodeSignal(payload);
      // Our own signals were delivered in-process at commit.
      if (decoded !== undefined && decoded.origin !== origin) listeners.deliver([decoded.signal]);
    },
    reconnected: () => listeners.deliver(WAKE_ALL),
  });
  return {
    origin,
    get listening() {
      return connection.listening;
    },
    payloads: (signals) => encodeSignals(origin, signals),
    committed: (signals) => listeners.deliver(signals),
    async send(db: Kysely<Database>, signal: StoreSignal) {
      const payloads = encodeSignals(origin, [signal]);
      await sql`select pg_notify(${SIGNAL_CHANNEL}, p) from jsonb_array_elements_text(cast(${JSON.stringify(payloads)} as jsonb)) as t(p)`.execute(
        db,
      );
      listeners.deliver([signal]);
    },
    async subscribe(listener) {
      if (closed) throw new Error("the signal bus is closed");
      await connection.start();
      return listeners.add(listener);
    },
    async close() {
      closed = true;
      await connection.close();
    },
  };
}

/**
 * The one session connection that runs `LISTEN weft`: opened by `start()`,
 * reopened with capped exponential backoff and jitter whenever it is lost,
 * until `close()`.
 */
class ListenConnection {
  #client: pg.Client | undefined;
  #opening: Promise<void> | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #failures = 0;
  #closed = false;
  readonly #minBackoff: number;
  readonly #maxBackoff: number;
  readonly #report: (error: Error) => void;

  constructor(
    private readonly options: PgSignalBusOptions,
    private readonly on: { notified: (payload: string | undefined) => void; reconnected: () => void },
  ) {
    this.#minBackoff = options.minBackoffMs ?? 100;
    this.#maxBackoff = options.maxBackoffMs ?? 5_000;
    this.#report = options.onError ?? ((error: Error) => process.emitWarning(error, "StoreSignalWarning"));
  }

  get listening(): boolean {
    return this.#client !== undefined;
  }

  /** Opens the connection unless it is open or a reconnect is due; rejects when it cannot be opened. */
  async start(): Promise<void> {
    if (this.#client === undefined && this.#retryTimer === undefined) {
      this.#opening ??= this.#open().finally(() => (this.#opening = undefined));
      await this.#opening;
    }
  }

  async close(): Promise<void> {
    this.#closed = true;
    if (this.#retryTimer !== undefined) clearTimeout(this.#retryTimer);
    this.#retryTimer = undefined;
    await this.#opening?.catch(() => undefined);
    const last = this.#client;
    this.#client = undefined;
    if (last !== undefined) {
      last.removeAllListeners("end");
      await last.end().catch(() => undefined);
    }
  }

  /** Opens a client and LISTENs; on failure the client is ended and the error thrown. */
  async #open(): Promise<void> {
    const next = new pg.Client({
      connectionString: this.options.url,
      keepAlive: true,
      connectionTimeoutMillis: 10_000,
    });
    next.on("notification", (msg: pg.Notification) => {
      if (msg.channel === SIGNAL_CHANNEL) this.on.notified(msg.payload);
    });
    next.on("error", (error) => this.#lost(next, error));
    next.on("end", () => this.#lost(next, new Error("LISTEN connection ended")));
    try {
      await next.connect();
      await next.query(`LISTEN ${SIGNAL_CHANNEL}`);
    } catch (error) {
      next.removeAllListeners("end");
      await next.end().catch(() => undefined);
      throw error;
    }
    if (this.#closed) {
      await next.end();
      return;
    }
    this.#client = next;
  }

  #lost(which: pg.Client, error: Error): void {
    if (which !== this.#client || this.#closed) return;
    this.#client = undefined;
    this.#report(error);
    which.removeAllListeners("end");
    which.end().catch(() => undefined);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    if (this.#closed || this.#retryTimer !== undefined) return;
    const base = Math.min(this.#maxBackoff, this.#minBackoff * 2 ** this.#failures);
    const delay = base / 2 + Math.random() * (base / 2);
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = undefined;
      this.#open().then(
        () => {
          this.#failures = 0;
          // Signals sent while it was away are lost: the listeners must look again.
          if (!this.#closed) this.on.reconnected();
        },
        (error: unknown) => {
          this.#failures++;
          this.#report(error instanceof Error ? error : new Error(String(error)));
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }
}
