/**
 * `Worker`: register handlers, `start()`, `stop()`. It ties the connection
 * (`link.ts`) to the tasks (`task-host.ts`) and owns the lifecycle
 * (`worker-state.ts`): INITIALIZED → RUNNING → DRAINING → STOPPED, or
 * FAILED when the server refuses the first connect.
 *
 * @example
 * ```ts
 * const worker = new Worker({ address: "http://127.0.0.1:8080", name: "billing-1", slots: 4, handleSignals: true });
 * worker.register("charge", async (input: { cents: number }, ctx) => {
 *   await chargeCard(input.cents, { signal: ctx.signal });
 *   return { ok: true };
 * });
 * await worker.start(); // welcomed; reconnects by itself from now on
 * // …
 * await worker.stop();  // drain: finish or abort running tasks, then disconnect
 * ```
 */
import type { JsonValue } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import type { Welcome } from "../gen/weft/v1/worker_service_pb.js";
import { createBackoff } from "./backoff.js";
import { SdkErrorType, TaskError, type TaskHandler } from "./context.js";
import { createEmitter, type Emitter } from "./events.js";
import { createLink, type Link } from "./link.js";
import { createTaskHost, type TaskHost } from "./task-host.js";
import type { WorkerEvents } from "./worker-events.js";
import { ACTION_NAME, resolveWorkerOptions, type ResolvedWorkerOptions, type WorkerOptions } from "./worker-options.js";
import { WorkerState, transition } from "./worker-state.js";

/** Codes that mean "this hello will never be welcomed" on the first connect. */
const REFUSED = new Set<Code>([Code.InvalidArgument, Code.Unauthenticated, Code.PermissionDenied]);
/** Heartbeat interval when the welcome names none. */
const DEFAULT_HEARTBEAT_MS = 5_000;
/** How long stop() waits for the server to end a half-closed stream. */
const CLOSE_GRACE_MS = 2_000;

/**
 * A Weft worker: one stream to the control plane, `slots` tasks at a time.
 *
 * @example
 * ```ts
 * const worker = new Worker({ address: ["http://cp-1:8080", "http://cp-2:8080"], name: "w", slots: 8 });
 * worker.on("result", (r) => console.log(r.taskId, r.error?.type ?? "ok"));
 * ```
 */
export class Worker {
  readonly #opts: ResolvedWorkerOptions;
  readonly #handlers = new Map<string, TaskHandler<never>>();
  readonly #events: Emitter<WorkerEvents>;
  readonly #graceEnd = new AbortController();
  #state: WorkerState = WorkerState.INITIALIZED;
  #host: TaskHost | undefined;
  #link: Link | undefined;
  #workerId: string | undefined;
  #welcomed = false;
  #started: { promise: Promise<void>; resolve: () => void; reject: (err: Error) => void } | undefined;
  #stopping: Promise<void> | undefined;
  #unhookSignals: (() => void) | undefined;
  #closingLink = false;

