"""Results on their way to the server: each is built once (`result_message`)
and kept in the `ResultBook` until acknowledged; after a reconnect everything
still there is sent again (the lease token decides on the server whether it
still counts), and while a stream stays open a result unanswered for a
resend period, or asked for again (`ack.retry_later`), goes out once more."""

from __future__ import annotations

import threading
import time
from typing import Any

from weft._gen.weft.v1 import common_pb2
from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft.errors import SdkErrorType, TaskError
from weft.values import to_json_bytes

# Bytes of a result message besides its output and task id.
_ENVELOPE = 24


def result_message(task: Any, outcome: Any, max_bytes: int) -> pb.WorkerMessage:
    """The `result` for `task`: the output as UTF-8 JSON, or a Failure. An
    output JSON cannot hold, or one larger than the server takes, becomes a
    non-retryable failure instead (sent as it is, it would break the stream)."""
    result = pb.TaskResult(task_id=task.task_id, lease_token=task.lease_token)
    if not isinstance(outcome, TaskError):
        try:
            data = to_json_bytes(outcome)
        except ValueError as err:
            outcome = TaskError.non_retryable(
                SdkErrorType.OUTPUT_NOT_SERIALIZABLE, f"the handler's return value is not JSON: {err}"
            )
        else:
            size = len(data) + len(task.task_id) + _ENVELOPE
            if size <= max_bytes:
                result.output_json = data
                return pb.WorkerMessage(result=result)
            outcome = TaskError.non_retryable(
                SdkErrorType.OUTPUT_TOO_LARGE, f"the output encodes to {size} bytes; the limit is {max_bytes}"
            )
    result.error.CopyFrom(common_pb2.Failure(type=outcome.type, message=outcome.message, retryable=outcome.retryable))
    return pb.WorkerMessage(result=result)


class ResultBook:
    """Results not yet acknowledged, by task id (a newer result for a task replaces the older one)."""

    def __init__(self) -> None:
        self._pending: dict[str, list[Any]] = {}  # task id → [message, last sent (monotonic s)]
        self._cond = threading.Condition()

    def put(self, msg: pb.WorkerMessage) -> None:
        with self._cond:
            self._pending[msg.result.task_id] = [msg, time.monotonic()]

    def ack(self, task_id: str) -> bool:
        with self._cond:
            had = self._pending.pop(task_id, None) is not None
            if not self._pending:
                self._cond.notify_all()
            return had

    def later(self, task_id: str) -> None:
        """The server could not record it: due again at the next `due()`."""
        with self._cond:
            entry = self._pending.get(task_id)
            if entry is not None:
                entry[1] = float("-inf")

    def drop(self, task_id: str) -> None:
        self.ack(task_id)

    def due(self, resend_s: float) -> list[pb.WorkerMessage]:
        """Results last sent at least `resend_s` ago (or asked for again), marked as sent now."""
        now = time.monotonic()
        out: list[pb.WorkerMessage] = []
        with self._cond:
            for entry in self._pending.values():
                if now - entry[1] >= resend_s:
                    entry[1] = now
                    out.append(entry[0])
        return out

    def resend_all(self) -> list[pb.WorkerMessage]:
        """Every result, marked as sent now (a new stream sends them all at once)."""
        return self.due(0.0)

    def __len__(self) -> int:
        return len(self._pending)

    def wait_empty(self, timeout: float) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._pending, timeout)
