"""A task while its handler runs: the context, the deadline timer, whether
its result went out; and running a handler (sync in a thread of the pool,
async on the worker's event loop) to an outcome: an output, or a TaskError."""

from __future__ import annotations

import asyncio
import threading
import time
import traceback
from datetime import timezone
from typing import Any, Awaitable, Callable, Union

from weft.context import TaskContext
from weft.errors import SdkErrorType, TaskError
from weft.values import Json, from_json_bytes, from_value

Handler = Callable[[Any, TaskContext], Any]
"""`def handler(input, ctx)` or `async def handler(input, ctx)`; returns anything JSON holds."""
Outcome = Union[TaskError, Any]


class Running:
    """One delivery of a task, from its arrival to its result."""

    def __init__(self, task: Any, heartbeat: Callable[[Running], None]) -> None:
        self.task = task
        self.reported = False
        self.last_beat = time.monotonic()
        self.heartbeat_s = (
            task.heartbeat_timeout.ToTimedelta().total_seconds() if task.HasField("heartbeat_timeout") else 0.0
        )
        deadline = task.deadline.ToDatetime().replace(tzinfo=timezone.utc) if task.HasField("deadline") else None
        self.ctx = TaskContext(
            task_id=task.task_id,
            run_id=task.run_id,
            step_id=task.step_id,
            workflow_id=task.workflow_id,
            action=task.action,
            attempt=task.attempt,
            deadline=deadline,
            traceparent=task.traceparent,
            heartbeat=lambda: heartbeat(self),
        )
        self._timer: threading.Timer | None = None
        if deadline is not None:
            left = deadline.timestamp() - time.time()
            self._timer = threading.Timer(
                max(left, 0.0),
                self.ctx._cancel,
                args=(TaskError(SdkErrorType.DEADLINE_EXCEEDED, "the task's deadline passed", retryable=True),),
            )
            self._timer.daemon = True
            self._timer.start()

    def release(self) -> None:
        if self._timer is not None:
            self._timer.cancel()


def decode_input(task: Any) -> Json:
    return from_json_bytes(task.input_json) if task.input_json else from_value(task.input)


def run_sync(handler: Handler, running: Running, on_error: Callable[[str], None]) -> Outcome:
    """Run a sync handler to its outcome; never raises."""
    ctx = running.ctx
    try:
        inp = decode_input(running.task)
    except ValueError as err:
        return TaskError.non_retryable(SdkErrorType.BAD_INPUT, f"cannot decode the task input: {err}")
    try:
        return handler(inp, ctx)
    except Exception as err:
        return _failure(err, ctx, on_error)


async def run_async(handler: Callable[[Any, TaskContext], Awaitable[Any]], running: Running, on_error: Callable[[str], None]) -> Outcome:
    """Run an async handler; a cancelled task's coroutine is cancelled too."""
    ctx = running.ctx
    loop = asyncio.get_running_loop()
    current = asyncio.current_task()
    if current is not None:
        this: asyncio.Task[Any] = current
        ctx._add_cancel_hook(lambda: _cancel_soon(loop, this))
    try:
        inp = decode_input(running.task)
    except ValueError as err:
        return TaskError.non_retryable(SdkErrorType.BAD_INPUT, f"cannot decode the task input: {err}")
    try:
        return await handler(inp, ctx)
    except asyncio.CancelledError:
        return ctx.cancel_error()
    except Exception as err:
        return _failure(err, ctx, on_error)


def _cancel_soon(loop: asyncio.AbstractEventLoop, task: asyncio.Task[Any]) -> None:
    loop.call_soon_threadsafe(task.cancel)


def _failure(err: Exception, ctx: TaskContext, on_error: Callable[[str], None]) -> TaskError:
    """A TaskError stays itself; anything else raised after a cancel reports the cancel, else retryable by class."""
    if isinstance(err, TaskError):
        return err
    if ctx.cancelled:
        return ctx.cancel_error()
    on_error(traceback.format_exc())
    return TaskError.of(err)


class EventLoopThread:
    """One asyncio loop in a daemon thread for the worker's async handlers."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="weft-async", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
