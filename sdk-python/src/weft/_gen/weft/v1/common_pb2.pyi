from weft._gen.buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor
RUN_EVENT_TYPE_RUN_STATUS: RunEventType
RUN_EVENT_TYPE_SNAPSHOT: RunEventType
RUN_EVENT_TYPE_STALE_RESULT: RunEventType
RUN_EVENT_TYPE_STEP_STATUS: RunEventType
RUN_EVENT_TYPE_UNSPECIFIED: RunEventType
RUN_EVENT_TYPE_WEBHOOK: RunEventType
RUN_STATUS_CANCELLED: RunStatus
RUN_STATUS_FAILED: RunStatus
RUN_STATUS_PENDING: RunStatus
RUN_STATUS_RUNNING: RunStatus
RUN_STATUS_SUCCEEDED: RunStatus
RUN_STATUS_TIMED_OUT: RunStatus
RUN_STATUS_UNSPECIFIED: RunStatus
RUN_TRIGGER_API: RunTrigger
RUN_TRIGGER_EVENT: RunTrigger
RUN_TRIGGER_SCHEDULE: RunTrigger
RUN_TRIGGER_UNSPECIFIED: RunTrigger
STEP_STATUS_CANCELLED: StepStatus
STEP_STATUS_FAILED: StepStatus
STEP_STATUS_PENDING: StepStatus
STEP_STATUS_QUEUED: StepStatus
STEP_STATUS_RUNNING: StepStatus
STEP_STATUS_SKIPPED: StepStatus
STEP_STATUS_SUCCEEDED: StepStatus
STEP_STATUS_UNSPECIFIED: StepStatus
TRIGGER_RULE_ALL_DONE: TriggerRule
TRIGGER_RULE_ALL_SUCCEEDED: TriggerRule
TRIGGER_RULE_ANY_FAILED: TriggerRule
TRIGGER_RULE_UNSPECIFIED: TriggerRule

class EventTrigger(_message.Message):
    __slots__ = ["filter", "name"]
    FILTER_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    filter: str
    name: str
    def __init__(self, name: _Optional[str] = ..., filter: _Optional[str] = ...) -> None: ...

class Failure(_message.Message):
    __slots__ = ["message", "retryable", "type"]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RETRYABLE_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    message: str
    retryable: bool
    type: str
    def __init__(self, message: _Optional[str] = ..., type: _Optional[str] = ..., retryable: bool = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ["backoff_coefficient", "initial_interval", "max_attempts", "max_interval", "non_retryable_errors"]
    BACKOFF_COEFFICIENT_FIELD_NUMBER: _ClassVar[int]
    INITIAL_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    MAX_ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    MAX_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    NON_RETRYABLE_ERRORS_FIELD_NUMBER: _ClassVar[int]
    backoff_coefficient: float
    initial_interval: _duration_pb2.Duration
    max_attempts: int
    max_interval: _duration_pb2.Duration
    non_retryable_errors: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, max_attempts: _Optional[int] = ..., initial_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., backoff_coefficient: _Optional[float] = ..., max_interval: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., non_retryable_errors: _Optional[_Iterable[str]] = ...) -> None: ...

