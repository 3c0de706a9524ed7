"""Weft's Python SDK: `Worker` runs workflow steps, `Client` starts and follows runs.

    from weft import Worker

    worker = Worker("127.0.0.1:8080", name="hello-worker", slots=4)

    @worker.action("greet")
    def greet(inp, ctx):
        return {"greeting": f"Hello, {inp['input']['name']}!"}

    worker.run()
"""

from weft.client import Client, RunTimeout
from weft.context import TaskContext
from weft.errors import SDK_RETRYABLE, FieldViolation, SdkErrorType, TaskError, WeftError, WorkerRefused
from weft.models import Failure, Run, RunEvent, RunPage, StepRun, Workflow
from weft.values import Json
from weft.worker import Worker

__all__ = [
    "Client",
    "FieldViolation",
    "Failure",
    "Json",
    "Run",
    "RunEvent",
    "RunPage",
    "RunTimeout",
    "SDK_RETRYABLE",
    "SdkErrorType",
    "StepRun",
    "TaskContext",
    "TaskError",
    "WeftError",
    "Workflow",
    "Worker",
    "WorkerRefused",
]
