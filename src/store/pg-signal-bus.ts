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
import type { Database } from "./schema.js";
import { Listeners, type SignalBus } from "./signal-bus.js";
import { decodeSignal, encodeSignals, SIGNAL_CHANNEL } from "./signal-codec.js";
import type { StoreSignal } from "./types.js";

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
  const minBackoff = options.minBackoffMs ?? 100;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  const report = options.onError ?? ((error: Error) => process.emitWarning(error, "StoreSignalWarning"));
  let client: pg.Client | undefined;
  let opening: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let failures = 0;
  let closed = false;

  const onNotification = (msg: pg.Notification) => {
    if (msg.channel !== SIGNAL_CHANNEL) return;
    const decoded = decodeSignal(msg.payload);
    // Our own signals were delivered in-process at commit.
    if (decoded !== undefined && decoded.origin !== origin) listeners.deliver([decoded.signal]);
  };

  /** Opens a client and LISTENs; on failure the client is ended and the error thrown. */
  const open = async (): Promise<void> => {
    const next = new pg.Client({ connectionString: options.url, keepAlive: true, connectionTimeoutMillis: 10_000 });
    next.on("notification", onNotification);
    next.on("error", (error) => lost(next, error));
    next.on("end", () => lost(next, new Error("LISTEN connection ended")));
    try {
      await next.connect();
      await next.query(`LISTEN ${SIGNAL_CHANNEL}`);
    } catch (error) {
      next.removeAllListeners("end");
      await next.end().catch(() => undefined);
      throw error;
    }
    if (closed) {
      await next.end();
      return;
    }
    client = next;
  };

  const lost = (which: pg.Client, error: Error) => {
    if (which !== client || closed) return;
    client = undefined;
    report(error);
    which.removeAllListeners("end");
    which.end().catch(() => undefined);
    scheduleReconnect();
  };

  const scheduleReconnect = () => {
    if (closed || retryTimer !== undefined) return;
    const base = Math.min(maxBackoff, minBackoff * 2 ** failures);
    const delay = base / 2 + Math.random() * (base / 2);
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      open().then(
        () => {
          failures = 0;
          if (!closed) listeners.deliver(WAKE_ALL);
        },
        (error: unknown) => {
          failures++;
          report(error instanceof Error ? error : new Error(String(error)));
          scheduleReconnect();
        },
      );
    }, delay);
  };

  return {
    origin,
    get listening() {
      return client !== undefined;
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
      if (client === undefined && retryTimer === undefined) {
        opening ??= open().finally(() => (opening = undefined));
        await opening;
      }
      return listeners.add(listener);
    },
    async close() {
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      retryTimer = undefined;
      await opening?.catch(() => undefined);
      const last = client;
      client = undefined;
      if (last !== undefined) {
        last.removeAllListeners("end");
        await last.end().catch(() => undefined);
      }
    },
  };
}
