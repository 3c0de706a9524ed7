/**
 * Slow clients against a real server process with `--request-timeout-ms
 * 2000`, over raw sockets and `node:http2` sessions: HTTP/1.1 headers or a
 * body trickled a byte at a time, an HTTP/2 request body that never ends, an
 * HTTP/2 connection that never opens a stream or trickles a request's
 * CONTINUATION frame are each closed (a trickle does not keep them alive),
 * and the server logs which bound closed them. The worker stream (whose
 * request body never ends by design) and WatchRun streams (over HTTP/2 and
 * HTTP/1.1) stay open well past the bound.
 */
import { once } from "node:events";
import * as http2 from "node:http2";
import * as net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunStatus } from "../../gen/weft/v1/common_pb.js";
import { createWeftClient, type WeftClient } from "../../sdk/index.js";
import { requirePostgres } from "../support/db.js";
import { uniqueId } from "../support/execution.js";
import { rawWorkerStream } from "../support/raw-worker.js";
import { defineWorkflow, trigger } from "../support/runs.js";
import { startWeft, type Weft } from "../support/weft.js";

const hasPostgres = await requirePostgres();

const BOUND_MS = 2000;
/** Bound, plus Node's HTTP/1.1 checking interval, plus room for a loaded machine. */
const CLOSED_WITHIN_MS = BOUND_MS + 8000;
/** Well past the bound: a stream still working after this was not cut by it. */
const PAST_BOUND_MS = BOUND_MS * 2 + 1000;
/** Far shorter than the bound: every trickled byte would restart an idle timeout. */
const TRICKLE_MS = 200;
/** Bytes a trickle must have sent before it was cut: it was kept up through most of the bound. */
const TRICKLED_AT_LEAST = BOUND_MS / TRICKLE_MS / 2;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes `bytes` one at a time every TRICKLE_MS until the socket closes; returns how many went out. */
function trickle(write: (b: Buffer) => void, isOpen: () => boolean, bytes: Buffer): () => number {
  let sent = 0;
  const timer = setInterval(() => {
    if (!isOpen() || sent >= bytes.length) return clearInterval(timer);
    write(bytes.subarray(sent, ++sent));
  }, TRICKLE_MS);
  return () => (clearInterval(timer), sent);
}

/** Everything the socket received until it closed; rejects if it is still open after CLOSED_WITHIN_MS. */
function closedWithin(socket: net.Socket): Promise<string> {
  let received = "";
  socket.on("data", (d: Buffer) => (received += d.toString("latin1")));
  socket.on("error", () => undefined);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`still open after ${CLOSED_WITHIN_MS} ms; received ${JSON.stringify(received)}`)),
      CLOSED_WITHIN_MS,
    );
    socket.once("close", () => (clearTimeout(timer), resolve(received)));
  });
}

/** A raw socket, and its local port (how the server's log names it; gone from the socket once closed). */
async function connect(port: number): Promise<{ socket: net.Socket; localPort: number | undefined }> {
  const socket = net.connect(port, "127.0.0.1");
  await once(socket, "connect");
  return { socket, localPort: socket.localPort };
}

/** An HTTP/2 frame header (RFC 9113 §4.1) followed by its payload. */
function frame(type: number, flags: number, streamId: number, payload: Buffer, length = payload.length): Buffer {
  const header = Buffer.alloc(9);
  header.writeUIntBE(length, 0, 3);
  header.writeUInt8(type, 3);
  header.writeUInt8(flags, 4);
  header.writeUInt32BE(streamId, 5);
  return Buffer.concat([header, payload]);
}

