/**
 * The worker SDK against a fake WorkerService: a scripted Connect handler on
 * a real HTTP/2 (h2c) server, so every test crosses the wire and the gRPC
 * framing. The real control plane is exercised in test/e2e.
 */
import * as http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import {
  ServerMessageSchema,
  type TaskSchema,
  WorkerService,
  type Hello,
  type ServerMessage,
  type TaskResult,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import { createChannel } from "../../sdk/channel.js";
import { createBackoff } from "../../sdk/backoff.js";
import {
  TaskError,
  Worker,
  jsonToValue,
  toTaskError,
  valueToJson,
  type TaskContext,
  type WorkerOptions,
} from "../../sdk/index.js";

// ─── the fake WorkerService ──────────────────────────────────────────────

interface FakeStream {
  hello: Hello;
  /** Everything after the hello, in order, with arrival times. */
  received: WorkerMessage[];
  receivedAt: number[];
  /** Set when the worker's side broke off (aborted) instead of ending. */
  readError?: unknown;
  send(msg: MessageInitShape<typeof ServerMessageSchema>["msg"]): void;
  task(init: MessageInitShape<typeof TaskSchema>): void;
  /** End the stream with UNAVAILABLE, like a crashing server. */
  drop(): void;
  /** Resolves once the worker closed its side. */
  clientDone: Promise<void>;
}

interface FakeOptions {
  heartbeatIntervalMs?: number;
  /** Ack every result as soon as it arrives (default true). */
  autoAck?: boolean;
  /** Refuse each hello with this code. */
  refuse?: Code;
  /** Never answer the hello. */
  silent?: boolean;
  /** Listen on this port (to "restart" a server on the same address). */
  port?: number;
  /** Say `accepts_batches` in the welcome, and ack a `results` message with one `acks` message. */
  batches?: boolean;
  /** Say `accepts_json` in the welcome (results may then carry `output_json`). */
  json?: boolean;
}

interface Fake {
  url: string;
  opts: FakeOptions;
  streams: FakeStream[];
  /** The n-th stream (0-based) once it is welcomed. */
  stream(n: number): Promise<FakeStream>;
  connections(): number;
  close(): Promise<void>;
}

const fakes: Fake[] = [];
const workers: Worker[] = [];

async function startFake(opts: FakeOptions = {}): Promise<Fake> {
  const streams: FakeStream[] = [];
  const sessions = new Set<http2.ServerHttp2Session>();
  const handler = connectNodeAdapter({
    routes(router) {
      router.service(WorkerService, {
        async *connect(requests, ctx) {
          const it = requests[Symbol.asyncIterator]();
          const first = await it.next();
          if (first.done || first.value.msg.case !== "hello")
            throw new ConnectError("hello first", Code.InvalidArgument);
          if (fake.opts.refuse !== undefined) throw new ConnectError("refused by the fake", fake.opts.refuse);
          if (fake.opts.silent) {
            await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve, { once: true }));
            return;
          }
          const out = createChannel<ServerMessage>();
          let failure: ConnectError | undefined;
          let clientDone!: () => void;
          const s: FakeStream = {
            hello: first.value.msg.value,
            received: [],
            receivedAt: [],
            send: (msg) => void out.push(create(ServerMessageSchema, { msg })),
            task: (init) => s.send({ case: "task", value: init }),
            drop: () => {
              failure = new ConnectError("dropped by the fake", Code.Unavailable);
              out.close();
            },
            clientDone: new Promise((r) => (clientDone = r)),
          };
          s.send({
            case: "welcome",
            value: {
              workerId: `w-${streams.length}`,
              heartbeatInterval: durationFromMs(fake.opts.heartbeatIntervalMs ?? 5_000),
              acceptsBatches: fake.opts.batches ?? false,
              acceptsJson: fake.opts.json ?? false,
            },
          });
          streams.push(s);
          ctx.signal.addEventListener("abort", () => out.close(), { once: true });
          void (async () => {
            try {
              for (;;) {
                const next = await it.next();
                if (next.done) break;
                s.received.push(next.value);
                s.receivedAt.push(Date.now());
                if (next.value.msg.case === "result" && (fake.opts.autoAck ?? true)) {
                  s.send({ case: "ack", value: { taskId: next.value.msg.value.taskId, accepted: true } });
                }
                if (next.value.msg.case === "results" && (fake.opts.autoAck ?? true)) {
                  s.send({
                    case: "acks",
                    value: { acks: next.value.msg.value.results.map((r) => ({ taskId: r.taskId, accepted: true })) },
                  });
                }
              }
            } catch (err) {
              s.readError = err;
            } finally {
              out.close();
              clientDone();
            }
          })();
          for await (const m of out) yield m;
          if (failure) throw failure;
        },
      });
    },
  });
  const server = http2.createServer(handler);
  server.on("session", (session) => {
    sessions.add(session);
    session.on("close", () => sessions.delete(session));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, "127.0.0.1", resolve));
  const fake: Fake = {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    opts,
    streams,
    stream: (n) => eventually(() => streams[n]),
    connections: () => sessions.size,
    close: async () => {
      for (const session of sessions) session.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  fakes.push(fake);
  return fake;
}

// ─── helpers ────────────────────────────────────────────────────────────

const RUN_ID = "01900000-0000-7000-8000-000000000001";

function task(
  id: string,
  action: string,
  input: unknown,
  extra: Partial<MessageInitShape<typeof TaskSchema>> = {},
): MessageInitShape<typeof TaskSchema> {
  return {
    taskId: `${RUN_ID}/${id}`,
    runId: RUN_ID,
    stepId: id,
    workflowId: "wf",
    action,
    input: jsonToValue(input),
    attempt: 1,
    leaseToken: 7n,
    ...extra,
  } as MessageInitShape<typeof TaskSchema>;
}

/** Poll `fn` until it returns something other than undefined/false. */
async function eventually<T>(fn: () => T | undefined | false, timeoutMs = 3_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = fn();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms: ${fn.toString()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function results(s: FakeStream): TaskResult[] {
  return s.received.flatMap((m) =>
    m.msg.case === "result" ? [m.msg.value] : m.msg.case === "results" ? m.msg.value.results : [],
  );
}

function resultFor(s: FakeStream, stepId: string): Promise<TaskResult> {
  return eventually(() => results(s).find((r) => r.taskId === `${RUN_ID}/${stepId}`));
}

/** Arrival times of the heartbeats naming the task. */
function heartbeatsFor(s: FakeStream, stepId: string): number[] {
  return s.received.flatMap((m, i) =>
    m.msg.case === "heartbeat" && m.msg.value.taskIds.includes(`${RUN_ID}/${stepId}`)
      ? [s.receivedAt[i] as number]
      : [],
  );
}

function meanGap(times: number[]): number {
  return ((times.at(-1) as number) - (times[0] as number)) / (times.length - 1);
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((r) => (open = r));
  return { promise, open };
}

function newWorker(opts: Partial<WorkerOptions> & Pick<WorkerOptions, "address">): Worker {
  const w = new Worker({
    name: "test-worker",
    slots: 2,
    reconnect: { initialDelayMs: 10, maxDelayMs: 50 },
    drainGraceMs: 1_000,
    ackWaitMs: 1_000,
    logger: () => {},
    ...opts,
  });
  workers.push(w);
  return w;
}

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.stop()));
  // Leak check: a stopped worker leaves no HTTP/2 connection behind.
  for (const f of fakes) await eventually(() => f.connections() === 0, 2_000);
  await Promise.all(fakes.splice(0).map((f) => f.close()));
});

