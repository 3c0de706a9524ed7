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
import { SdkErrorType, TaskError, type TaskHandler } from "./context.js";
import { createEmitter, type Emitter } from "./events.js";
import { createLink, type Link, type LinkHandlers } from "./link.js";
import { hookStopSignals } from "./stop-signals.js";
import { createTaskHost } from "./task-host.js";
import type { WorkerEvents } from "./worker-events.js";
import {
  ACTION_NAME,
  linkOptions,
  resolveWorkerOptions,
  type ResolvedWorkerOptions,
  type WorkerOptions,
} from "./worker-options.js";
import type { Draining, Phase, Run } from "./worker-phase.js";
import { WorkerState, deferred, transition } from "./worker-state.js";

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
  #phase: Phase = { kind: WorkerState.INITIALIZED };

  constructor(options: WorkerOptions) {
    this.#opts = resolveWorkerOptions(options);
    this.#events = createEmitter<WorkerEvents>((err, name) =>
      this.#opts.logger("error", `a "${String(name)}" listener threw`, { err }),
    );
  }

  /** The lifecycle state; see `WorkerState`. */
  get state(): WorkerState {
    return this.#phase.kind;
  }

  /** Whether a server has welcomed the current stream. */
  get connected(): boolean {
    return this.#run?.link.connected ?? false;
  }

  /** The id of the last welcome, undefined before the first. */
  get workerId(): string | undefined {
    return this.#run?.welcome?.workerId;
  }

  /** Tasks running now (owed a result). */
  get running(): number {
    return this.#run?.host.running ?? 0;
  }

  /** Results sent (or waiting to be) that the server has not acknowledged. */
  get pendingAcks(): number {
    return this.#run?.host.pendingAcks ?? 0;
  }

  /**
   * Run `handler` for tasks of `action`. Only before `start()`: the hello
   * names the actions once.
   */
  register<I = JsonValue, O = unknown>(action: string, handler: TaskHandler<I, O>): this {
    if (this.#phase.kind !== WorkerState.INITIALIZED) throw new Error("register() must come before start()");
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
    const phase = this.#phase;
    if (phase.kind !== WorkerState.INITIALIZED)
      return phase.run?.started.promise ?? Promise.reject(new Error(`cannot start a worker that is ${phase.kind}`));
    if (this.#handlers.size === 0) return Promise.reject(new TypeError("register at least one action before start()"));
    const started = deferred();
    const link = this.#createLink({
      onWelcome: (welcome, address) => this.#onWelcome(run, welcome, address),
      onMessage: (msg) => run.host.receive(msg),
      onDown: (down) => this.#onDown(run, down),
    });
    const o = this.#opts;
    const host = createTaskHost({
      handlers: this.#handlers,
      slots: o.slots,
      maxResultBytes: o.maxResultBytes,
      resultResendMs: o.resultResendMs,
      send: (msg) => link.send(msg),
      events: this.#events,
      logger: o.logger,
    });
    const run: Run = { link, host, started, welcome: undefined, unhookSignals: () => {} };
    this.#setPhase({ kind: WorkerState.RUNNING, run });
    if (o.handleSignals) {
      run.unhookSignals = hookStopSignals({
        running: () => this.#phase.kind === WorkerState.RUNNING,
        stop: () => void this.stop(),
        endGrace: () => this.#graceEnd.abort(),
        logger: o.logger,
      });
    }
    link.start();
    return started.promise;
  }

  /**
   * Drain and disconnect: new tasks are refused (WORKER_DRAINING, retryable);
   * running handlers get `drainGraceMs` to finish; the rest are aborted
   * (`ctx.signal`) and reported failed (WORKER_SHUTDOWN, retryable) so the
   * server re-queues them at once; then the worker waits up to `ackWaitMs`
   * for the last acknowledgements and closes the stream. Never rejects.
   */
  stop(): Promise<void> {
    const phase = this.#phase;
    switch (phase.kind) {
      case WorkerState.INITIALIZED:
        this.#setPhase({ kind: WorkerState.STOPPED, run: undefined, drained: undefined });
        return Promise.resolve();
      case WorkerState.RUNNING: {
        const drained = deferred();
        const draining: Draining = { kind: "DRAINING", run: phase.run, drained: drained.promise, closingLink: false };
        this.#setPhase(draining);
        this.#drain(draining).then(drained.resolve, drained.reject);
        return drained.promise;
      }
      default:
        return phase.drained ?? Promise.resolve();
    }
  }

  async #drain(draining: Draining): Promise<void> {
    const { run } = draining;
    const { host, link } = run;
    const log = this.#opts.logger;
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
      draining.closingLink = true;
      await link.close(CLOSE_GRACE_MS);
    } finally {
      host.close();
      run.unhookSignals();
      if (!run.welcome) run.started.reject(new Error("the worker was stopped before a server welcomed it"));
      if (this.#phase.kind === WorkerState.DRAINING)
        this.#setPhase({ kind: WorkerState.STOPPED, run, drained: draining.drained });
    }
  }

  #onWelcome(run: Run, welcome: Welcome, address: string): void {
    const ms = welcome.heartbeatInterval ? durationMs(welcome.heartbeatInterval) : 0;
    const heartbeatIntervalMs = ms > 0 ? ms : DEFAULT_HEARTBEAT_MS;
    run.welcome = welcome;
    run.host.connected(heartbeatIntervalMs);
    this.#opts.logger("info", "connected", { address, workerId: welcome.workerId, heartbeatIntervalMs });
    this.#events.emit("connected", { workerId: welcome.workerId, address, heartbeatIntervalMs });
    run.started.resolve();
  }

  #onDown(run: Run, down: Parameters<LinkHandlers["onDown"]>[0]): boolean {
    const { address, error, welcomed } = down;
    run.host.disconnected();
    const log = this.#opts.logger;
    if (!run.welcome && error && REFUSED.has(error.code)) {
      log("error", `the server refused the worker: ${error.message}`, { address, code: Code[error.code] });
      this.#events.emit("disconnected", { address, error, retryInMs: undefined });
      this.#events.emit("error", error);
      this.#fail(run, error);
      return false;
    }
    // Reconnect while running, and while draining until the drain closes the stream.
    const phase = this.#phase;
    const reconnect = phase.kind === WorkerState.RUNNING || (phase.kind === WorkerState.DRAINING && !phase.closingLink);
    this.#events.emit("disconnected", { address, error, retryInMs: reconnect ? down.retryInMs : undefined });
    if (!reconnect) return false;
    const what = welcomed ? "stream lost" : "connect failed";
    log("warn", `${what}; reconnecting in ${down.retryInMs} ms`, {
      address,
      error: error?.message,
      code: error ? Code[error.code] : undefined,
    });
    return true;
  }

  #fail(run: Run, error: ConnectError): void {
    const phase = this.#phase;
    this.#setPhase({ kind: WorkerState.FAILED, run, drained: "drained" in phase ? phase.drained : undefined });
    run.host.close();
    run.unhookSignals();
    void run.link.close(0);
    run.started.reject(error);
  }

  /** The started worker's parts, from start() on. */
  get #run(): Run | undefined {
    const phase = this.#phase;
    return phase.kind === WorkerState.INITIALIZED ? undefined : phase.run;
  }

  #setPhase(next: Phase): void {
    const from = this.#phase.kind;
    transition(from, next.kind);
    this.#phase = next;
    this.#events.emit("state", { from, to: next.kind });
  }

  #createLink(handlers: LinkHandlers): Link {
    return createLink(
      linkOptions(this.#opts, () => [...this.#handlers.keys()]),
      handlers,
    );
  }
}
