"""Failures: what a handler raises (`TaskError`), the types the SDK reports
itself (`SdkErrorType`, mirroring the control plane's catalogue in
docs/contract.md), and what a refused call raises (`WeftError`).

    raise TaskError.non_retryable("CARD_DECLINED", "the card was declined")
    raise TaskError.retryable("RATE_LIMITED", "429 from the payment API")
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Final, overload

import grpc

from weft._gen.google.rpc import error_details_pb2, status_pb2

MAX_TYPE: Final = 256
MAX_MESSAGE: Final = 65_000


class SdkErrorType:
    """Failure types the SDK reports, with the `retryable` it sets (`SDK_RETRYABLE`)."""

    UNKNOWN_ACTION: Final = "UNKNOWN_ACTION"
    NO_SLOT: Final = "NO_SLOT"
    WORKER_DRAINING: Final = "WORKER_DRAINING"
    WORKER_SHUTDOWN: Final = "WORKER_SHUTDOWN"
    CANCELLED: Final = "CANCELLED"
    DEADLINE_EXCEEDED: Final = "DEADLINE_EXCEEDED"
    BAD_INPUT: Final = "BAD_INPUT"
    OUTPUT_NOT_SERIALIZABLE: Final = "OUTPUT_NOT_SERIALIZABLE"
    OUTPUT_TOO_LARGE: Final = "OUTPUT_TOO_LARGE"
    SUPERSEDED: Final = "SUPERSEDED"
    ERROR: Final = "Error"


SDK_RETRYABLE: Final[dict[str, bool]] = {
    SdkErrorType.UNKNOWN_ACTION: False,
    SdkErrorType.NO_SLOT: True,
    SdkErrorType.WORKER_DRAINING: True,
    SdkErrorType.WORKER_SHUTDOWN: True,
    SdkErrorType.CANCELLED: False,
    SdkErrorType.DEADLINE_EXCEEDED: True,
    SdkErrorType.BAD_INPUT: False,
    SdkErrorType.OUTPUT_NOT_SERIALIZABLE: False,
    SdkErrorType.OUTPUT_TOO_LARGE: False,
    SdkErrorType.SUPERSEDED: True,
    SdkErrorType.ERROR: True,
}


class _Retryable:
    """`TaskError.retryable(type, message)` makes a retryable failure; `err.retryable` is its flag."""

    @overload
    def __get__(self, obj: None, owner: type[TaskError]) -> Callable[[str, str], TaskError]: ...

    @overload
    def __get__(self, obj: TaskError, owner: type[TaskError]) -> bool: ...

    def __get__(self, obj: TaskError | None, owner: type[TaskError]) -> Callable[[str, str], TaskError] | bool:
        if obj is None:
            return lambda type, message: owner(type, message, retryable=True)
        return obj._retryable


class TaskError(Exception):
    """A failed attempt with a machine-readable `type` (matched by a step's
    `retry.non_retryable_errors`) and a `retryable` flag (False ends the step
    at once, whatever its retry policy)."""

    retryable = _Retryable()

    def __init__(self, type: str, message: str, *, retryable: bool = True) -> None:
        super().__init__(message)
        self.type = (type or SdkErrorType.ERROR)[:MAX_TYPE]
        self.message = message[:MAX_MESSAGE]
        self._retryable = retryable

    @classmethod
    def non_retryable(cls, type: str, message: str) -> TaskError:
        """A failure that ends the step at once, whatever its retry policy says."""
        return cls(type, message, retryable=False)

    @staticmethod
    def of(err: BaseException) -> TaskError:
        """Any exception as a TaskError: retryable, typed by its class name."""
        if isinstance(err, TaskError):
            return err
        return TaskError(type(err).__name__, str(err) or repr(err), retryable=True)

    def __repr__(self) -> str:
        return f"TaskError({self.type!r}, {self.message!r}, retryable={self.retryable})"


@dataclass(frozen=True)
class FieldViolation:
    """One refused field of a request (google.rpc.BadRequest)."""

    field: str
    description: str


class WeftError(Exception):
    """A call the server refused: its gRPC `code`, `message` and the field violations it named."""

    def __init__(self, code: grpc.StatusCode, message: str, violations: list[FieldViolation] | None = None) -> None:
        self.code = code
        self.message = message
        self.violations = violations or []
        lines = [f"{code.name}: {message}"] + [f"  {v.field}: {v.description}" for v in self.violations]
        super().__init__("\n".join(lines))

    @classmethod
    def from_rpc(cls, err: grpc.RpcError) -> WeftError:
        call: Any = err
        return cls(call.code(), call.details() or "", field_violations(call.trailing_metadata() or ()))


class WorkerRefused(WeftError):
    """The server refused the worker's first hello (bad options, a missing or wrong API key)."""


def field_violations(trailers: Any) -> list[FieldViolation]:
    """The google.rpc.BadRequest field violations in `grpc-status-details-bin`."""
    out: list[FieldViolation] = []
    for key, value in trailers:
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                out += [FieldViolation(v.field, v.description) for v in bad.field_violations]
    return out