// ─── tests ──────────────────────────────────────────────────────────────

describe("Worker: hello and tasks", () => {
  it("says hello with its actions, slots and labels, and resolves start() on welcome", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, slots: 3, labels: { zone: "a" } });
    w.register("charge", () => null).register("refund", () => null);
    const connected = w.once("connected");
    await w.start();
    expect(w.state).toBe("RUNNING");
    expect(w.connected).toBe(true);
    expect((await connected).workerId).toBe("w-0");
    const s = await fake.stream(0);
    expect(s.hello.workerName).toBe("test-worker");
    expect(s.hello.actions).toEqual(["charge", "refund"]);
    expect(s.hello.slots).toBe(3);
    expect(s.hello.labels).toEqual({ zone: "a" });
  });

  it("runs the handler with the task's context and input; the result carries output and lease token", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    let seen: { input: unknown; ctx: TaskContext } | undefined;
    w.register("charge", (input: { cents: number }, ctx) => {
      seen = { input, ctx };
      return { charged: input.cents, attempt: ctx.attempt };
    });
    await w.start();
    const s = await fake.stream(0);
    const deadline = Date.now() + 60_000;
    s.task(task("pay", "charge", { cents: 250 }, { attempt: 2, leaseToken: 42n, deadline: timestampFromMs(deadline) }));
    const r = await resultFor(s, "pay");
    expect(r.leaseToken).toBe(42n);
    expect(r.outcome.case).toBe("output");
    expect(valueToJson(r.outcome.value as never)).toEqual({ charged: 250, attempt: 2 });
    expect(seen?.input).toEqual({ cents: 250 });
    expect(seen?.ctx).toMatchObject({
      taskId: `${RUN_ID}/pay`,
      runId: RUN_ID,
      stepId: "pay",
      workflowId: "wf",
      action: "charge",
      attempt: 2,
    });
    expect(seen?.ctx.deadline?.getTime()).toBe(deadline);
    expect(seen?.ctx.signal.aborted).toBe(false);
    await eventually(() => w.pendingAcks === 0);
  });

  it("with a server that takes batches: a `tasks` message runs every task, their results go up together, one `acks` settles them", async () => {
    const fake = await startFake({ batches: true });
    const w = newWorker({ address: fake.url, slots: 10 });
    w.register("double", (input: { n: number }) => input.n * 2);
    await w.start();
    const s = await fake.stream(0);
    expect(s.hello.acceptsBatches).toBe(true);
    s.send({ case: "tasks", value: { tasks: [0, 1, 2, 3, 4, 5].map((n) => task(`t${n}`, "double", { n })) } });
    await eventually(() => results(s).length === 6);
    const batches = s.received.filter((m) => m.msg.case === "results");
    expect(batches).toHaveLength(1);
    expect(s.received.filter((m) => m.msg.case === "result")).toHaveLength(0);
    expect(results(s).map((r) => [r.taskId, valueToJson(r.outcome.value as never)])).toEqual(
      [0, 1, 2, 3, 4, 5].map((n) => [`${RUN_ID}/t${n}`, n * 2]),
    );
    await eventually(() => w.pendingAcks === 0);
    expect(w.running).toBe(0);
  });

  it("with a server that does not say it takes batches: one result per message", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, slots: 10 });
    w.register("double", (input: { n: number }) => input.n * 2);
    await w.start();
    const s = await fake.stream(0);
    for (const n of [0, 1, 2, 3]) s.task(task(`t${n}`, "double", { n }));
    await eventually(() => results(s).length === 4);
    expect(s.received.filter((m) => m.msg.case === "result")).toHaveLength(4);
    expect(s.received.some((m) => m.msg.case === "results")).toBe(false);
    await eventually(() => w.pendingAcks === 0);
  });

  it("with a server that takes JSON: reads input_json, answers with output_json (undefined as null, a BigInt refused)", async () => {
    const fake = await startFake({ json: true });
    const w = newWorker({ address: fake.url, slots: 3 });
    w.register("sum", (input: { xs: number[] }) => ({ total: input.xs.reduce((a, b) => a + b, 0), note: "é" }));
    w.register("nothing", () => undefined);
    w.register("big", () => ({ n: 1n }));
    await w.start();
    const s = await fake.stream(0);
    expect(s.hello.acceptsJson).toBe(true);
    const json = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    s.task({ ...task("a", "sum", null), input: undefined, inputJson: json({ xs: [1, 2, 3] }) });
    s.task({ ...task("b", "nothing", null), input: undefined, inputJson: json({}) });
    s.task({ ...task("c", "big", null), input: undefined, inputJson: json({}) });
    const [a, b, c] = await Promise.all([resultFor(s, "a"), resultFor(s, "b"), resultFor(s, "c")]);
    expect(a.outcome.case).toBe("outputJson");
    expect(JSON.parse(text(a.outcome.value as Uint8Array))).toEqual({ total: 6, note: "é" });
    expect(b.outcome.case === "outputJson" && text(b.outcome.value)).toBe("null");
    expect(c.outcome).toMatchObject({ case: "error", value: { type: "OUTPUT_NOT_SERIALIZABLE", retryable: false } });
  });

  it("with a server that does not take JSON: outputs go as Values", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    w.register("sum", (input: { xs: number[] }) => ({ total: input.xs.reduce((a, b) => a + b, 0) }));
    await w.start();
    const s = await fake.stream(0);
    s.task(task("a", "sum", { xs: [4, 5] }));
    const r = await resultFor(s, "a");
    expect(r.outcome.case).toBe("output");
    expect(valueToJson(r.outcome.value as never)).toEqual({ total: 9 });
  });

  it("sends undefined as null", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    w.register("noop", () => undefined);
    await w.start();
    const s = await fake.stream(0);
    s.task(task("n", "noop", {}));
    const r = await resultFor(s, "n");
    expect(r.outcome.case).toBe("output");
    expect(valueToJson(r.outcome.value as never)).toBeNull();
  });

  it("reports TaskError type and retryable, other errors as retryable by name, unknown actions as non-retryable", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, slots: 3 });
    w.register("declined", () => {
      throw TaskError.nonRetryable("CARD_DECLINED", "the card was declined");
    });
    w.register("crash", () => {
      throw new RangeError("out of range");
    });
    await w.start();
    const s = await fake.stream(0);
    s.task(task("a", "declined", null));
    s.task(task("b", "crash", null));
    s.task(task("c", "nobody-has-this", null));
    const [a, b, c] = await Promise.all([resultFor(s, "a"), resultFor(s, "b"), resultFor(s, "c")]);
    expect(a.outcome).toMatchObject({
      case: "error",
      value: { type: "CARD_DECLINED", message: "the card was declined", retryable: false },
    });
    expect(b.outcome).toMatchObject({
      case: "error",
      value: { type: "RangeError", message: "out of range", retryable: true },
    });
    expect(c.outcome).toMatchObject({ case: "error", value: { type: "UNKNOWN_ACTION", retryable: false } });
  });

  it("fails an output JSON cannot hold as non-retryable", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    w.register("big", () => ({ n: 1n }));
    await w.start();
    const s = await fake.stream(0);
    s.task(task("x", "big", null));
    expect((await resultFor(s, "x")).outcome).toMatchObject({
      case: "error",
      value: { type: "OUTPUT_NOT_SERIALIZABLE", retryable: false },
    });
  });
});

