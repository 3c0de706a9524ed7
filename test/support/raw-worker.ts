/**
 * A hand-driven worker stream: what a worker in any language sends, with no
 * SDK in between (no automatic heartbeats, no resends), for tests that need
 * a worker to misbehave on purpose.
 *
 * @example
 * ```ts
 * const stream = rawWorkerStream(weft.url);
 * stream.send({ case: "hello", value: { workerName: "raw", actions: ["a"], slots: 1 } });
 * const welcome = await stream.next();
 * stream.close();
 * ```
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import {
  WorkerMessageSchema,
  WorkerService,
  type ServerMessage,
  type WorkerMessage,
} from "../../gen/weft/v1/worker_service_pb.js";
import { Channel } from "../../src/dispatch/channel.js";

export type WorkerMsg = MessageInitShape<typeof WorkerMessageSchema>["msg"];

export interface RawWorkerStream {
  send(msg: WorkerMsg): void;
  /** The next server message; rejects with the stream's error, or when it ended. */
  next(): Promise<ServerMessage>;
  close(): void;
}

export function rawWorkerStream(url: string): RawWorkerStream {
  const out = new Channel<WorkerMessage>();
  const abort = new AbortController();
  const client = createClient(WorkerService, createGrpcTransport({ baseUrl: url }));
  // Through a generator: connect-node calls throw() on the request iterable when the call ends.
  const requests = (async function* () {
    yield* out;
  })();
  const it = client.connect(requests, { signal: abort.signal })[Symbol.asyncIterator]();
  return {
    send: (msg) => void out.push(create(WorkerMessageSchema, { msg })),
    async next() {
      const r = await it.next();
      if (r.done) throw new Error("the server ended the stream");
      return r.value;
    },
    close() {
      out.close();
      abort.abort();
    },
  };
}
