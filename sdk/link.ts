/**
 * The worker's connection: one `WorkerService.Connect` call at a time, over
 * gRPC on HTTP/2, reconnecting with backoff until closed. Each attempt takes
 * the next address of the list, sends `hello` through a fresh outgoing
 * channel and waits (bounded) for `welcome`; then it hands every server
 * message to `onMessage` until the stream ends. Its state is one of idle,
 * connecting, open (welcomed: `send()` works), backing-off and closed. Task
 * handling lives in `task-host.ts`, the HTTP/2 connections in
 * `link-clients.ts`; this file only moves messages.
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
import { Code, ConnectError } from "@connectrpc/connect";
import {
  WorkerMessageSchema,
  type HelloSchema,
  type ServerMessage,
  type TaskResult,
  type Welcome,
  type WorkerMessage,
} from "../gen/weft/v1/worker_service_pb.js";
import type { Backoff } from "./backoff.js";
import { createChannel, type Channel } from "./channel.js";
import type { TlsFiles } from "./client.js";
import { createLinkClients, type LinkClients } from "./link-clients.js";
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
  /** PEM files for `https://` addresses. */
  tls?: TlsFiles | undefined;
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

/** One attempt's call: the outgoing channel and the abort of the call. */
interface Stream {
  readonly address: string;
  readonly out: Channel<WorkerMessage>;
  readonly call: AbortController;
}

/** A welcomed stream and what its welcome said the server takes. */
interface Open {
  readonly kind: "open";
  readonly stream: Stream;
  readonly welcomedAt: number;
  /** The server takes `results`: results sent in one event-loop turn go as one message. */
  readonly batches: boolean;
  /** The server takes `output_json`; without it, outputs go as `Value`s. */
  readonly json: boolean;
  /** Results waiting for the end of this turn (only with `batches`). */
  readonly results: TaskResult[];
}

/**
 * Where the link is: not started; waiting for a welcome; welcomed (`send()`
 * works only here); between attempts; or done (closed, or `onDown` said stop).
 */
type LinkState =
  | { readonly kind: "idle" }
  | { readonly kind: "connecting"; readonly stream: Stream }
  | Open
  | { readonly kind: "backing-off"; readonly address: string; readonly retryAt: number }
  | { readonly kind: "closed"; readonly address: string | undefined };

/** Most results in one `results` message. */
const MAX_RESULTS_PER_MESSAGE = 256;

/** Pushes the results gathered this turn: one `result`, or `results` messages of at most 256. */
function flushResults(open: Open): void {
  const all = open.results.splice(0, open.results.length);
  for (let i = 0; i < all.length; i += MAX_RESULTS_PER_MESSAGE) {
    const chunk = all.slice(i, i + MAX_RESULTS_PER_MESSAGE);
    open.stream.out.push(
      chunk.length === 1
        ? create(WorkerMessageSchema, { msg: { case: "result", value: chunk[0]! } })
        : create(WorkerMessageSchema, { msg: { case: "results", value: { results: chunk } } }),
    );
  }
}

/** The address of the current or last attempt. */
function addressOf(state: LinkState): string | undefined {
  switch (state.kind) {
    case "idle":
      return undefined;
    case "connecting":
    case "open":
      return state.stream.address;
    default:
      return state.address;
  }
}

/** Queues `sent` on a welcomed stream, as the server takes it; false once the stream is closing. */
function sendOn(open: Open, sent: WorkerMessage): boolean {
  if (open.stream.out.closed) return false;
  // An older server knows outputs only as Values (also for results resent after a reconnect).
  const msg =
    !open.json && sent.msg.case === "result" && sent.msg.value.outcome.case === "outputJson"
      ? withValueOutput(sent as ResultMessage)
      : sent;
  if (open.batches && msg.msg.case === "result") {
    if (open.results.push(msg.msg.value) === 1) setImmediate(() => flushResults(open));
    return true;
  }
  // Keep the order: results gathered earlier in this turn go first.
  if (open.results.length > 0) flushResults(open);
  return open.stream.out.push(msg);
}

/** One attempt: hello, welcome (`opened` then), then messages until the stream ends. */
async function attempt(
  stream: Stream,
  opts: LinkOptions,
  clients: LinkClients,
  handlers: LinkHandlers,
  opened: (open: Open) => void,
): Promise<void> {
  const { address } = stream;
  stream.out.push(create(WorkerMessageSchema, { msg: { case: "hello", value: opts.hello() } }));
  const responses = clients
    .clientFor(address)
    .connect(stream.out, { signal: stream.call.signal, headers: opts.headers });
  const it = responses[Symbol.asyncIterator]();
  const first = await withTimeout(it.next(), opts.welcomeTimeoutMs, stream.call, address);
  if (first.done) throw new ConnectError(`${address} ended the stream before welcome`, Code.Unavailable);
  if (first.value.msg.case !== "welcome") {
    throw new ConnectError(
      `${address} sent ${first.value.msg.case ?? "an empty message"} before welcome`,
      Code.Internal,
    );
  }
  const welcome = first.value.msg.value;
  opened({
    kind: "open",
    stream,
    welcomedAt: Date.now(),
    batches: welcome.acceptsBatches,
    json: welcome.acceptsJson,
    results: [],
  });
  handlers.onWelcome(welcome, address);
  for (;;) {
    const next = await it.next();
    if (next.done) return;
    handlers.onMessage(next.value);
  }
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
  const clients = createLinkClients(opts);
  const closing = new AbortController();
  let state: LinkState = { kind: "idle" };
  /** Read through a call: the attempt moves the state while the loop awaits it. */
  const current = (): LinkState => state;
  let loop: Promise<void> | undefined;

  const run = async (): Promise<void> => {
    for (let n = 0; !closing.signal.aborted; n++) {
      const address = opts.addresses[n % opts.addresses.length] as string;
      const stream: Stream = { address, out: createChannel<WorkerMessage>(), call: new AbortController() };
      state = { kind: "connecting", stream };
      stream.call.signal.addEventListener("abort", () => stream.out.close(), { once: true });
      let error: ConnectError | undefined;
      try {
        await attempt(stream, opts, clients, handlers, (open) => (state = open));
      } catch (err) {
        error = ConnectError.from(err);
      }
      const ended = current();
      if (ended.kind === "open" && Date.now() - ended.welcomedAt >= STABLE_AFTER_MS) opts.backoff.reset();
      const retryInMs = opts.backoff.next();
      state = { kind: "backing-off", address, retryAt: Date.now() + retryInMs };
      stream.out.close();
      stream.call.abort(new ConnectError("stream finished", Code.Canceled));
      const welcomed = ended.kind === "open";
      const again = handlers.onDown({ address, error, welcomed, retryInMs });
      if (!again || closing.signal.aborted) break;
      await sleep(retryInMs, closing.signal);
    }
    state = { kind: "closed", address: addressOf(state) };
  };

  return {
    start() {
      loop ??= run();
    },
    send(sent) {
      const s = state;
      return s.kind === "open" && sendOn(s, sent);
    },
    get connected() {
      return state.kind === "open";
    },
    get address() {
      return addressOf(state);
    },
    async close(graceMs) {
      closing.abort();
      const s = state;
      if (s.kind === "open" && loop) {
        s.stream.out.close();
        const waited = new AbortController();
        await Promise.race([loop, sleep(graceMs, waited.signal)]);
        waited.abort();
      }
      const now = current();
      if (now.kind === "connecting" || now.kind === "open")
        now.stream.call.abort(new ConnectError("worker closed", Code.Canceled));
      await loop;
      clients.release();
      state = { kind: "closed", address: addressOf(state) };
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