describe("Worker: cancel, deadline, heartbeats, slots", () => {
  it("aborts ctx.signal on cancel and reports CANCELLED", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    let reason: unknown;
    w.register(
      "wait",
      (_input, ctx) =>
        new Promise((_, reject) =>
          ctx.signal.addEventListener("abort", () => {
            reason = ctx.signal.reason;
            reject(new Error("aborted"));
          }),
        ),
    );
    await w.start();
    const s = await fake.stream(0);
    s.task(task("t", "wait", null));
    await eventually(() => w.running === 1);
    s.send({ case: "cancel", value: { taskId: `${RUN_ID}/t`, reason: "run cancelled" } });
    const r = await resultFor(s, "t");
    expect(reason).toBeInstanceOf(TaskError);
    expect(r.outcome).toMatchObject({
      case: "error",
      value: { type: "CANCELLED", message: "run cancelled", retryable: false },
    });
  });

  it("aborts ctx.signal when the deadline passes", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    w.register(
      "slow",
      (_input, ctx) =>
        new Promise((_, reject) => ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason))),
    );
    await w.start();
    const s = await fake.stream(0);
    const started = Date.now();
    s.task(task("d", "slow", null, { deadline: timestampFromMs(Date.now() + 150) }));
    const r = await resultFor(s, "d");
    expect(Date.now() - started).toBeGreaterThanOrEqual(100);
    expect(r.outcome).toMatchObject({ case: "error", value: { type: "DEADLINE_EXCEEDED", retryable: true } });
  });

  it("heartbeats running tasks at the welcome's interval", async () => {
    const fake = await startFake({ heartbeatIntervalMs: 100 });
    const w = newWorker({ address: fake.url });
    w.register("long", () => new Promise((r) => setTimeout(r, 560)));
    await w.start();
    const s = await fake.stream(0);
    s.task(task("h", "long", null));
    await resultFor(s, "h");
    const beats = heartbeatsFor(s, "h");
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.length).toBeLessThanOrEqual(6);
    expect(meanGap(beats)).toBeGreaterThan(80);
    expect(meanGap(beats)).toBeLessThan(180);
  });

  it("heartbeats at a third of a short heartbeat_timeout, and ctx.heartbeat() is throttled", async () => {
    const fake = await startFake({ heartbeatIntervalMs: 10_000 });
    const w = newWorker({ address: fake.url });
    w.register("long", async (_input, ctx) => {
      for (let i = 0; i < 50; i++) ctx.heartbeat({ progress: i }); // at most one of these goes out
      await new Promise((r) => setTimeout(r, 500));
    });
    await w.start();
    const s = await fake.stream(0);
    s.task(task("h", "long", null, { heartbeatTimeout: durationFromMs(300) }));
    await resultFor(s, "h");
    const beats = heartbeatsFor(s, "h");
    // ~every 100 ms over 500 ms, plus at most one early ctx.heartbeat().
    expect(beats.length).toBeGreaterThanOrEqual(3);
    expect(beats.length).toBeLessThanOrEqual(7);
    expect(meanGap(beats)).toBeLessThan(150);
  });

  it("never runs more than `slots` handlers: the extra task is refused with NO_SLOT", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, slots: 2 });
    const release = gate();
    let now = 0;
    let peak = 0;
    w.register("busy", async () => {
      peak = Math.max(peak, ++now);
      await release.promise;
      now--;
      return "done";
    });
    await w.start();
    const s = await fake.stream(0);
    s.task(task("s1", "busy", null));
    s.task(task("s2", "busy", null));
    s.task(task("s3", "busy", null));
    const r3 = await resultFor(s, "s3");
    expect(r3.outcome).toMatchObject({ case: "error", value: { type: "NO_SLOT", retryable: true } });
    expect(w.running).toBe(2);
    release.open();
    const [r1, r2] = await Promise.all([resultFor(s, "s1"), resultFor(s, "s2")]);
    expect([r1.outcome.case, r2.outcome.case]).toEqual(["output", "output"]);
    expect(peak).toBe(2);
    // The slots are free again.
    s.task(task("s4", "busy", null));
    expect((await resultFor(s, "s4")).outcome.case).toBe("output");
  });
});

