/**
 * `StoreSignal`s as NOTIFY payloads, and back.
 *
 * A payload is JSON `{"o": origin, "k": kind, ...}`; `o` names the sending
 * store instance so it can skip its own signals (it delivered them in-process
 * already). Postgres refuses payloads of 8,000 bytes or more, so long lists
 * (run ids, cancelled tasks) are split over several payloads of at most
 * {@link MAX_PAYLOAD_BYTES}; bigint lease tokens travel as strings. A
 * `queued` signal names its actions (`a`) when they fit in one payload, and
 * otherwise names none, which wakes every dispatcher (as a payload from a
 * replica that does not name them does).
 */
import type { RunningTaskRef, StoreSignal } from "../types.js";

/** The NOTIFY channel every replica listens on. */
export const SIGNAL_CHANNEL = "weft";
/** Largest payload sent (Postgres' limit is 8,000 bytes with the default block size). */
export const MAX_PAYLOAD_BYTES = 7_900;
/** Longest cancel reason carried (in characters; at most 4 bytes each). */
const MAX_REASON_CHARS = 1_000;

type WireTask = { t: string; w?: string; l: string };

/** Splits `items` into groups whose JSON list, plus `overhead` bytes, stays under the limit. */
function chunkBySize<T>(items: readonly T[], overhead: number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let size = overhead;
  for (const item of items) {
    const bytes = Buffer.byteLength(JSON.stringify(item)) + 1;
    if (current.length > 0 && size + bytes > MAX_PAYLOAD_BYTES) {
      chunks.push(current);
      current = [];
      size = overhead;
    }
    current.push(item);
    size += bytes;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}

/**
 * The payloads carrying `signals`, each under {@link MAX_PAYLOAD_BYTES}.
 * A `run` signal with no ids (meaning "every run") stays one payload.
 *
 * @example
 * ```ts
 * const payloads = encodeSignals(origin, [{ kind: "run", runIds }]); // one per ~190 run ids
 * ```
 */
export function encodeSignals(origin: string, signals: readonly StoreSignal[]): string[] {
  const payloads: string[] = [];
  for (const s of signals) {
    if (s.kind === "queued") {
      const named = s.actions && JSON.stringify({ o: origin, k: "queued", a: s.actions });
      payloads.push(
        named && Buffer.byteLength(named) <= MAX_PAYLOAD_BYTES ? named : JSON.stringify({ o: origin, k: "queued" }),
      );
    } else if (s.kind === "run") {
      const overhead = Buffer.byteLength(JSON.stringify({ o: origin, k: "run", r: [] }));
      const chunks = s.runIds.length === 0 ? [[]] : chunkBySize(s.runIds, overhead);
      for (const r of chunks) payloads.push(JSON.stringify({ o: origin, k: "run", r }));
    } else {
      const reason = s.reason.length > MAX_REASON_CHARS ? `${s.reason.slice(0, MAX_REASON_CHARS)}…` : s.reason;
      const tasks: WireTask[] = s.tasks.map((t) => ({
        t: t.taskId,
        ...(t.workerId ? { w: t.workerId } : {}),
        l: String(t.leaseToken),
      }));
      const overhead = Buffer.byteLength(JSON.stringify({ o: origin, k: "cancel", why: reason, t: [] }));
      for (const t of chunkBySize(tasks, overhead))
        payloads.push(JSON.stringify({ o: origin, k: "cancel", why: reason, t }));
    }
  }
  return payloads;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function decodeTask(v: unknown): RunningTaskRef | undefined {
  if (!isRecord(v) || typeof v.t !== "string" || typeof v.l !== "string" || !/^\d+$/.test(v.l)) return undefined;
  const ref: RunningTaskRef = { taskId: v.t, leaseToken: BigInt(v.l) };
  if (typeof v.w === "string") ref.workerId = v.w;
  return ref;
}

/**
 * A payload's origin and signal; `undefined` for anything malformed (a
 * foreign NOTIFY on the channel must not break the listener).
 *
 * @example
 * ```ts
 * const decoded = decodeSignal(msg.payload);
 * if (decoded && decoded.origin !== myOrigin) deliver(decoded.signal);
 * ```
 */
export function decodeSignal(payload: string | undefined): { origin: string; signal: StoreSignal } | undefined {
  if (payload === undefined) return undefined;
  let v: unknown;
  try {
    v = JSON.parse(payload);
  } catch {
    return undefined;
  }
  if (!isRecord(v) || typeof v.o !== "string") return undefined;
  const origin = v.o;
  if (v.k === "queued") {
    const named = Array.isArray(v.a) && v.a.every((a) => typeof a === "string");
    return { origin, signal: named ? { kind: "queued", actions: v.a as string[] } : { kind: "queued" } };
  }
  if (v.k === "run" && Array.isArray(v.r) && v.r.every((id) => typeof id === "string")) {
    return { origin, signal: { kind: "run", runIds: v.r as string[] } };
  }
  if (v.k === "cancel" && typeof v.why === "string" && Array.isArray(v.t)) {
    const tasks = v.t.map(decodeTask);
    if (tasks.some((t) => t === undefined)) return undefined;
    return { origin, signal: { kind: "cancel", reason: v.why, tasks: tasks as RunningTaskRef[] } };
  }
  return undefined;
}
