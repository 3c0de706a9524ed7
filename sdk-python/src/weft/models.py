"""What the client returns: runs, steps and run events as plain Python, their
statuses as names ("SUCCEEDED"), inputs and outputs as JSON-like values."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from weft.values import Json, optional_value

RUN_TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT"})


@dataclass(frozen=True)
class Failure:
    type: str
    message: str
    retryable: bool = False


@dataclass(frozen=True)
class StepRun:
    step_id: str
    status: str
    attempts: int
    output: Json
    error: Failure | None
    worker_id: str
    action: str
    # What its latest attempt got (None until it was queued).
    input: Json = None


@dataclass(frozen=True)
class Run:
    id: str
    workflow_id: str
    workflow_version: int
    status: str
    input: Json
    output: Json
    error: Failure | None
    steps: list[StepRun] = field(default_factory=list)
    idempotency_key: str = ""
    create_time: datetime | None = None
    end_time: datetime | None = None
    namespace: str = ""
    # What started it: API, EVENT or SCHEDULE (UNSPECIFIED for runs from before Weft recorded it).
    trigger: str = "UNSPECIFIED"

    @property
    def done(self) -> bool:
        return self.status in RUN_TERMINAL

    def step(self, step_id: str) -> StepRun:
        return next(s for s in self.steps if s.step_id == step_id)


@dataclass(frozen=True)
class RunEvent:
    """One entry of a run's history (`type`: SNAPSHOT, RUN_STATUS, STEP_STATUS, STALE_RESULT, WEBHOOK)."""

    sequence: int
    type: str
    time: datetime | None
    run_status: str | None
    step_id: str
    step_status: str | None
    attempt: int
    worker_id: str
    error: Failure | None
    message: str
    run: Run | None


@dataclass(frozen=True)
class Workflow:
    id: str
    version: int
    created: bool


@dataclass(frozen=True)
class RunPage:
    runs: list[Run]
    next_page_token: str


def _enum(value: int, enum: Any, prefix: str) -> str | None:
    name: str = enum.Name(value)
    return None if name.endswith("_UNSPECIFIED") else name.removeprefix(prefix)


def _time(msg: Any, name: str) -> datetime | None:
    if not msg.HasField(name):
        return None
    t: datetime = getattr(msg, name).ToDatetime().replace(tzinfo=timezone.utc)
    return t


def failure(msg: Any) -> Failure | None:
    return Failure(msg.error.type, msg.error.message, msg.error.retryable) if msg.HasField("error") else None


def run_of(pb: Any, enums: Any) -> Run:
    steps = [
        StepRun(
            step_id=s.step_id,
            status=_enum(s.status, enums.StepStatus, "STEP_STATUS_") or "UNSPECIFIED",
            attempts=s.attempts,
            output=optional_value(s, "output"),
            error=failure(s),
            worker_id=s.worker_id,
            action=s.action,
            input=optional_value(s, "input"),
        )
        for s in pb.steps
    ]
    return Run(
        id=pb.id,
        workflow_id=pb.workflow_id,
        workflow_version=pb.workflow_version,
        status=_enum(pb.status, enums.RunStatus, "RUN_STATUS_") or "UNSPECIFIED",
        input=optional_value(pb, "input"),
        output=optional_value(pb, "output"),
        error=failure(pb),
        steps=steps,
        idempotency_key=pb.idempotency_key,
        create_time=_time(pb, "create_time"),
        end_time=_time(pb, "end_time"),
        namespace=pb.namespace,
        trigger=_enum(pb.trigger, enums.RunTrigger, "RUN_TRIGGER_") or "UNSPECIFIED",
    )


def event_of(pb: Any, enums: Any) -> RunEvent:
    return RunEvent(
        sequence=pb.sequence,
        type=_enum(pb.type, enums.RunEventType, "RUN_EVENT_TYPE_") or "UNSPECIFIED",
        time=_time(pb, "time"),
        run_status=_enum(pb.run_status, enums.RunStatus, "RUN_STATUS_"),
        step_id=pb.step_id,
        step_status=_enum(pb.step_status, enums.StepStatus, "STEP_STATUS_"),
        attempt=pb.attempt,
        worker_id=pb.worker_id,
        error=failure(pb),
        message=pb.message,
        run=run_of(pb.run, enums) if pb.HasField("run") else None,
    )