describe("Worker: reconnecting", () => {
  it("resends unacknowledged results after the stream drops and the worker reconnects", async () => {
    const fake = await startFake({ autoAck: false });
    const w = newWorker({ address: fake.url });
    w.register("echo", (x) => x);
    await w.start();
    const s0 = await fake.stream(0);
    s0.task(task("e", "echo", { v: 1 }, { leaseToken: 9n }));
    await resultFor(s0, "e");
    expect(w.pendingAcks).toBe(1);
    const down = w.once("disconnected");
    s0.drop();
    expect((await down).error).toBeInstanceOf(ConnectError);
    const s1 = await fake.stream(1);
    const again = await resultFor(s1, "e");
    expect(again.leaseToken).toBe(9n);
    expect(valueToJson(again.outcome.value as never)).toEqual({ v: 1 });
    s1.send({ case: "ack", value: { taskId: `${RUN_ID}/e`, accepted: true } });
    await eventually(() => w.pendingAcks === 0);
    // The old stream is not written to any more, and the new one got the hello first.
    expect(results(s0)).toHaveLength(1);
    expect(s1.hello.actions).toEqual(["echo"]);
  });

  it("resends a result the server did not acknowledge while the stream stays open", async () => {
    const fake = await startFake({ autoAck: false, heartbeatIntervalMs: 50 });
    const w = newWorker({ address: fake.url, resultResendMs: 300 });
    w.register("echo", (x) => x);
    await w.start();
    const s0 = await fake.stream(0);
    s0.task(task("t", "echo", { v: 2 }, { leaseToken: 11n }));
    await resultFor(s0, "t");
    const firstAt = Date.now();
    // No ack: the same result goes out again on the same stream once the resend period has passed.
    await eventually(() => results(s0).length >= 2, 3_000);
    expect(Date.now() - firstAt).toBeGreaterThanOrEqual(200);
    expect(results(s0).every((r) => r.leaseToken === 11n && r.taskId === `${RUN_ID}/t`)).toBe(true);
    expect(fake.streams).toHaveLength(1);
    s0.send({ case: "ack", value: { taskId: `${RUN_ID}/t`, accepted: true } });
    await eventually(() => w.pendingAcks === 0);
    const sent = results(s0).length;
    await new Promise((r) => setTimeout(r, 700));
    expect(results(s0)).toHaveLength(sent); // acknowledged: never sent again
  });

  it("sends a result again soon after an ack with retry_later, and keeps it until a real ack", async () => {
    const fake = await startFake({ autoAck: false, heartbeatIntervalMs: 50 });
    const w = newWorker({ address: fake.url, resultResendMs: 60_000 });
    const acks: { accepted: boolean }[] = [];
    w.on("ack", (a) => void acks.push(a));
    w.register("echo", (x) => x);
    await w.start();
    const s0 = await fake.stream(0);
    s0.task(task("n", "echo", "x"));
    await resultFor(s0, "n");
    s0.send({
      case: "ack",
      value: { taskId: `${RUN_ID}/n`, accepted: false, retryLater: true, reason: "database unreachable" },
    });
    // Far sooner than the 60 s resend period: the next resend tick (a heartbeat interval).
    await eventually(() => results(s0).length === 2, 2_000);
    expect(w.pendingAcks).toBe(1);
    expect(acks).toEqual([]); // not an answer yet
    s0.send({ case: "ack", value: { taskId: `${RUN_ID}/n`, accepted: true } });
    await eventually(() => w.pendingAcks === 0);
    expect(acks).toMatchObject([{ accepted: true }]);
  });

  it("keeps an idle stream alive with empty heartbeats", async () => {
    const fake = await startFake({ heartbeatIntervalMs: 40 });
    const w = newWorker({ address: fake.url });
    w.register("x", () => null);
    await w.start();
    const s0 = await fake.stream(0);
    const empty = () => s0.received.filter((m) => m.msg.case === "heartbeat" && m.msg.value.taskIds.length === 0);
    await eventually(() => empty().length >= 2, 3_000);
    // Every five intervals, not every interval.
    const times = s0.received.flatMap((m, i) =>
      m.msg.case === "heartbeat" && m.msg.value.taskIds.length === 0 ? [s0.receivedAt[i] as number] : [],
    );
    expect(meanGap(times)).toBeGreaterThanOrEqual(150);
  });

  it("keeps handlers running across a reconnect and sends their result after the next welcome", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url });
    const release = gate();
    w.register("slow", async () => {
      await release.promise;
      return "late";
    });
    await w.start();
    const s0 = await fake.stream(0);
    s0.task(task("k", "slow", null));
    await eventually(() => w.running === 1);
    fake.opts.refuse = Code.Unavailable; // the "restarted" server refuses for a while
    s0.drop();
    await eventually(() => !w.connected);
    release.open();
    await eventually(() => w.pendingAcks === 1); // finished while disconnected
    fake.opts.refuse = undefined;
    const s1 = await fake.stream(1);
    const r = await resultFor(s1, "k");
    expect(valueToJson(r.outcome.value as never)).toBe("late");
    await eventually(() => w.pendingAcks === 0);
  });

  it("fails over to the next address", async () => {
    const a = await startFake();
    const b = await startFake();
    const w = newWorker({ address: [a.url, b.url] });
    w.register("x", () => "from b");
    await w.start();
    await a.stream(0);
    const connected = w.once("connected", (c) => c.address === b.url);
    await a.close(); // the whole replica goes away
    fakes.splice(fakes.indexOf(a), 1);
    await connected;
    const s = await b.stream(0);
    s.task(task("f", "x", null));
    expect(valueToJson((await resultFor(s, "f")).outcome.value as never)).toBe("from b");
  });

  it("reconnects to the same address after the server restarts", async () => {
    const first = await startFake();
    const w = newWorker({ address: first.url });
    w.register("x", () => "after restart");
    await w.start();
    await first.stream(0);
    const port = Number(new URL(first.url).port);
    await first.close(); // kills the HTTP/2 connection, not just the stream
    fakes.splice(fakes.indexOf(first), 1);
    await eventually(() => !w.connected);
    const second = await startFake({ port });
    const s = await second.stream(0);
    await eventually(() => w.connected);
    s.task(task("r", "x", null));
    expect(valueToJson((await resultFor(s, "r")).outcome.value as never)).toBe("after restart");
  });

  it("gives up on a server that never welcomes, within welcomeTimeoutMs, and tries again", async () => {
    const fake = await startFake({ silent: true });
    const w = newWorker({ address: fake.url, welcomeTimeoutMs: 100 });
    w.register("x", () => null);
    const down = w.once("disconnected");
    const started = w.start();
    const d = await down;
    expect(d.error).toMatchObject({ code: Code.DeadlineExceeded });
    expect(d.retryInMs).toBeTypeOf("number");
    fake.opts.silent = false;
    await started;
    expect(w.connected).toBe(true);
  });

  it("rejects start() when the first hello is refused, and ends FAILED", async () => {
    const fake = await startFake({ refuse: Code.InvalidArgument });
    const w = newWorker({ address: fake.url });
    w.register("x", () => null);
    await expect(w.start()).rejects.toMatchObject({ code: Code.InvalidArgument });
    expect(w.state).toBe("FAILED");
    await w.stop(); // a no-op
    expect(w.state).toBe("FAILED");
  });

  it("keeps retrying an unreachable server until stopped; start() then rejects", async () => {
    const fake = await startFake();
    const url = fake.url;
    await fake.close();
    fakes.splice(fakes.indexOf(fake), 1);
    const w = newWorker({ address: url });
    w.register("x", () => null);
    let downs = 0;
    w.on("disconnected", () => downs++);
    const started = w.start();
    await eventually(() => downs >= 3);
    await w.stop();
    await expect(started).rejects.toThrow(/stopped before/);
    expect(w.state).toBe("STOPPED");
  });
});

