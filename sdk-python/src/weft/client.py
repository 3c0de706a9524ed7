"""`Client`: create workflows, trigger runs, read, cancel, retry and watch them.

    with Client("127.0.0.1:8080") as weft:
        weft.create_workflow(yaml=open("hello.yaml").read())
        run = weft.trigger_and_wait("hello", {"name": "Ada"}, timeout=60)
        print(run.status, run.output)

A refused call raises `WeftError` with the gRPC `code` and the `violations`
the server named (`workflow.steps[2].depends_on[0]: unknown step "lod"`).
"""

from __future__ import annotations

import time
from typing import Any, Callable, Iterator, Mapping, TypeVar

import grpc
from google.protobuf import json_format

from weft._channel import target
from weft._gen.weft.v1 import common_pb2, run_service_pb2, workflow_service_pb2
from weft._gen.weft.v1 import run_service_pb2_grpc, workflow_service_pb2_grpc
from weft.errors import WeftError
from weft.models import RUN_TERMINAL, Run, RunEvent, RunPage, Workflow, event_of, run_of
from weft.values import to_value

T = TypeVar("T")


class RunTimeout(Exception):
    """`trigger_and_wait` ran out of time; the run goes on."""

    def __init__(self, run_id: str, timeout: float, last_status: str | None) -> None:
        super().__init__(f"run {run_id} did not finish within {timeout} s (last status: {last_status or 'unknown'})")
        self.run_id = run_id
        self.last_status = last_status


class Client:
    """A connection to the control plane (gRPC over HTTP/2; `https://` or a CA file for TLS)."""

    def __init__(
        self,
        address: str,
        *,
        api_key: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        timeout: float = 30.0,
    ) -> None:
        tgt = target(address, api_key=api_key, ca_file=ca_file, cert_file=cert_file, key_file=key_file)
        self._metadata = tgt.metadata
        self._channel = tgt.channel()
        self._workflows = workflow_service_pb2_grpc.WorkflowServiceStub(self._channel)
        self._runs = run_service_pb2_grpc.RunServiceStub(self._channel)
        self.timeout = timeout

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._channel.close()

    def _call(self, fn: Callable[..., T], request: Any) -> T:
        try:
            return fn(request, metadata=self._metadata, timeout=self.timeout)
        except grpc.RpcError as err:
            raise WeftError.from_rpc(err) from None

    def create_workflow(self, yaml: str | None = None, *, spec: Mapping[str, Any] | None = None) -> Workflow:
        """From YAML text, or a WorkflowSpec as a dict (its JSON form); the same spec again returns its version."""
        if (yaml is None) == (spec is None):
            raise ValueError("create_workflow: give yaml or spec")
        req = workflow_service_pb2.CreateWorkflowRequest()
        if yaml is not None:
            req.yaml = yaml
        else:
            json_format.ParseDict(dict(spec or {}), req.workflow)
        res = self._call(self._workflows.CreateWorkflow, req)
        return Workflow(res.workflow.id, res.workflow.version, res.created)

    def trigger(self, workflow_id: str, input: Any = None, *, idempotency_key: str = "", version: int = 0) -> str:
        """Start a run; returns its id. The same idempotency key returns the same run."""
        req = workflow_service_pb2.TriggerWorkflowRequest(
            workflow_id=workflow_id, version=version, idempotency_key=idempotency_key
        )
        req.input.CopyFrom(to_value(input))
        run_id: str = self._call(self._workflows.TriggerWorkflow, req).run_id
        return run_id

    def get_run(self, run_id: str) -> Run:
        return run_of(self._call(self._runs.GetRun, run_service_pb2.GetRunRequest(run_id=run_id)).run, common_pb2)

    def list_runs(
        self, workflow_id: str = "", *, status: str | None = None, page_size: int = 0, page_token: str = ""
    ) -> RunPage:
        """One page of runs, newest first; `status` is a name such as "FAILED"."""
        req = run_service_pb2.ListRunsRequest(workflow_id=workflow_id, page_size=page_size, page_token=page_token)
        if status:
            req.status = common_pb2.RunStatus.Value(f"RUN_STATUS_{status.upper()}")
        res = self._call(self._runs.ListRuns, req)
        return RunPage([run_of(r, common_pb2) for r in res.runs], res.next_page_token)

    def cancel_run(self, run_id: str, reason: str = "") -> Run:
        res = self._call(self._runs.CancelRun, run_service_pb2.CancelRunRequest(run_id=run_id, reason=reason))
        return run_of(res.run, common_pb2)

    def retry_run(self, run_id: str) -> Run:
        """Re-run the failed and cancelled steps of a finished run, keeping the succeeded ones."""
        return run_of(self._call(self._runs.RetryRun, run_service_pb2.RetryRunRequest(run_id=run_id)).run, common_pb2)

    def history(self, run_id: str) -> list[RunEvent]:
        """Every event of the run so far, in order."""
        res = self._call(self._runs.GetRunHistory, run_service_pb2.GetRunHistoryRequest(run_id=run_id))
        return [event_of(e, common_pb2) for e in res.events]

    def watch(self, run_id: str, *, timeout: float | None = None) -> Iterator[RunEvent]:
        """The run's current state (a SNAPSHOT event), then every change, ending when the run ends."""
        stream = self._runs.WatchRun(
            run_service_pb2.WatchRunRequest(run_id=run_id), metadata=self._metadata, timeout=timeout
        )
        try:
            for res in stream:
                yield event_of(res.event, common_pb2)
        except grpc.RpcError as err:
            raise WeftError.from_rpc(err) from None
        finally:
            stream.cancel()  # a caller that stops early ends the call

    def trigger_and_wait(
        self, workflow_id: str, input: Any = None, *, idempotency_key: str = "", timeout: float = 300.0
    ) -> Run:
        """Trigger and follow the run over WatchRun to its end (re-watching if the stream breaks)."""
        run_id = self.trigger(workflow_id, input, idempotency_key=idempotency_key)
        return self.wait(run_id, timeout=timeout)

    def wait(self, run_id: str, *, timeout: float = 300.0) -> Run:
        """The run once it has ended; `RunTimeout` after `timeout` seconds."""
        end = time.monotonic() + timeout
        last: str | None = None
        while (left := end - time.monotonic()) > 0:
            try:
                for event in self.watch(run_id, timeout=left):
                    last = event.run_status or last
                    if event.run is not None and event.run.done:
                        return event.run
            except WeftError as err:
                if err.code not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                    raise
            run = self.get_run(run_id)
            if run.status in RUN_TERMINAL:
                return run
            time.sleep(min(0.2, max(end - time.monotonic(), 0)))
        raise RunTimeout(run_id, timeout, last)