describe.skipIf(!hasPostgres)("slow clients (--request-timeout-ms 2000)", () => {
  let weft: Weft;
  const clients: WeftClient[] = [];

  beforeAll(async () => {
    weft = await startWeft({
      backend: "postgres",
      args: ["--request-timeout-ms", String(BOUND_MS), "--log-level", "debug"],
    });
  });
  afterAll(async () => {
    clients.forEach((c) => c.close());
    await weft?.stop();
  });

  /** Waits for the server's "slow client closed" line about this client port. */
  async function closedLog(localPort: number | undefined): Promise<Record<string, unknown>> {
    const end = Date.now() + 5000;
    for (;;) {
      const line = weft.server.logs
        .filter((l) => l.includes('"slow client closed"'))
        .map((l) => JSON.parse(l) as Record<string, unknown>)
        .find((l) => l["remote"] === `127.0.0.1:${localPort}`);
      if (line) return line;
      if (Date.now() > end) throw new Error(`no "slow client closed" line for port ${localPort}`);
      await sleep(50);
    }
  }

  it("closes HTTP/1.1 whose headers trickle in, with 408", { timeout: 30_000 }, async () => {
    const { socket, localPort } = await connect(weft.server.port);
    socket.write("POST /weft.v1.RunService/GetRun HTTP/1.1\r\nhost: weft\r\n");
    const stop = trickle(
      (b) => socket.write(b),
      () => !socket.destroyed,
      Buffer.from(`x-slow: ${"a".repeat(500)}\r\n\r\n`),
    );
    const received = await closedWithin(socket);
    expect(stop()).toBeGreaterThanOrEqual(TRICKLED_AT_LEAST);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(await closedLog(localPort)).toMatchObject({ bound: "h1-headers", timeoutMs: BOUND_MS });
  });

  it("closes HTTP/1.1 whose body trickles in, short of its content-length, with 408", { timeout: 30_000 }, async () => {
    const { socket, localPort } = await connect(weft.server.port);
    const body = Buffer.from(`{"runId":"${"r".repeat(500)}"}`);
    socket.write(
      `POST /weft.v1.RunService/GetRun HTTP/1.1\r\nhost: weft\r\ncontent-type: application/json\r\ncontent-length: ${body.length}\r\n\r\n`,
    );
    const stop = trickle(
      (b) => socket.write(b),
      () => !socket.destroyed,
      body,
    );
    const received = await closedWithin(socket);
    expect(stop()).toBeGreaterThanOrEqual(TRICKLED_AT_LEAST);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(await closedLog(localPort)).toMatchObject({ bound: "h1-body", path: "/weft.v1.RunService/GetRun" });
  });

  it("resets an HTTP/2 unary call whose request body never ends with CANCEL", { timeout: 30_000 }, async () => {
    const session = http2.connect(weft.url);
    try {
      await once(session, "connect");
      const localPort = (session.socket as net.Socket).localPort;
      const stream = session.request({
        ":method": "POST",
        ":path": "/weft.v1.RunService/GetRun",
        "content-type": "application/grpc",
        te: "trailers",
      });
      stream.on("error", () => undefined);
      stream.on("data", () => undefined);
      // A gRPC message header announcing 500 bytes, then the bytes a few at a time.
      const stop = trickle(
        (b) => stream.write(b),
        () => !stream.closed,
        Buffer.concat([Buffer.from([0, 0, 0, 1, 0xf4]), Buffer.alloc(500, 1)]),
      );
      const closed = once(stream, "close");
      await Promise.race([closed, sleep(CLOSED_WITHIN_MS).then(() => Promise.reject(new Error("stream still open")))]);
      expect(stop()).toBeGreaterThanOrEqual(TRICKLED_AT_LEAST);
      expect(stream.rstCode).toBe(http2.constants.NGHTTP2_CANCEL);
      expect(await closedLog(localPort)).toMatchObject({ bound: "h2-body", path: "/weft.v1.RunService/GetRun" });
    } finally {
      session.destroy();
    }
  });

  it("sends GOAWAY to an HTTP/2 connection that never opens a stream, and closes it", { timeout: 30_000 }, async () => {
    const session = http2.connect(weft.url);
    session.on("error", () => undefined);
    await once(session, "connect");
    const localPort = (session.socket as net.Socket).localPort;
    const goaway = once(session, "goaway");
    await Promise.race([
      once(session, "close"),
      sleep(CLOSED_WITHIN_MS).then(() => Promise.reject(new Error("session still open"))),
    ]);
    expect((await goaway)[0]).toBe(http2.constants.NGHTTP2_NO_ERROR);
    expect(await closedLog(localPort)).toMatchObject({ bound: "h2-no-stream" });
  });

  it(
    "closes an HTTP/2 connection whose request headers never complete (a CONTINUATION frame trickled)",
    { timeout: 30_000 },
    async () => {
      const { socket, localPort } = await connect(weft.server.port);
      // HEADERS without END_HEADERS (`:method: POST`), then a CONTINUATION
      // announcing a long literal header whose bytes come one at a time. Node
      // sees no stream until the headers are complete. The frame header goes
      // whole: nghttp2 ends the connection itself when a CONTINUATION frame's
      // header arrives in pieces ("too many CONTINUATION frames").
      const value = 1000;
      const field = Buffer.concat([
        Buffer.from([0x00, 6]),
        Buffer.from("x-slow"),
        Buffer.from([0x7f, ((value - 127) % 128) | 0x80, (value - 127) >> 7]),
        Buffer.alloc(value, 0x61),
      ]);
      socket.write(
        Buffer.concat([
          Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1"),
          frame(0x4, 0, 0, Buffer.alloc(0)),
          frame(0x1, 0, 1, Buffer.from([0x83])),
        ]),
      );
      socket.write(frame(0x9, 0, 1, Buffer.alloc(0), field.length));
      const stop = trickle(
        (b) => socket.write(b),
        () => !socket.destroyed,
        field,
      );
      await closedWithin(socket);
      expect(stop()).toBeGreaterThanOrEqual(TRICKLED_AT_LEAST);
      expect(await closedLog(localPort)).toMatchObject({ bound: "h2-no-stream" });
    },
  );

  it(
    "keeps the worker stream (WorkerService/Connect over HTTP/2) open past the bound",
    { timeout: 30_000 },
    async () => {
      const id = uniqueId("slow-worker");
      const stream = rawWorkerStream(weft.url);
      try {
        stream.send({ case: "hello", value: { workerName: "raw-slow", actions: [`${id}.a`], slots: 1 } });
        expect((await stream.next()).msg.case).toBe("welcome");
        await sleep(PAST_BOUND_MS);
        await defineWorkflow(weft.client, { id, steps: [{ id: "a", action: `${id}.a` }] });
        await trigger(weft.client, id);
        expect((await stream.next()).msg.case).toBe("task");
      } finally {
        stream.close();
      }
    },
  );

  it(
    "keeps WatchRun streams (gRPC over HTTP/2, Connect over HTTP/1.1) open past the bound",
    { timeout: 30_000 },
    async () => {
      const id = uniqueId("slow-watch");
      await defineWorkflow(weft.client, { id, steps: [{ id: "a", action: `${id}.nobody` }] });
      const runId = await trigger(weft.client, id);
      const watch = async (client: WeftClient, snapshot: () => void): Promise<RunStatus | undefined> => {
        // The first event is the snapshot, the last one carries the finished run.
        let last: RunStatus | undefined;
        for await (const { event } of client.runs.watchRun({ runId }, { signal: AbortSignal.timeout(25_000) })) {
          if (last === undefined) snapshot();
          last = event?.run?.status ?? RunStatus.UNSPECIFIED;
        }
        return last;
      };
      const grpc = createWeftClient(weft.url);
      const connect = createWeftClient(weft.url, { protocol: "connect" });
      clients.push(grpc, connect);
      let snapshots = 0;
      const ended = Promise.all([watch(grpc, () => snapshots++), watch(connect, () => snapshots++)]);
      await sleep(PAST_BOUND_MS);
      expect(snapshots).toBe(2);
      await weft.client.runs.cancelRun({ runId });
      expect(await ended).toEqual([RunStatus.CANCELLED, RunStatus.CANCELLED]);
      expect(weft.server.logs.filter((l) => l.includes('"slow client closed"') && l.includes("Watch"))).toEqual([]);
    },
  );
});
