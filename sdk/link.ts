/**
 * The worker's connection: one `WorkerService.Connect` call at a time, over
 * gRPC on HTTP/2, reconnecting with backoff until closed. Each attempt takes
 * the next address of the list, sends `hello` through a fresh outgoing
 * channel and waits (bounded) for `welcome`; then it hands every server
 * message to `onMessage` until the stream ends. Task handling lives in
 * `task-host.ts`; this file only moves messages.
 *
 * @example
 * ```ts
 * const link = createLink(opts, { onWelcome, onMessage, onDown: () => true });
 * link.start();
 * link.send(heartbeatMessage);   // false while disconnected
 * await link.close(2_000);       // half-close, wait for the server to end, then abort
 * ```
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, createClient, type Client } from "@connectrpc/connect";
import { Http2SessionManager, createGrpcTransport } from "@connectrpc/connect-node";
import {
  WorkerMessageSchema,
  WorkerService,
  type HelloSchema,
  type ServerMessage,
  type TaskResult,
  type Welcome,
  type WorkerMessage,
} from "../gen/weft/v1/worker_service_pb.js";
import type { Backoff } from "./backoff.js";
import { DECODE_LIMITS } from "./client.js";
import { createChannel, type Channel } from "./channel.js";
import type { ResultMessage } from "./result-book.js";
import { withValueOutput } from "./task-runner.js";
import { sleep } from "./timers.js";

/**
 * A stream that stayed up this long resets the backoff; one that dies
 * sooner (a server that welcomes and drops) keeps backing off.
 */
const STABLE_AFTER_MS = 5_000;

export interface LinkOptions {
  addresses: string[];
  headers: Record<string, string>;
  welcomeTimeoutMs: number;
  pingIntervalMs: number;
  /** Use the process's HTTP/2 connection to the address (shared with other links), not one of its own. */
  shareConnection: boolean;
  backoff: Backoff;
  /** Built anew for every attempt. */
  hello(): MessageInitShape<typeof HelloSchema>;
}

export interface LinkHandlers {
  /** Welcomed: `send()` works from now on. */
  onWelcome(welcome: Welcome, address: string): void;
  /** Every server message after the welcome. */
  onMessage(msg: ServerMessage): void;
  /**
   * An attempt failed or a stream ended (`error` undefined: the server ended
   * it cleanly). Return false to stop reconnecting.
   */
  onDown(down: { address: string; error: ConnectError | undefined; welcomed: boolean; retryInMs: number }): boolean;
}

export interface Link {
  start(): void;
  /** Queue a message on the current stream; false when not welcomed. */
  send(msg: WorkerMessage): boolean;
  readonly connected: boolean;
  /** The address of the current (or last) attempt. */
  readonly address: string | undefined;
  /**
   * Stop reconnecting; half-close a welcomed stream and wait up to `graceMs`
   * for the server to end it, then abort it and drop the HTTP/2 connections.
   */
  close(graceMs: number): Promise<void>;
}

interface Attempt {
  out: Channel<WorkerMessage>;
  call: AbortController;
  welcomed: boolean;
  welcomedAt: number;
  /** The welcome said the server takes `results`: results sent in one event-loop turn go as one message. */
  batches: boolean;
  /** Results waiting for the end of this turn (only with `batches`). */
  results: TaskResult[];
  /** The welcome said the server takes `output_json`; without it, outputs go as `Value`s. */
  json: boolean;
}

/** Most results in one `results` message. */
const MAX_RESULTS_PER_MESSAGE = 256;

/** Pushes the results gathered this turn: one `result`, or `results` messages of at most 256. */
function flushResults(a: Attempt): void {
  const all = a.results.splice(0, a.results.length);
  for (let i = 0; i < all.length; i += MAX_RESULTS_PER_MESSAGE) {
    const chunk = all.slice(i, i + MAX_RESULTS_PER_MESSAGE);
    a.out.push(
      chunk.length === 1
        ? create(WorkerMessageSchema, { msg: { case: "result", value: chunk[0]! } })
        : create(WorkerMessageSchema, { msg: { case: "results", value: { results: chunk } } }),
    );
  }
}

interface ClientEntry {
  client: Client<typeof WorkerService>;
  session: Http2SessionManager;
  /** Key in `sharedClients`, for a shared connection. */
  key?: string;
  /** Links using it (shared connections only). */
  users: number;
}

/**
 * HTTP/2 connections shared by the links of this process, by address and
 * PING interval: each link is one stream on it. A connection costs the
 * server memory of its own besides the stream (nghttp2's session;
 * docs/benchmarks.md#s6-memory-per-stream), and a process running several
 * `Worker`s needs only one. The last link to close drops it.
 */
const sharedClients = new Map<string, ClientEntry>();

function openClient(address: string, pingIntervalMs: number): ClientEntry {
  const session = new Http2SessionManager(address, {
    pingIntervalMs,
    pingTimeoutMs: Math.min(pingIntervalMs, 10_000),
  });
  // No compression: gzip of every message over a few hundred bytes costs the server CPU for bytes that
  // stay on a local network (docs/benchmarks.md#worker-stream-messages); connect's default would accept gzip and brotli.
  const transport = createGrpcTransport({
    baseUrl: address,
    sessionManager: session,
    acceptCompression: [],
    ...DECODE_LIMITS,
  });
  return { client: createClient(WorkerService, transport), session, users: 0 };
}

