/**
 * Appends audit events in batches: a call hands its event over and goes on;
 * the writer inserts what gathered every `flushMs` in one statement. An
 * insert that fails (the database away) keeps its rows and tries again on
 * the next tick, up to `maxBuffered` rows (then the oldest are dropped, with
 * an error logged). `close()` writes what is left. So the audit trail costs
 * a call no database round trip; a process that is killed loses at most its
 * last `flushMs` of events.
 *
 * @example
 *   const audit = createAuditWriter({ append: (rows) => store.access.appendAudit(rows), logger });
 *   audit.write({ procedure, outcome: "ok", keyId, role });
 *   await audit.close();
 */
import type { NewAuditEvent } from "../store/index.js";
import type { Logger } from "../log.js";

export interface AuditWriter {
  write(event: NewAuditEvent): void;
  /** Writes what is buffered now; resolves when it is durable (or failed). */
  flush(): Promise<void>;
  close(): Promise<void>;
}

export interface AuditWriterOptions {
  append: (events: NewAuditEvent[]) => Promise<void>;
  logger: Logger;
  /** Default 50 ms. */
  flushMs?: number;
  /** Default 10,000 rows. */
  maxBuffered?: number;
}

/**
 * @example
 *   createAuditWriter({ append: async () => {}, logger }).write({ procedure: "/x", outcome: "ok" });
 */
export function createAuditWriter(opts: AuditWriterOptions): AuditWriter {
  const flushMs = opts.flushMs ?? 50;
  const maxBuffered = opts.maxBuffered ?? 10_000;
  let buffer: NewAuditEvent[] = [];
  let timer: NodeJS.Timeout | undefined;
  let writing: Promise<void> | undefined;
  let failing = false;

  const flush = async (): Promise<void> => {
    while (writing !== undefined) await writing;
    if (buffer.length === 0) return;
    const rows = buffer;
    buffer = [];
    writing = opts
      .append(rows)
      .then(() => {
        if (failing) opts.logger.info({ rows: rows.length }, "audit trail: writing again");
        failing = false;
      })
      .catch((err: unknown) => {
        if (!failing) opts.logger.warn({ err: String(err) }, "audit trail: could not write; keeping the events");
        failing = true;
        buffer = rows.concat(buffer);
        const over = buffer.length - maxBuffered;
        if (over > 0) {
          buffer = buffer.slice(over);
          opts.logger.error({ dropped: over }, "audit trail: buffer full, oldest events dropped");
        }
        schedule();
      })
      .finally(() => {
        writing = undefined;
      });
    await writing;
  };

  function schedule(): void {
    if (timer !== undefined) return;
    timer = setTimeout(() => {
      timer = undefined;
      void flush();
    }, flushMs);
    timer.unref();
  }

  return {
    write(event) {
      buffer.push(event);
      schedule();
    },
    flush,
    async close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await flush();
    },
  };
}
