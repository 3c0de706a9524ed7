"""Where tasks live while they run (the TypeScript SDK's task-host.ts): takes
the server's tasks, cancels and acks, accepts or refuses each task, guards
the slots, runs handlers, heartbeats and hands results to the book and the
current stream. Connection-agnostic: it only uses `session.send()`.

Refusals, reported at once so the server frees the slot and re-queues or fails the step:
an action not registered → UNKNOWN_ACTION, not retryable; draining → WORKER_DRAINING and
every slot busy → NO_SLOT, both retryable.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft._results import ResultBook, result_message
from weft._running import EventLoopThread, Handler, Outcome, Running, run_async, run_sync
from weft._session import Session
from weft.errors import SdkErrorType, TaskError

EventSink = Callable[[str, dict[str, Any]], None]
"""`(event, fields)`: welcome, task, result, ack, cancel, disconnected, refused, draining, stopped, handler_error."""


class TaskHost:
    """The running tasks of one worker, across its streams."""

    def __init__(self, handlers: dict[str, Handler], slots: int, max_result_bytes: int, emit: EventSink) -> None:
        self._handlers = handlers
        self.slots = slots
        self.max_result_bytes = max_result_bytes
        self._emit = emit
        self._lock = threading.Lock()
        self.tasks: dict[str, Running] = {}  # owed a result, by task id
        self._idle = threading.Condition(self._lock)
        self._busy = 0  # handlers that have not returned (superseded ones included)
        self.book = ResultBook()
        self.session: Session | None = None  # the welcomed stream, None while disconnected
        self.stopping = threading.Event()  # draining: no new tasks
        self.pool: ThreadPoolExecutor | None = None
        self.loop: EventLoopThread | None = None

    def attach(self, session: Session) -> None:
        """A welcomed stream: results go out on it from now on, the un-acked ones at once (the token decides)."""
        with self._lock:
            self.session = session
            pending = self.book.resend_all()
        for msg in pending:
            session.send(msg)

    def detach(self, session: Session) -> None:
        with self._lock:
            if self.session is session:
                self.session = None

    def receive(self, msg: Any, kind: str) -> None:
        """A server message after the welcome."""
        if kind == "task":
            self.on_task(msg.task)
        elif kind == "tasks":
            for task in msg.tasks.tasks:
                self.on_task(task)
        elif kind == "cancel":
            self.on_cancel(msg.cancel)
        elif kind == "ack":
            self.on_ack(msg.ack)
        elif kind == "acks":
            for ack in msg.acks.acks:
                self.on_ack(ack)

    def wait_idle(self, timeout: float, grace_end: threading.Event) -> list[Running]:
        """Wait until no task is owed a result, `timeout` passes or `grace_end` is set; the tasks left."""
        end = time.monotonic() + timeout
        with self._idle:
            while self.tasks and not grace_end.is_set() and time.monotonic() < end:
                self._idle.wait(0.05)
            return list(self.tasks.values())

    def heartbeat_targets(self) -> tuple[list[str], list[float]]:
        """The ids of the tasks to heartbeat now (marked as beaten), and their heartbeat timeouts."""
        with self._lock:
            running = [r for r in self.tasks.values() if not r.reported]
        now = time.monotonic()
        for r in running:
            r.last_beat = now
        return [r.task.task_id for r in running], [r.heartbeat_s for r in running if r.heartbeat_s > 0]

    def beat(self, running: Running) -> None:
        """`ctx.heartbeat()`: one task's heartbeat now, throttled to a third of its timeout."""
        session = self.session
        if session is None or running.reported:
            return
        throttle = running.heartbeat_s / 3 if running.heartbeat_s > 0 else session.heartbeat_s
        now = time.monotonic()
        if now - running.last_beat >= throttle:
            running.last_beat = now
            session.send(pb.WorkerMessage(heartbeat=pb.Heartbeat(task_ids=[running.task.task_id])))

    def on_task(self, task: Any) -> None:
        """Run the task, or refuse it at once (see the module docstring)."""
        handler = self._handlers.get(task.action)
        running = Running(task, self.beat)
        with self._lock:
            older = self.tasks.pop(task.task_id, None)
            if older is not None:
                older.reported = True
            draining = self.stopping.is_set()
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
                self.tasks[task.task_id] = running
                self._busy += 1
        if older is not None:  # offered again: the older delivery and its un-acked result are stale
            older.release()
            self.book.drop(task.task_id)
            older.ctx._cancel(TaskError(SdkErrorType.SUPERSEDED, "the server offered this task again"))
        fields = {"task_id": task.task_id, "run_id": task.run_id, "step_id": task.step_id, "action": task.action,
                  "attempt": task.attempt}
        if task.traceparent:
            fields["traceparent"] = task.traceparent
        if refusal is not None and draining:
            fields["handed_back"] = True
        self._emit("task", fields)
        if refusal is not None:
            self.report(running, refusal)
        elif handler is not None:
            self.start(running, handler)

    def start(self, running: Running, handler: Handler) -> None:
        def on_error(tb: str) -> None:
            self._emit("handler_error", {"task_id": running.task.task_id, "traceback": tb})

        def done(outcome: Outcome) -> None:
            with self._lock:
                self._busy -= 1
            self.finish(running, outcome)

        if inspect.iscoroutinefunction(handler) and self.loop is not None:
            fut = asyncio.run_coroutine_threadsafe(run_async(handler, running, on_error), self.loop.loop)
            fut.add_done_callback(lambda f: done(f.result() if not f.cancelled() else running.ctx.cancel_error()))
        elif self.pool is not None:
            self.pool.submit(lambda: done(run_sync(handler, running, on_error)))

    def on_cancel(self, cancel: Any) -> None:
        self._emit("cancel", {"task_id": cancel.task_id, "reason": cancel.reason})
        with self._lock:
            running = self.tasks.get(cancel.task_id)
        if running is not None:
            running.ctx._cancel(TaskError.non_retryable(SdkErrorType.CANCELLED, cancel.reason or "cancelled by the server"))

    def on_ack(self, ack: Any) -> None:
        if ack.retry_later:
            self.book.later(ack.task_id)
        else:
            self.book.ack(ack.task_id)
        self._emit("ack", {"task_id": ack.task_id, "accepted": ack.accepted, "reason": ack.reason})

    def finish(self, running: Running, outcome: Outcome) -> None:
        """Only the first result of a delivery counts; a superseded or already-reported one sends nothing."""
        with self._lock:
            if running.reported:
                return
            running.reported = True
            if self.tasks.get(running.task.task_id) is running:
                del self.tasks[running.task.task_id]
            if not self.tasks:
                self._idle.notify_all()
        self.report(running, outcome)

    def report(self, running: Running, outcome: Outcome) -> None:
        running.release()
        task = running.task
        msg = result_message(task, outcome, self.max_result_bytes)
        with self._lock:  # in the book before attach() takes its copy, or sent on the stream attach() set
            self.book.put(msg)
            session = self.session
        if session is not None:
            session.send(msg)
        error = msg.result.error if msg.result.HasField("error") else None
        self._emit("result", {"task_id": task.task_id, "step_id": task.step_id, "ok": error is None,
                              "type": error.type if error else None, "retryable": error.retryable if error else None})