  constructor(options: WorkerOptions) {
    this.#opts = resolveWorkerOptions(options);
    this.#events = createEmitter<WorkerEvents>((err, name) =>
      this.#opts.logger("error", `a "${String(name)}" listener threw`, { err }),
    );
  }

  /** The lifecycle state; see `WorkerState`. */
  get state(): WorkerState {
    return this.#state;
  }

  /** Whether a server has welcomed the current stream. */
  get connected(): boolean {
    return this.#link?.connected ?? false;
  }

  /** The id of the last welcome, undefined before the first. */
  get workerId(): string | undefined {
    return this.#workerId;
  }

  /** Tasks running now (owed a result). */
  get running(): number {
    return this.#host?.running ?? 0;
  }

  /** Results sent (or waiting to be) that the server has not acknowledged. */
  get pendingAcks(): number {
    return this.#host?.pendingAcks ?? 0;
  }

  /**
   * Run `handler` for tasks of `action`. Only before `start()`: the hello
   * names the actions once.
   */
  register<I = JsonValue, O = unknown>(action: string, handler: TaskHandler<I, O>): this {
    if (this.#state !== WorkerState.INITIALIZED) throw new Error("register() must come before start()");
    if (!ACTION_NAME.test(action)) throw new TypeError(`action "${action}" must match ${ACTION_NAME.source}`);
    if (this.#handlers.has(action)) throw new TypeError(`action "${action}" is already registered`);
    if (typeof handler !== "function") throw new TypeError(`the handler of "${action}" is not a function`);
    if (this.#handlers.size >= 1000) throw new TypeError("at most 1000 actions per worker");
    this.#handlers.set(action, handler as TaskHandler<never>);
    return this;
  }

  /** Listen to an event; returns a function that stops listening. */
  on<K extends keyof WorkerEvents>(name: K, listener: (payload: WorkerEvents[K]) => void): () => void {
    return this.#events.on(name, listener);
  }

  off<K extends keyof WorkerEvents>(name: K, listener: (payload: WorkerEvents[K]) => void): void {
    this.#events.off(name, listener);
  }

  /** The next `name` event whose payload passes `filter`. */
  once<K extends keyof WorkerEvents>(
    name: K,
    filter?: (payload: WorkerEvents[K]) => boolean,
  ): Promise<WorkerEvents[K]> {
    return this.#events.once(name, filter);
  }

  /**
   * Connect. Resolves once a server welcomed the worker; until then failed
   * attempts are retried with backoff, except a refusal of the first hello
   * (INVALID_ARGUMENT, UNAUTHENTICATED, PERMISSION_DENIED), which rejects and
   * leaves the worker FAILED. Also rejects when stop() comes first.
   */
  start(): Promise<void> {
    if (this.#started) return this.#started.promise;
    if (this.#state !== WorkerState.INITIALIZED)
      return Promise.reject(new Error(`cannot start a worker that is ${this.#state}`));
    if (this.#handlers.size === 0) return Promise.reject(new TypeError("register at least one action before start()"));
    let resolve!: () => void;
    let reject!: (err: Error) => void;
    const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
    this.#started = { promise, resolve, reject };
    const o = this.#opts;
    const link = createLink(
      {
        addresses: o.addresses,
        headers: o.headers,
        welcomeTimeoutMs: o.welcomeTimeoutMs,
        pingIntervalMs: o.pingIntervalMs,
        shareConnection: o.shareConnection,
        backoff: createBackoff({ initialDelayMs: o.initialDelayMs, maxDelayMs: o.maxDelayMs }),
        hello: () => ({
          workerName: o.name,
          actions: [...this.#handlers.keys()],
          slots: o.slots,
          labels: o.labels,
          acceptsBatches: true,
          acceptsJson: true,
        }),
      },
      {
        onWelcome: (welcome, address) => this.#onWelcome(welcome, address),
        onMessage: (msg) => this.#host?.receive(msg),
        onDown: (down) => this.#onDown(down),
      },
    );
    this.#link = link;
    this.#host = createTaskHost({
      handlers: this.#handlers,
      slots: o.slots,
      maxResultBytes: o.maxResultBytes,
      resultResendMs: o.resultResendMs,
      send: (msg) => link.send(msg),
      events: this.#events,
      logger: o.logger,
    });
    this.#setState(WorkerState.RUNNING);
    if (o.handleSignals) this.#hookSignals();
    link.start();
    return promise;
  }

  /**
   * Drain and disconnect: new tasks are refused (WORKER_DRAINING, retryable);
   * running handlers get `drainGraceMs` to finish; the rest are aborted
   * (`ctx.signal`) and reported failed (WORKER_SHUTDOWN, retryable) so the
   * server re-queues them at once; then the worker waits up to `ackWaitMs`
   * for the last acknowledgements and closes the stream. Never rejects.
   */
  stop(): Promise<void> {
    if (this.#stopping) return this.#stopping;
    if (this.#state === WorkerState.INITIALIZED) {
      this.#setState(WorkerState.STOPPED);
      return Promise.resolve();
    }
    if (this.#state !== WorkerState.RUNNING) return Promise.resolve();
    this.#stopping = this.#drain();
    return this.#stopping;
  }

  async #drain(): Promise<void> {
    const host = this.#host as TaskHost;
    const link = this.#link as Link;
    const log = this.#opts.logger;
    this.#setState(WorkerState.DRAINING);
    host.drain();
    try {
      const idle = await host.whenIdle(this.#opts.drainGraceMs, this.#graceEnd.signal);
      if (!idle) {
        const reason = new TaskError(SdkErrorType.WORKER_SHUTDOWN, "the worker stopped before the task finished", {
          retryable: true,
        });
        const n = host.abortAll(reason);
        log("warn", `aborted ${n} task(s) still running after the drain grace period`);
      }
      if (!(await host.whenAcked(this.#opts.ackWaitMs))) {
        log("warn", `${host.pendingAcks} result(s) not acknowledged; their tasks run again once their leases end`);
      }
      this.#closingLink = true;
      await link.close(CLOSE_GRACE_MS);
    } finally {
      host.close();
      this.#unhookSignals?.();
      if (!this.#welcomed) this.#started?.reject(new Error("the worker was stopped before a server welcomed it"));
      if (this.#state === WorkerState.DRAINING) this.#setState(WorkerState.STOPPED);
    }
  }

  #onWelcome(welcome: Welcome, address: string): void {
    const ms = welcome.heartbeatInterval ? durationMs(welcome.heartbeatInterval) : 0;
    const heartbeatIntervalMs = ms > 0 ? ms : DEFAULT_HEARTBEAT_MS;
    this.#workerId = welcome.workerId;
    this.#welcomed = true;
    this.#host?.connected(heartbeatIntervalMs);
    this.#opts.logger("info", "connected", { address, workerId: welcome.workerId, heartbeatIntervalMs });
    this.#events.emit("connected", { workerId: welcome.workerId, address, heartbeatIntervalMs });
    this.#started?.resolve();
  }

  #onDown(down: { address: string; error: ConnectError | undefined; welcomed: boolean; retryInMs: number }): boolean {
    const { address, error, welcomed } = down;
    this.#host?.disconnected();
    const log = this.#opts.logger;
    if (!this.#welcomed && error && REFUSED.has(error.code)) {
      log("error", `the server refused the worker: ${error.message}`, { address, code: Code[error.code] });
      this.#events.emit("disconnected", { address, error, retryInMs: undefined });
      this.#events.emit("error", error);
      this.#fail(error);
      return false;
    }
    const stopping = this.#closingLink || this.#state === WorkerState.FAILED;
    this.#events.emit("disconnected", { address, error, retryInMs: stopping ? undefined : down.retryInMs });
    if (stopping) return false;
    const what = welcomed ? "stream lost" : "connect failed";
    log("warn", `${what}; reconnecting in ${down.retryInMs} ms`, {
      address,
      error: error?.message,
      code: error ? Code[error.code] : undefined,
    });
    return true;
  }

  #fail(error: ConnectError): void {
    this.#setState(WorkerState.FAILED);
    this.#host?.close();
    this.#unhookSignals?.();
    void this.#link?.close(0);
    this.#started?.reject(error);
  }

  #setState(to: WorkerState): void {
    const from = this.#state;
    this.#state = transition(from, to);
    this.#events.emit("state", { from, to });
  }

  #hookSignals(): void {
    const onSignal = (signal: NodeJS.Signals): void => {
      if (!this.#stopping) {
        this.#opts.logger("info", `${signal}: draining (send it again to abort running tasks)`);
        void this.stop();
      } else {
        this.#opts.logger("warn", `${signal} again: aborting running tasks`);
        this.#graceEnd.abort();
      }
    };
    process.on("SIGTERM", onSignal);
    process.on("SIGINT", onSignal);
    this.#unhookSignals = () => {
      process.off("SIGTERM", onSignal);
      process.off("SIGINT", onSignal);
      this.#unhookSignals = undefined;
    };
  }
}