describe("Worker: stop() drains", () => {
  it("lets a task finish within the grace period, aborts a hanging one, refuses new tasks, then closes", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, slots: 3, drainGraceMs: 300 });
    const never = gate();
    let hangSignal: AbortSignal | undefined;
    w.register("quick", () => new Promise((r) => setTimeout(() => r("quick done"), 100)));
    w.register("hang", async (_input, ctx) => {
      hangSignal = ctx.signal;
      await never.promise; // ignores its signal
    });
    await w.start();
    const s = await fake.stream(0);
    s.task(task("q", "quick", null));
    s.task(task("h", "hang", null));
    await eventually(() => w.running === 2);
    const started = Date.now();
    const stopped = w.stop();
    expect(w.state).toBe("DRAINING");
    s.task(task("late", "quick", null));
    const late = await resultFor(s, "late");
    expect(late.outcome).toMatchObject({ case: "error", value: { type: "WORKER_DRAINING", retryable: true } });
    const q = await resultFor(s, "q");
    expect(valueToJson(q.outcome.value as never)).toBe("quick done");
    await stopped;
    expect(Date.now() - started).toBeGreaterThanOrEqual(280);
    expect(w.state).toBe("STOPPED");
    expect(hangSignal?.aborted).toBe(true);
    const h = await resultFor(s, "h");
    expect(h.outcome).toMatchObject({ case: "error", value: { type: "WORKER_SHUTDOWN", retryable: true } });
    await s.clientDone; // the worker closed its side of the stream
    expect(w.pendingAcks).toBe(0);
    never.open();
  });

  it("returns at once when nothing runs", async () => {
    const fake = await startFake();
    const w = newWorker({ address: fake.url, drainGraceMs: 5_000 });
    w.register("x", () => null);
    await w.start();
    const states: string[] = [];
    w.on("state", (s) => states.push(s.to));
    const t = Date.now();
    await w.stop();
    expect(Date.now() - t).toBeLessThan(1_000);
    expect(states).toEqual(["DRAINING", "STOPPED"]);
  });
});

