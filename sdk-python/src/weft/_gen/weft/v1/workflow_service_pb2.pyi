from weft._gen.buf.validate import validate_pb2 as _validate_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from weft._gen.weft.v1 import common_pb2 as _common_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class CreateWorkflowRequest(_message.Message):
    __slots__ = ["workflow", "yaml"]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    YAML_FIELD_NUMBER: _ClassVar[int]
    workflow: _common_pb2.WorkflowSpec
    yaml: str
    def __init__(self, workflow: _Optional[_Union[_common_pb2.WorkflowSpec, _Mapping]] = ..., yaml: _Optional[str] = ...) -> None: ...

class CreateWorkflowResponse(_message.Message):
    __slots__ = ["created", "workflow"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    created: bool
    workflow: _common_pb2.Workflow
    def __init__(self, workflow: _Optional[_Union[_common_pb2.Workflow, _Mapping]] = ..., created: bool = ...) -> None: ...

class DeleteWorkflowRequest(_message.Message):
    __slots__ = ["id"]
    ID_FIELD_NUMBER: _ClassVar[int]
    id: str
    def __init__(self, id: _Optional[str] = ...) -> None: ...

class DeleteWorkflowResponse(_message.Message):
    __slots__ = []
    def __init__(self) -> None: ...

class GetWorkflowRequest(_message.Message):
    __slots__ = ["id", "version"]
    ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    id: str
    version: int
    def __init__(self, id: _Optional[str] = ..., version: _Optional[int] = ...) -> None: ...

class GetWorkflowResponse(_message.Message):
    __slots__ = ["versions", "workflow"]
    VERSIONS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_FIELD_NUMBER: _ClassVar[int]
    versions: _containers.RepeatedScalarFieldContainer[int]
    workflow: _common_pb2.Workflow
    def __init__(self, workflow: _Optional[_Union[_common_pb2.Workflow, _Mapping]] = ..., versions: _Optional[_Iterable[int]] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ["page_size", "page_token"]
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ["next_page_token", "workflows"]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    next_page_token: str
    workflows: _containers.RepeatedCompositeFieldContainer[_common_pb2.Workflow]
    def __init__(self, workflows: _Optional[_Iterable[_Union[_common_pb2.Workflow, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class PublishEventRequest(_message.Message):
    __slots__ = ["idempotency_key", "name", "payload"]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    name: str
    payload: _struct_pb2.Value
    def __init__(self, name: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class PublishEventResponse(_message.Message):
    __slots__ = ["run_ids"]
    RUN_IDS_FIELD_NUMBER: _ClassVar[int]
    run_ids: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, run_ids: _Optional[_Iterable[str]] = ...) -> None: ...

class TriggerWorkflowRequest(_message.Message):
    __slots__ = ["idempotency_key", "input", "version", "workflow_id"]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    INPUT_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    idempotency_key: str
    input: _struct_pb2.Value
    version: int
    workflow_id: str
    def __init__(self, workflow_id: _Optional[str] = ..., version: _Optional[int] = ..., input: _Optional[_Union[_struct_pb2.Value, _Mapping]] = ..., idempotency_key: _Optional[str] = ...) -> None: ...

class TriggerWorkflowResponse(_message.Message):
    __slots__ = ["created", "run_id"]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    created: bool
    run_id: str
    def __init__(self, run_id: _Optional[str] = ..., created: bool = ...) -> None: ...

class TriggerWorkflowsRequest(_message.Message):
    __slots__ = ["triggers"]
    TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    triggers: _containers.RepeatedCompositeFieldContainer[TriggerWorkflowRequest]
    def __init__(self, triggers: _Optional[_Iterable[_Union[TriggerWorkflowRequest, _Mapping]]] = ...) -> None: ...

class TriggerWorkflowsResponse(_message.Message):
    __slots__ = ["runs"]
    RUNS_FIELD_NUMBER: _ClassVar[int]
    runs: _containers.RepeatedCompositeFieldContainer[TriggerWorkflowResponse]
    def __init__(self, runs: _Optional[_Iterable[_Union[TriggerWorkflowResponse, _Mapping]]] = ...) -> None: ...
