/**
 * The worker process of the bench (forked by `workers.ts`): SDK `Worker`s
 * with no-op handlers, and the measurements only a worker can take.
 *
 * Actions:
 * - `bench.noop` returns at once. When the run input carries `t` (the
 *   trigger's send time, `wallNow()` of the bench process), the handler
 *   start and the accepted ack are timed against it.
 * - `bench.hold` waits until the parent sends `release` (S6: streams that
 *   hold a task and heartbeat).
 * - `bench.flaky` (SOAK) returns null, except that 1 % of its tasks, chosen
 *   by a hash of run id and step id, fail their first attempt with a
 *   retryable error. Its successes are counted per step id.
 *
 * Talks to the parent over IPC (`WorkerRequest` in, `WorkerReply` out).
 */
import { TaskError, Worker } from "../../sdk/index.js";
import { wallNow } from "./clock.js";

export type WorkerRequest =
  | {
      type: "start";
      id: number;
      address: string;
      workers: number;
      slots: number;
      recordAcks: boolean;
      recordRuns: boolean;
      heartbeatCheck?: boolean;
    }
  | { type: "clock"; id: number }
  | { type: "stats"; id: number }
  | { type: "collect"; id: number }
  | { type: "release"; id: number }
  | { type: "stop"; id: number };

export interface WorkerStats {
  accepted: number;
  refused: number;
  started: number;
  holding: number;
  connected: number;
  /** `bench.flaky` attempts that failed on purpose. */
  flakyFailed: number;
  /** Accepted successful results of `bench.flaky`, per step id. */
  flakySucceeded: Record<string, number>;
}

export interface WorkerCollection extends WorkerStats {
  /** Worker clock of each accepted ack, in order (when `recordAcks`). */
  ackTimes: number[];
  /** Handler start − trigger send time, ms. */
  startLatency: number[];
  /** Accepted ack − trigger send time, ms. */
  succeededLatency: number[];
  /** Per run: last accepted ack − trigger send time (when `recordRuns`). */
  runLatency: number[];
  firstStartAt: number;
  lastAckAt: number;
}

export type WorkerReply = { id: number; error?: string } & Record<string, unknown>;

const workers: Worker[] = [];
let recordAcks = false;
let recordRuns = false;
let stats: WorkerStats = {
  accepted: 0,
  refused: 0,
  started: 0,
  holding: 0,
  connected: 0,
  flakyFailed: 0,
  flakySucceeded: {},
};
let ackTimes: number[] = [];
let startLatency: number[] = [];
let succeededLatency: number[] = [];
let runs = new Map<string, { t: number; lastAck: number }>();
let firstStartAt = Number.NaN;
let lastAckAt = Number.NaN;
/** task id → run id and trigger time, from handler start to its ack. */
const open = new Map<string, { runId: string; t: number | undefined; startedAt: number; flakyStep?: string }>();
/** For refused results: handler start → refusal, and trigger → handler start (ms), to see where a lost lease's time went. */
const refusedTimes: { startToAck: number[]; triggerToStart: number[] } = { startToAck: [], triggerToStart: [] };
/** Why results were refused (stale token, run over, …): reason → count. */
const refusedReasons: Record<string, number> = {};
let release: () => void = () => undefined;
let released = new Promise<void>((r) => (release = r));

function sendTime(input: unknown): number | undefined {
  const t = (input as { input?: { t?: unknown } } | null)?.input?.t;
  return typeof t === "number" ? t : undefined;
}

/** FNV-1a of run id and step id, so the failing 1 % is the same whoever runs the task. */
function failsOnce(runId: string, stepId: string): boolean {
  let h = 0x811c9dc5;
  for (const ch of `${runId}/${stepId}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193);
  return (h >>> 0) % 100 === 0;
}

function makeWorker(address: string, name: string, slots: number): Worker {
  // BENCH_OWN_CONNECTIONS=1: each Worker on a connection of its own (the SDK's default shares one per process).
  const shareConnection = process.env.BENCH_OWN_CONNECTIONS !== "1";
  const w = new Worker({
    address,
    name,
    slots,
    logger: () => undefined,
    drainGraceMs: 2_000,
    ackWaitMs: 5_000,
    shareConnection,
    ...(process.env.BENCH_WORKER_KEY ? { headers: { authorization: `Bearer ${process.env.BENCH_WORKER_KEY}` } } : {}),
  });
  w.register("bench.noop", (input, ctx) => {
    const now = wallNow();
    if (Number.isNaN(firstStartAt)) firstStartAt = now;
    stats.started++;
    const t = sendTime(input);
    if (t !== undefined) startLatency.push(now - t);
    open.set(ctx.taskId, { runId: ctx.runId, t, startedAt: now });
    return null;
  });
  w.register("bench.flaky", (_input, ctx) => {
    stats.started++;
    if (ctx.attempt === 1 && failsOnce(ctx.runId, ctx.stepId)) {
      stats.flakyFailed++;
      throw TaskError.retryable("BENCH_FLAKY", "fails once on purpose");
    }
    open.set(ctx.taskId, { runId: ctx.runId, t: undefined, startedAt: wallNow(), flakyStep: ctx.stepId });
    return null;
  });
  w.register("bench.hold", async () => {
    stats.holding++;
    await released;
    stats.holding--;
    return null;
  });
  w.on("ack", (a) => {
    const now = wallNow();
    const o = open.get(a.taskId);
    open.delete(a.taskId);
    if (!a.accepted) {
      stats.refused++;
      const why = a.reason.replace(/\d+/g, "N");
      refusedReasons[why] = (refusedReasons[why] ?? 0) + 1;
      if (o) {
        refusedTimes.startToAck.push(Math.round(now - o.startedAt));
        if (o.t !== undefined) refusedTimes.triggerToStart.push(Math.round(o.startedAt - o.t));
      }
      return;
    }
    stats.accepted++;
    lastAckAt = now;
    if (o?.flakyStep !== undefined) stats.flakySucceeded[o.flakyStep] = (stats.flakySucceeded[o.flakyStep] ?? 0) + 1;
    if (recordAcks) ackTimes.push(now);
    if (o?.t !== undefined) {
      succeededLatency.push(now - o.t);
      if (recordRuns) {
        const r = runs.get(o.runId);
        if (r) r.lastAck = Math.max(r.lastAck, now);
        else runs.set(o.runId, { t: o.t, lastAck: now });
      }
    }
  });
  w.on("connected", () => stats.connected++);
  w.on("disconnected", () => stats.connected--);
  return w;
}

function summarizeTimes(): Record<string, number[]> {
  // min / median / max, ms
  const mmm = (xs: number[]) => {
    const v = [...xs].sort((a, b) => a - b);
    return v.length === 0 ? [] : [v[0]!, v[Math.floor(v.length / 2)]!, v.at(-1)!];
  };
  return { startToAck: mmm(refusedTimes.startToAck), triggerToStart: mmm(refusedTimes.triggerToStart) };
}

async function handle(msg: WorkerRequest): Promise<Record<string, unknown>> {
  switch (msg.type) {
    case "start": {
      recordAcks = msg.recordAcks;
      recordRuns = msg.recordRuns;
      const created = Array.from({ length: msg.workers }, (_, i) =>
        makeWorker(msg.address, `bench-${process.pid}-${i}`, msg.slots),
      );
      // Connect in waves, so a thousand streams do not all handshake at once.
      for (let i = 0; i < created.length; i += 50) {
        await Promise.all(created.slice(i, i + 50).map((w) => w.start()));
      }
      workers.push(...created);
      return { workers: workers.length };
    }
    case "clock":
      return { now: wallNow() };
    case "stats":
      return { ...stats, refusedReasons, ...(stats.refused > 0 ? { refusedTimes: summarizeTimes() } : {}) };
    case "collect": {
      const out: WorkerCollection = {
        ...stats,
        ackTimes,
        startLatency,
        succeededLatency,
        runLatency: [...runs.values()].map((r) => r.lastAck - r.t),
        firstStartAt,
        lastAckAt,
      };
      stats = { ...stats, accepted: 0, refused: 0, started: 0, flakyFailed: 0, flakySucceeded: {} };
      ackTimes = [];
      startLatency = [];
      succeededLatency = [];
      runs = new Map();
      firstStartAt = Number.NaN;
      lastAckAt = Number.NaN;
      return out as unknown as Record<string, unknown>;
    }
    case "release": {
      release();
      released = new Promise<void>((r) => (release = r));
      return {};
    }
    case "stop": {
      release();
      await Promise.all(workers.map((w) => w.stop()));
      workers.length = 0;
      return {};
    }
  }
}

process.on("message", (msg: WorkerRequest) => {
  handle(msg).then(
    (reply) => process.send!({ ...reply, id: msg.id }),
    (err: unknown) =>
      process.send!({ id: msg.id, error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
  );
});
// The bench went away: nothing left to measure.
process.on("disconnect", () => process.exit(0));
process.send!({ id: 0, ready: true });