/** Drops a link's hold on a connection: a shared one closes with its last user. */
function releaseClient(entry: ClientEntry): void {
  if (entry.key === undefined) {
    entry.session.abort();
    return;
  }
  entry.users -= 1;
  if (entry.users > 0) return;
  entry.session.abort();
  if (sharedClients.get(entry.key) === entry) sharedClients.delete(entry.key);
}

/**
 * Create a link; nothing happens until `start()`.
 *
 * @example
 * ```ts
 * const link = createLink({ addresses: ["http://127.0.0.1:8080"], headers: {}, welcomeTimeoutMs: 10_000,
 *   pingIntervalMs: 15_000, backoff, hello: () => ({ workerName: "w", actions: ["a"], slots: 1 }) }, handlers);
 * ```
 */
export function createLink(opts: LinkOptions, handlers: LinkHandlers): Link {
  /** The connections this link holds, by address. */
  const clients = new Map<string, ClientEntry>();
  const closing = new AbortController();
  let current: Attempt | undefined;
  let lastAddress: string | undefined;
  let loop: Promise<void> | undefined;

  const clientFor = (address: string): Client<typeof WorkerService> => {
    let entry = clients.get(address);
    if (!entry) {
      if (opts.shareConnection) {
        const key = `${address} ${opts.pingIntervalMs}`;
        entry = sharedClients.get(key);
        if (!entry) {
          entry = { ...openClient(address, opts.pingIntervalMs), key };
          sharedClients.set(key, entry);
        }
        entry.users += 1;
      } else {
        entry = openClient(address, opts.pingIntervalMs);
      }
      clients.set(address, entry);
    }
    return entry.client;
  };

  /** One attempt: hello, welcome, then messages until the stream ends. */
  const attempt = async (address: string, a: Attempt): Promise<void> => {
    a.out.push(create(WorkerMessageSchema, { msg: { case: "hello", value: opts.hello() } }));
    const responses = clientFor(address).connect(a.out, { signal: a.call.signal, headers: opts.headers });
    const it = responses[Symbol.asyncIterator]();
    const first = await withTimeout(it.next(), opts.welcomeTimeoutMs, a.call, address);
    if (first.done) throw new ConnectError(`${address} ended the stream before welcome`, Code.Unavailable);
    if (first.value.msg.case !== "welcome") {
      throw new ConnectError(
        `${address} sent ${first.value.msg.case ?? "an empty message"} before welcome`,
        Code.Internal,
      );
    }
    a.welcomed = true;
    a.welcomedAt = Date.now();
    a.batches = first.value.msg.value.acceptsBatches;
    a.json = first.value.msg.value.acceptsJson;
    handlers.onWelcome(first.value.msg.value, address);
    for (;;) {
      const next = await it.next();
      if (next.done) return;
      handlers.onMessage(next.value);
    }
  };

  const run = async (): Promise<void> => {
    for (let n = 0; !closing.signal.aborted; n++) {
      const address = opts.addresses[n % opts.addresses.length] as string;
      lastAddress = address;
      const a: Attempt = {
        out: createChannel<WorkerMessage>(),
        call: new AbortController(),
        welcomed: false,
        welcomedAt: 0,
        batches: false,
        results: [],
        json: false,
      };
      current = a;
      a.call.signal.addEventListener("abort", () => a.out.close(), { once: true });
      let error: ConnectError | undefined;
      try {
        await attempt(address, a);
      } catch (err) {
        error = ConnectError.from(err);
      } finally {
        current = undefined;
        a.out.close();
        a.call.abort(new ConnectError("stream finished", Code.Canceled));
      }
      if (a.welcomed && Date.now() - a.welcomedAt >= STABLE_AFTER_MS) opts.backoff.reset();
      const retryInMs = opts.backoff.next();
      const again = handlers.onDown({ address, error, welcomed: a.welcomed, retryInMs });
      if (!again || closing.signal.aborted) return;
      await sleep(retryInMs, closing.signal);
    }
  };

  return {
    start() {
      loop ??= run();
    },
    send(sent) {
      const a = current;
      if (a?.welcomed !== true || a.out.closed) return false;
      // An older server knows outputs only as Values (also for results resent after a reconnect).
      const msg =
        !a.json && sent.msg.case === "result" && sent.msg.value.outcome.case === "outputJson"
          ? withValueOutput(sent as ResultMessage)
          : sent;
      if (a.batches && msg.msg.case === "result") {
        if (a.results.push(msg.msg.value) === 1) setImmediate(() => flushResults(a));
        return true;
      }
      // Keep the order: results gathered earlier in this turn go first.
      if (a.results.length > 0) flushResults(a);
      return a.out.push(msg);
    },
    get connected() {
      return current?.welcomed === true;
    },
    get address() {
      return lastAddress;
    },
    async close(graceMs) {
      closing.abort();
      const a = current;
      if (a && a.welcomed && loop) {
        a.out.close();
        const waited = new AbortController();
        await Promise.race([loop, sleep(graceMs, waited.signal)]);
        waited.abort();
      }
      current?.call.abort(new ConnectError("worker closed", Code.Canceled));
      await loop;
      for (const entry of clients.values()) releaseClient(entry);
      clients.clear();
    },
  };
}

/** `p`, or a DEADLINE_EXCEEDED after `ms` (aborting the call). */
async function withTimeout<T>(p: Promise<T>, ms: number, call: AbortController, address: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new ConnectError(`no welcome from ${address} within ${ms} ms`, Code.DeadlineExceeded);
  try {
    return await Promise.race([
      p,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          call.abort(timedOut);
          reject(timedOut);
        }, ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
