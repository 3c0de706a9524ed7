"""What a handler gets besides its input: `TaskContext`.

    @worker.action("resize")
    def resize(inp, ctx):
        for chunk in chunks(inp):
            if ctx.cancelled:            # the run was cancelled, the deadline passed, or the worker stops
                raise ctx.cancel_error()
            work(chunk)
            ctx.heartbeat()              # optional: the worker heartbeats running tasks by itself
        return {"attempt": ctx.attempt}
"""

from __future__ import annotations

import asyncio
import threading
from datetime import datetime
from typing import Callable

from weft.errors import SdkErrorType, TaskError


class TaskContext:
    """The task a handler runs: ids, attempt, deadline, cancellation and heartbeat."""

    def __init__(
        self,
        *,
        task_id: str,
        run_id: str,
        step_id: str,
        workflow_id: str,
        action: str,
        attempt: int,
        deadline: datetime | None,
        traceparent: str,
        heartbeat: Callable[[], None],
    ) -> None:
        self.task_id = task_id
        self.run_id = run_id
        self.step_id = step_id
        self.workflow_id = workflow_id
        self.action = action
        self.attempt = attempt
        """1 for the first attempt."""
        self.deadline = deadline
        """When the step's timeout ends this attempt (UTC); None: no timeout."""
        self.traceparent = traceparent
        """W3C trace context of the server's step span; "" when the server does not trace."""
        self.cancelled_event = threading.Event()
        """Set when the server cancels the task, its deadline passes, or the worker stops before it ends."""
        self._heartbeat = heartbeat
        self._reason: TaskError | None = None
        self._on_cancel: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    @property
    def cancelled(self) -> bool:
        return self.cancelled_event.is_set()

    @property
    def cancel_reason(self) -> str:
        return self._reason.message if self._reason else ""

    def cancel_error(self) -> TaskError:
        """The failure a cancelled task reports (CANCELLED, DEADLINE_EXCEEDED or WORKER_SHUTDOWN)."""
        return self._reason or TaskError.non_retryable(SdkErrorType.CANCELLED, "cancelled")

    def heartbeat(self) -> None:
        """Tell the server the task is alive now (throttled; running tasks are heartbeated anyway)."""
        self._heartbeat()

    def sleep(self, seconds: float) -> None:
        """Sleep; raise the cancel error as soon as the task is cancelled."""
        if self.cancelled_event.wait(seconds):
            raise self.cancel_error()

    async def asleep(self, seconds: float) -> None:
        """`sleep` for async handlers (a cancelled task's coroutine is also cancelled)."""
        await asyncio.sleep(seconds)
        if self.cancelled:
            raise self.cancel_error()

    def _cancel(self, reason: TaskError) -> None:
        """First reason wins; runs the cancel hooks (an async handler's task is cancelled)."""
        with self._lock:
            if self._reason is not None:
                return
            self._reason = reason
            hooks = list(self._on_cancel)
        self.cancelled_event.set()
        for hook in hooks:
            hook()

    def _add_cancel_hook(self, hook: Callable[[], None]) -> None:
        with self._lock:
            if self._reason is None:
                self._on_cancel.append(hook)
                return
        hook()
