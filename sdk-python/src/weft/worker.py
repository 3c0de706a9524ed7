"""`Worker`: register actions, `run()`. One `WorkerService.Connect` stream at
a time, reconnecting with backoff and full jitter across its addresses;
`slots` tasks at once; heartbeats, result resends and drains on its own.

    worker = Worker("127.0.0.1:8080", name="billing-1", slots=4)

    @worker.action("charge")
    def charge(inp, ctx):
        if inp["cents"] <= 0:
            raise TaskError.non_retryable("BAD_AMOUNT", "cents must be positive")
        return {"ok": True, "attempt": ctx.attempt}

    worker.run()  # until SIGTERM / SIGINT (a second one aborts running tasks), then drains
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence, TypeVar

import grpc

from weft._channel import Target, target
from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft._gen.weft.v1 import worker_service_pb2_grpc as pb_grpc
from weft._results import ResultBook, result_message
from weft._running import EventLoopThread, Handler, Outcome, Running, run_async, run_sync
from weft._session import Session, heartbeat_loop
from weft.errors import SdkErrorType, TaskError, WeftError, WorkerRefused

ACTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
# Codes that mean "this hello will never be welcomed" on the first connect.
_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
# A stream that stayed up this long resets the backoff.
_STABLE_S = 5.0
_CLOSE_GRACE_S = 2.0
_log = logging.getLogger("weft.worker")

EventSink = Callable[[str, dict[str, Any]], None]
"""`(event, fields)`: welcome, task, result, ack, cancel, disconnected, refused, draining, stopped, handler_error."""
H = TypeVar("H", bound=Handler)


def _log_event(event: str, fields: dict[str, Any]) -> None:
    level = logging.WARNING if event in ("disconnected", "refused", "handler_error") else logging.DEBUG
    _log.log(level, "%s %s", event, fields)


class Worker:
    """A Weft worker; see the module docstring."""

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        name: str,
        slots: int = 1,
        labels: Mapping[str, str] | None = None,
        api_key: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        drain_grace: float = 10.0,
        ack_wait: float = 5.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        welcome_timeout: float = 10.0,
        result_resend: float = 5.0,
        max_result_bytes: int = 4 * 1024 * 1024 - 64 * 1024,
        handle_signals: bool = True,
        on_event: EventSink | None = None,
    ) -> None:
        addresses = [address] if isinstance(address, str) else list(address)
        if not addresses:
            raise ValueError("address: at least one")
        tls = {"api_key": api_key, "ca_file": ca_file, "cert_file": cert_file, "key_file": key_file}
        self._targets: list[Target] = [target(a, **tls) for a in addresses]
        if not 1 <= len(name) <= 256:
            raise ValueError("name: 1 to 256 characters")
        if not 1 <= slots <= 10_000:
            raise ValueError("slots: an integer from 1 to 10000")
        self.name, self.slots, self.labels = name, slots, dict(labels or {})
        self.drain_grace, self.ack_wait, self.welcome_timeout = drain_grace, ack_wait, welcome_timeout
        self._backoff = (reconnect_initial, max(reconnect_initial, reconnect_max))
        self.result_resend, self.max_result_bytes, self.handle_signals = result_resend, max_result_bytes, handle_signals
        self._emit: EventSink = on_event or _log_event
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self._running: dict[str, Running] = {}
        self._idle = threading.Condition(self._lock)
        self._busy = 0
        self._book = ResultBook()
        self._session: Session | None = None
        self._call: Any = None
        self._stopping = threading.Event()  # no new tasks
        self._grace_end = threading.Event()  # abort running tasks now
        self._closed = threading.Event()  # no more connects
        self._pool: ThreadPoolExecutor | None = None
        self._loop: EventLoopThread | None = None
        self.worker_id: str | None = None

    def action(self, name: str) -> Callable[[H], H]:
        """Decorator: `@worker.action("charge")` over `def handler(input, ctx)` or `async def`."""
        if not ACTION_NAME.match(name):
            raise ValueError(f"action {name!r} must match {ACTION_NAME.pattern}")
        if name in self._handlers:
            raise ValueError(f"action {name!r} is already registered")

        def register(fn: H) -> H:
            self._handlers[name] = fn
            return fn

        return register

    @property
    def running(self) -> int:
        return len(self._running)

    @property
    def pending_acks(self) -> int:
        return len(self._book)

    def run(self) -> None:
        """Connect and serve until stopped (SIGTERM / SIGINT, or `stop()`), then return.
        Raises `WorkerRefused` when the server refuses the first hello."""
        if not self._handlers:
            raise ValueError("register at least one action")
        self._pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="weft-task")
        if any(inspect.iscoroutinefunction(h) for h in self._handlers.values()):
            self._loop = EventLoopThread()
        restore = self._hook_signals()
        try:
            self._connect_loop()
        finally:
            restore()
            self._pool.shutdown(wait=False, cancel_futures=True)
            if self._loop is not None:
                self._loop.stop()
            self._emit("stopped", {})

    def stop(self) -> None:
        """Begin the drain (from any thread): new tasks go back, running ones get `drain_grace`
        to finish, the rest are cancelled and reported WORKER_SHUTDOWN; a second call aborts them now."""
        if self._stopping.is_set():
            self._grace_end.set()
            return
        self._stopping.set()
        threading.Thread(target=self._drain, name="weft-drain", daemon=True).start()

    # ---- connecting ------------------------------------------------------------------------

    def _connect_loop(self) -> None:
        ever_welcomed, attempt, n = False, 0, 0
        while not self._closed.is_set():
            tgt = self._targets[n % len(self._targets)]
            n += 1
            error: grpc.RpcError | None = None
            channel = tgt.channel()
            try:
                welcomed_at = self._stream(channel, tgt)
            except grpc.RpcError as err:
                welcomed_at, error = None, err
            finally:
                channel.close()
            if self._closed.is_set():
                return
            if welcomed_at is not None:
                ever_welcomed = True
                if time.monotonic() - welcomed_at >= _STABLE_S:
                    attempt = 0
            code = error.code() if error is not None else None
            if error is not None and not ever_welcomed and code in _REFUSED:
                refused = WorkerRefused.from_rpc(error)
                self._emit("refused", {"code": code.name, "message": refused.message,
                                       "violations": [f"{v.field}: {v.description}" for v in refused.violations]})
                raise refused
            initial, cap = self._backoff
            delay = random.uniform(0, min(cap, initial * 2**attempt))  # full jitter
            attempt += 1
            self._emit("disconnected", {"address": tgt.host, "code": code.name if code else None,
                                        "message": error.details() if error is not None else "the server ended the stream",
                                        "retry_in_s": round(delay, 3)})
            self._closed.wait(delay)

    def _hello(self) -> pb.WorkerMessage:
        return pb.WorkerMessage(hello=pb.Hello(
            worker_name=self.name, actions=sorted(self._handlers), slots=self.slots, labels=self.labels,
            accepts_batches=True, accepts_json=True,
        ))

    def _stream(self, channel: grpc.Channel, tgt: Target) -> float | None:
        """One stream until it ends; the time it was welcomed, None if never."""
        session = Session(self._hello(), tgt.host)
        call = pb_grpc.WorkerServiceStub(channel).Connect(session.requests(), metadata=tgt.metadata)
        self._call = call
        timer = threading.Timer(self.welcome_timeout, call.cancel)
        timer.daemon = True
        timer.start()
        welcomed_at: float | None = None
        try:
            for msg in call:
                kind = msg.WhichOneof("msg")
                if kind == "welcome" and welcomed_at is None:
                    timer.cancel()
                    welcomed_at = time.monotonic()
                    self._welcomed(session, msg.welcome)
                elif kind == "task":
                    self._on_task(msg.task)
                elif kind == "tasks":
                    for task in msg.tasks.tasks:
                        self._on_task(task)
                elif kind == "cancel":
                    self._on_cancel(msg.cancel)
                elif kind == "ack":
                    self._on_ack(msg.ack)
                elif kind == "acks":
                    for ack in msg.acks.acks:
                        self._on_ack(ack)
        finally:
            timer.cancel()
            with self._lock:
                if self._session is session:
                    self._session = None
            session.close()
        return welcomed_at

    def _welcomed(self, session: Session, welcome: Any) -> None:
        session.welcomed(welcome)
        with self._lock:
            self._session = session
        for pending in self._book.values():  # resend: the token decides
            session.send(pending)
        threading.Thread(target=heartbeat_loop, name="weft-heartbeat", daemon=True,
                         args=(session, self._heartbeat_targets, lambda: self._book.due(self.result_resend))).start()
        self.worker_id = welcome.worker_id
        self._emit("welcome", {"worker_id": welcome.worker_id, "heartbeat_interval_s": session.heartbeat_s,
                               "address": session.address})

    def _heartbeat_targets(self) -> tuple[list[str], list[float]]:
        with self._lock:
            running = [r for r in self._running.values() if not r.reported]
        now = time.monotonic()
        for r in running:
            r.last_beat = now
        return [r.task.task_id for r in running], [r.heartbeat_s for r in running if r.heartbeat_s > 0]

    def _beat(self, running: Running) -> None:
        """`ctx.heartbeat()`: one task's heartbeat now, throttled to a third of its timeout."""
        session = self._session
        if session is None or running.reported:
            return
        throttle = running.heartbeat_s / 3 if running.heartbeat_s > 0 else session.heartbeat_s
        now = time.monotonic()
        if now - running.last_beat >= throttle:
            running.last_beat = now
            session.send(pb.WorkerMessage(heartbeat=pb.Heartbeat(task_ids=[running.task.task_id])))

    # ---- tasks -----------------------------------------------------------------------------

    def _on_task(self, task: Any) -> None:
        handler = self._handlers.get(task.action)
        running = Running(task, self._beat)
        with self._lock:
            older = self._running.pop(task.task_id, None)
            draining = self._stopping.is_set()
            refusal = (
                TaskError.non_retryable(SdkErrorType.UNKNOWN_ACTION, f"no handler for action {task.action!r}")
                if handler is None
                else TaskError(SdkErrorType.WORKER_DRAINING, "the worker is draining", retryable=True)
                if draining
                else TaskError(SdkErrorType.NO_SLOT, f"all {self.slots} slots are busy", retryable=True)
                if self._busy >= self.slots
                else None
            )
            if refusal is None:
                self._running[task.task_id] = running
                self._busy += 1
        if older is not None:  # offered again: the older delivery and its un-acked result are stale
            older.reported = True
            older.release()
            self._book.drop(task.task_id)
            older.ctx._cancel(TaskError(SdkErrorType.SUPERSEDED, "the server offered this task again"))
        fields = {"task_id": task.task_id, "run_id": task.run_id, "step_id": task.step_id, "action": task.action,
                  "attempt": task.attempt}
        if task.traceparent:
            fields["traceparent"] = task.traceparent
        if refusal is not None and draining:
            fields["handed_back"] = True
        self._emit("task", fields)
        if refusal is not None:
            self._report(running, refusal)
        elif handler is not None:
            self._start(running, handler)

    def _start(self, running: Running, handler: Handler) -> None:
        def on_error(tb: str) -> None:
            self._emit("handler_error", {"task_id": running.task.task_id, "traceback": tb})

        def done(outcome: Outcome) -> None:
            with self._lock:
                self._busy -= 1
            self._finish(running, outcome)

        if inspect.iscoroutinefunction(handler) and self._loop is not None:
            fut = asyncio.run_coroutine_threadsafe(run_async(handler, running, on_error), self._loop.loop)
            fut.add_done_callback(lambda f: done(f.result() if not f.cancelled() else running.ctx.cancel_error()))
        elif self._pool is not None:
            self._pool.submit(lambda: done(run_sync(handler, running, on_error)))

    def _on_cancel(self, cancel: Any) -> None:
        self._emit("cancel", {"task_id": cancel.task_id, "reason": cancel.reason})
        with self._lock:
            running = self._running.get(cancel.task_id)
        if running is not None:
            running.ctx._cancel(TaskError.non_retryable(SdkErrorType.CANCELLED, cancel.reason or "cancelled by the server"))

    def _on_ack(self, ack: Any) -> None:
        if ack.retry_later:
            self._book.later(ack.task_id)
        else:
            self._book.ack(ack.task_id)
        self._emit("ack", {"task_id": ack.task_id, "accepted": ack.accepted, "reason": ack.reason})

    def _finish(self, running: Running, outcome: Outcome) -> None:
        """Only the first result of a delivery counts; a superseded or already-reported one sends nothing."""
        with self._lock:
            if running.reported:
                return
            running.reported = True
            if self._running.get(running.task.task_id) is running:
                del self._running[running.task.task_id]
            if not self._running:
                self._idle.notify_all()
        self._report(running, outcome)

    def _report(self, running: Running, outcome: Outcome) -> None:
        running.release()
        task = running.task
        msg = result_message(task, outcome, self.max_result_bytes)
        self._book.put(msg)
        session = self._session
        if session is not None:
            session.send(msg)
        error = msg.result.error if msg.result.HasField("error") else None
        self._emit("result", {"task_id": task.task_id, "step_id": task.step_id, "ok": error is None,
                              "type": error.type if error else None, "retryable": error.retryable if error else None})

    # ---- stopping --------------------------------------------------------------------------

    def _drain(self) -> None:
        self._emit("draining", {"running": len(self._running)})
        end = time.monotonic() + self.drain_grace
        with self._idle:
            while self._running and not self._grace_end.is_set() and time.monotonic() < end:
                self._idle.wait(0.05)
            leftovers = list(self._running.values())
        for r in leftovers:  # the handler sees the cancel; its result goes back as retryable
            reason = TaskError(SdkErrorType.WORKER_SHUTDOWN, "the worker stopped before the task finished")
            r.ctx._cancel(reason)
            self._finish(r, reason)
        if self._session is not None and not self._book.wait_empty(self.ack_wait):
            _log.warning("%d result(s) not acknowledged; their tasks run again once their leases end", len(self._book))
        self._closed.set()
        session, call = self._session, self._call
        if session is not None:
            session.close()  # half-close: the server ends the stream
        if call is not None:  # a server that does not end the stream is cut off
            timer = threading.Timer(_CLOSE_GRACE_S, call.cancel)
            timer.daemon = True
            timer.start()

    def _hook_signals(self) -> Callable[[], None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


__all__ = ["Worker", "WeftError", "WorkerRefused"]