class Run(_message.Message):
    __slots__ = ["create_time", "end_time", "error", "id", "idempotency_key", "input", "namespace", "output", "start_time", "status", "steps", "trigger", "workflow_id", "workflow_version"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_VERSION_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    error: Failure
    id: str
    idempotency_key: str
    input: _struct_pb2.Value
    namespace: str
    output: _struct_pb2.Value
    start_time: _timestamp_pb2.Timestamp
    status: RunStatus
    steps: _containers.RepeatedCompositeFieldContainer[StepRun]
    trigger: RunTrigger
    workflow_id: str
    workflow_version: int
    def __init__(self, id: _Optional[str] = ..., workflow_id: _Optional[str] = ..., workflow_version: _Optional[int] = ..., status: _Optional[_Union[RunStatus, str]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[_Union[Failure, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., steps: _Optional[_Iterable[_Union[StepRun, _Mapping]]] = ..., idempotency_key: _Optional[str] = ..., namespace: _Optional[str] = ..., trigger: _Optional[_Union[RunTrigger, str]] = ...) -> None: ...

class RunEvent(_message.Message):
    __slots__ = ["attempt", "error", "message", "run", "run_status", "sequence", "step_id", "step_status", "time", "type", "worker_id"]
    ATTEMPT_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    RUN_FIELD_NUMBER: _ClassVar[int]
    RUN_STATUS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_STATUS_FIELD_NUMBER: _ClassVar[int]
    TIME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    attempt: int
    error: Failure
    message: str
    run: Run
    run_status: RunStatus
    sequence: int
    step_id: str
    step_status: StepStatus
    time: _timestamp_pb2.Timestamp
    type: RunEventType
    worker_id: str
    def __init__(self, sequence: _Optional[int] = ..., time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., type: _Optional[_Union[RunEventType, str]] = ..., run_status: _Optional[_Union[RunStatus, str]] = ..., step_id: _Optional[str] = ..., step_status: _Optional[_Union[StepStatus, str]] = ..., attempt: _Optional[int] = ..., worker_id: _Optional[str] = ..., error: _Optional[_Union[Failure, _Mapping]] = ..., run: _Optional[_Union[Run, _Mapping]] = ..., message: _Optional[str] = ...) -> None: ...

class StepRun(_message.Message):
    __slots__ = ["action", "attempts", "create_time", "end_time", "error", "input", "output", "start_time", "status", "step_id", "worker_id"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    STEP_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    action: str
    attempts: int
    create_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    error: Failure
    input: _struct_pb2.Value
    output: _struct_pb2.Value
    start_time: _timestamp_pb2.Timestamp
    status: StepStatus
    step_id: str
    worker_id: str
    def __init__(self, step_id: _Optional[str] = ..., status: _Optional[_Union[StepStatus, str]] = ..., attempts: _Optional[int] = ..., output: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., error: _Optional[_Union[Failure, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., start_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., worker_id: _Optional[str] = ..., action: _Optional[str] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ...) -> None: ...

class StepSpec(_message.Message):
    __slots__ = ["action", "depends_on", "heartbeat_timeout", "id", "input", "retry", "timeout", "trigger_rule", "when"]
    ACTION_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_RULE_FIELD_NUMBER: _ClassVar[int]
    WHEN_FIELD_NUMBER: _ClassVar[int]
    action: str
    depends_on: _containers.RepeatedScalarFieldContainer[str]
    heartbeat_timeout: _duration_pb2.Duration
    id: str
    input: _struct_pb2.Value
    retry: RetryPolicy
    timeout: _duration_pb2.Duration
    trigger_rule: TriggerRule
    when: str
    def __init__(self, id: _Optional[str] = ..., action: _Optional[str] = ..., depends_on: _Optional[_Iterable[str]] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., when: _Optional[str] = ..., trigger_rule: _Optional[_Union[TriggerRule, str]] = ..., retry: _Optional[_Union[RetryPolicy, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., heartbeat_timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class Triggers(_message.Message):
    __slots__ = ["event_triggers", "events", "schedules"]
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    EVENT_TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    SCHEDULES_FIELD_NUMBER: _ClassVar[int]
    event_triggers: _containers.RepeatedCompositeFieldContainer[EventTrigger]
    events: _containers.RepeatedScalarFieldContainer[str]
    schedules: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, events: _Optional[_Iterable[str]] = ..., schedules: _Optional[_Iterable[str]] = ..., event_triggers: _Optional[_Iterable[_Union[EventTrigger, _Mapping]]] = ...) -> None: ...

class Webhooks(_message.Message):
    __slots__ = ["on_complete", "on_failure", "on_step", "secret", "secret_set"]
    ON_COMPLETE_FIELD_NUMBER: _ClassVar[int]
    ON_FAILURE_FIELD_NUMBER: _ClassVar[int]
    ON_STEP_FIELD_NUMBER: _ClassVar[int]
    SECRET_FIELD_NUMBER: _ClassVar[int]
    SECRET_SET_FIELD_NUMBER: _ClassVar[int]
    on_complete: _containers.RepeatedScalarFieldContainer[str]
    on_failure: _containers.RepeatedScalarFieldContainer[str]
    on_step: _containers.RepeatedScalarFieldContainer[str]
    secret: str
    secret_set: bool
    def __init__(self, on_complete: _Optional[_Iterable[str]] = ..., on_failure: _Optional[_Iterable[str]] = ..., on_step: _Optional[_Iterable[str]] = ..., secret: _Optional[str] = ..., secret_set: bool = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ["create_time", "delete_time", "id", "namespace", "spec", "version"]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    DELETE_TIME_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAMESPACE_FIELD_NUMBER: _ClassVar[int]
    SPEC_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    create_time: _timestamp_pb2.Timestamp
    delete_time: _timestamp_pb2.Timestamp
    id: str
    namespace: str
    spec: WorkflowSpec
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ..., spec: _Optional[_Union[WorkflowSpec, _Mapping]] = ..., create_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., delete_time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., namespace: _Optional[str] = ...) -> None: ...

class WorkflowSpec(_message.Message):
    __slots__ = ["description", "id", "name", "on", "output", "retention", "steps", "timeout", "webhooks"]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    ON_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FIELD_NUMBER: _ClassVar[int]
    RETENTION_FIELD_NUMBER: _ClassVar[int]
    STEPS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_FIELD_NUMBER: _ClassVar[int]
    WEBHOOKS_FIELD_NUMBER: _ClassVar[int]
    description: str
    id: str
    name: str
    on: Triggers
    output: str
    retention: _duration_pb2.Duration
    steps: _containers.RepeatedCompositeFieldContainer[StepSpec]
    timeout: _duration_pb2.Duration
    webhooks: Webhooks
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., steps: _Optional[_Iterable[_Union[StepSpec, _Mapping]]] = ..., output: _Optional[str] = ..., on: _Optional[_Union[Triggers, _Mapping]] = ..., webhooks: _Optional[_Union[Webhooks, _Mapping]] = ..., timeout: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ..., retention: _Optional[_Union[_duration_pb2.Duration, _Mapping]] = ...) -> None: ...

class TriggerRule(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RunStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class StepStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RunTrigger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []

class RunEventType(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = []
