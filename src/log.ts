/**
 * The process logger: pino, one JSON object per line on stdout, or a short
 * human-readable line per entry with `pretty` (for a terminal).
 *
 * @example
 *   const logger = createLogger({ level: "info" });
 *   logger.info({ port: 8080 }, "weft listening");
 *   const log = logger.child({ reqId: "…" });
 */
import { Writable } from "node:stream";
import { pino, type DestinationStream, type Logger as PinoLogger } from "pino";

/** The logger every part of Weft takes; `child()` adds bound fields. */
export type Logger = PinoLogger;

export interface LoggerOptions {
  /** trace, debug, info, warn, error, fatal or silent. */
  level: string;
  /** Short readable lines instead of JSON. */
  pretty?: boolean;
  /** Where lines go; stdout unless given (tests pass a collector). */
  destination?: DestinationStream;
}

/**
 * Creates the logger. Levels are written as names (`"level":"info"`) and
 * times as ISO strings, so the lines read well in any log store.
 *
 * @example
 *   const logger = createLogger({ level: process.env.LOG_LEVEL ?? "info", pretty: process.stdout.isTTY });
 */
export function createLogger(opts: LoggerOptions): Logger {
  // Synchronous writes: nothing is lost when the process exits right after a line.
  const out =
    opts.destination ?? (opts.pretty ? prettyStream(process.stdout) : pino.destination({ dest: 1, sync: true }));
  return pino(
    {
      level: opts.level,
      base: { pid: process.pid },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    out,
  );
}

/** Turns pino's JSON lines into `12:00:01.234 INFO  message key=value …`. */
function prettyStream(target: NodeJS.WritableStream): DestinationStream {
  return new Writable({
    write(chunk: Buffer, _enc, done) {
      for (const line of chunk.toString("utf8").split("\n")) {
        if (line) target.write(`${prettyLine(line)}\n`);
      }
      done();
    },
  });
}

function prettyLine(line: string): string {
  let entry: Record<string, unknown>;
  try {
    entry = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  const { time, level, msg, pid: _pid, err, ...rest } = entry;
  const clock = typeof time === "string" ? time.slice(11, 23) : "";
  const fields = Object.entries(rest).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
  const stack = err && typeof err === "object" && "stack" in err ? `\n${String(err.stack)}` : "";
  return `${clock} ${String(level).toUpperCase().padEnd(5)} ${String(msg ?? "")} ${fields.join(" ")}`.trimEnd() + stack;
}