describe("SDK pieces", () => {
  it("handleSignals hooks SIGTERM/SIGINT while running and unhooks on stop", async () => {
    const fake = await startFake();
    const before = [process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")];
    const w = newWorker({ address: fake.url, handleSignals: true });
    w.register("x", () => null);
    await w.start();
    expect([process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]).toEqual([
      before[0]! + 1,
      before[1]! + 1,
    ]);
    await w.stop();
    expect([process.listenerCount("SIGTERM"), process.listenerCount("SIGINT")]).toEqual(before);
  });

  it("register() checks names and refuses after start", async () => {
    const w = new Worker({ address: "http://127.0.0.1:1", name: "w" });
    expect(() => w.register("1bad", () => null)).toThrow(TypeError);
    w.register("good", () => null);
    expect(() => w.register("good", () => null)).toThrow(/already/);
    expect(() => new Worker({ address: "http://x", name: "w", slots: 0 })).toThrow(/slots/);
    await w.stop();
    expect(w.state).toBe("STOPPED");
    expect(() => w.register("later", () => null)).toThrow(/before start/);
  });

  it("channel delivers in order, then ends after close", async () => {
    const ch = createChannel<number>();
    ch.push(1);
    ch.push(2);
    setTimeout(() => {
      ch.push(3);
      ch.close();
      expect(ch.push(4)).toBe(false);
    }, 5);
    const got: number[] = [];
    for await (const n of ch) got.push(n);
    expect(got).toEqual([1, 2, 3]);
  });

  it("backoff doubles to the cap with full jitter", () => {
    const top = createBackoff({ initialDelayMs: 10, maxDelayMs: 40, random: () => 0.9999 });
    expect([top.next(), top.next(), top.next(), top.next()]).toEqual([9, 19, 39, 39]);
    top.reset();
    expect(top.next()).toBe(9);
    const bottom = createBackoff({ initialDelayMs: 10, maxDelayMs: 40, random: () => 0 });
    expect(bottom.next()).toBe(0);
  });

  it("toTaskError keeps TaskErrors and names everything else", () => {
    const t = TaskError.retryable("RATE_LIMITED", "slow down");
    expect(toTaskError(t)).toBe(t);
    expect(toTaskError(new TypeError("bad"))).toMatchObject({ type: "TypeError", message: "bad", retryable: true });
    expect(toTaskError("plain")).toMatchObject({ type: "Error", message: "plain", retryable: true });
    expect(toTaskError({ code: 1 })).toMatchObject({ type: "Error", message: '{"code":1}' });
    expect(toTaskError(new Error("x".repeat(100_000))).message.length).toBeLessThanOrEqual(65_536);
  });
});
