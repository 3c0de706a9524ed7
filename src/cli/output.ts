/**
 * How the `weft` client commands print: a table sized to the terminal
 * (the default), JSON (protobuf's canonical JSON, one document), or YAML;
 * colours only on a terminal and never with `NO_COLOR` set.
 *
 * @example
 *   const out = createOutput({ format: "table", stream: process.stdout });
 *   out.table(["ID", "STATUS"], [["r1", out.status("SUCCEEDED")]]);
 *   out.data({ runId: "r1" });
 */
import { stringify } from "yaml";

export type Format = "table" | "json" | "yaml";
export const FORMATS: readonly Format[] = ["table", "json", "yaml"];

export interface Output {
  readonly format: Format;
  /** Whether the stream is a terminal (live views redraw in place only there). */
  readonly tty: boolean;
  /** Terminal width in columns (120 when not a terminal). */
  readonly width: number;
  /** Prints rows under headers, columns padded; the widest column is cut to fit the terminal. */
  table(headers: string[], rows: string[][]): void;
  /** Prints a value as JSON or YAML (in table format: YAML, which reads well). */
  data(value: unknown): void;
  /** Prints one line as it is. */
  line(text: string): void;
  /** A status word, coloured by meaning on a terminal. */
  status(name: string): string;
  /** Dimmed text on a terminal. */
  dim(text: string): string;
}

const GREEN = 32;
const RED = 31;
const YELLOW = 33;
const CYAN = 36;

/** The colour of a status word: done well, done badly, under way, or waiting. */
function statusColour(name: string): number | undefined {
  if (name === "SUCCEEDED") return GREEN;
  if (name === "FAILED" || name === "TIMED_OUT" || name === "CANCELLED") return RED;
  if (name === "RUNNING") return YELLOW;
  if (name === "QUEUED") return CYAN;
  return undefined;
}

/** Visible length of a string that may hold ANSI colour codes. */
export function visibleLength(text: string): number {
  return text.replace(/\x1b\[[0-9;]*m/g, "").length;
}

/**
 * Creates the printer for one command run.
 *
 * @example
 *   const out = createOutput({ format: "json", stream: process.stdout, env: {} });
 */
export function createOutput(opts: { format: Format; stream: NodeJS.WriteStream; env?: NodeJS.ProcessEnv }): Output {
  const { format, stream } = opts;
  const tty = stream.isTTY === true;
  const colour = tty && !(opts.env ?? process.env).NO_COLOR;
  const paint = (code: number | undefined, text: string): string =>
    colour && code !== undefined ? `\x1b[${code}m${text}\x1b[0m` : text;
  const width = tty && stream.columns ? stream.columns : 120;
  const write = (text: string): void => void stream.write(`${text}\n`);
  return {
    format,
    tty,
    width,
    table(headers, rows) {
      const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => visibleLength(r[i] ?? ""))));
      const total = widths.reduce((a, b) => a + b, 0) + 2 * (widths.length - 1);
      if (tty && total > width) {
        const widest = widths.indexOf(Math.max(...widths));
        widths[widest] = Math.max(8, widths[widest]! - (total - width));
      }
      const cell = (text: string, i: number): string => {
        const w = widths[i]!;
        const shown = visibleLength(text) > w ? `${text.slice(0, w - 1)}…` : text;
        return i === widths.length - 1 ? shown : shown + " ".repeat(Math.max(0, w - visibleLength(shown)));
      };
      write(paint(undefined, headers.map(cell).join("  ")));
      for (const row of rows) write(row.map(cell).join("  ").trimEnd());
    },
    data(value) {
      if (format === "json") write(JSON.stringify(value, null, 2));
      else stream.write(stringify(value, { lineWidth: 0 }));
    },
    line: write,
    status: (name) => paint(statusColour(name), name),
    dim: (text) => (colour ? `\x1b[2m${text}\x1b[0m` : text),
  };
}

/**
 * A duration in the shortest readable form: `850ms`, `12.3s`, `4m05s`, `2h10m`.
 *
 * @example
 *   formatDuration(65_000); // "1m05s"
 */
export function formatDuration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1_000).toFixed(1)}s`;
  const s = Math.floor(ms / 1_000);
  if (s < 3_600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3_600)}h${String(Math.floor((s % 3_600) / 60)).padStart(2, "0")}m`;
}
