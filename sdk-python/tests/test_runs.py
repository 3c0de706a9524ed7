"""Runs through the SDK's worker and client against a real server: data passing
in a diamond, retries and non-retryable failures, watch, and the client's errors."""

from __future__ import annotations

from typing import Callable

import grpc
import pytest

from support import WorkerProc, unique
from weft import Client, WeftError


def diamond(wf: str) -> str:
    return f"""
id: {wf}
steps:
  - {{id: start, action: d.start}}
  - {{id: left, action: d.left, depends_on: [start]}}
  - {{id: right, action: d.right, depends_on: [start]}}
  - {{id: join, action: d.join, depends_on: [left, right]}}
"""


def test_the_worker_runs_from_the_package_installed_in_a_clean_venv(start_worker: Callable[..., WorkerProc]) -> None:
    w = start_worker(unique("venv"))
    started = w.wait_for(lambda e: e["event"] == "started")
    assert "/venv/lib/" in started["weft_file"] and "/site-packages/weft/" in started["weft_file"]
    assert started["python"].endswith("/venv/bin/python")
    w.welcomed()


def test_a_diamond_passes_each_step_the_outputs_of_its_dependencies(
    client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    wf = unique("diamond")
    created = client.create_workflow(yaml=diamond(wf))
    assert (created.id, created.version, created.created) == (wf, 1, True)
    assert client.create_workflow(yaml=diamond(wf)).created is False
    w = start_worker(unique("dw"), slots=4)
    worker_id = w.welcomed()

    run = client.trigger_and_wait(wf, {"n": 4}, timeout=60)
    assert run.status == "SUCCEEDED"
    assert {s.step_id: (s.status, s.attempts, s.output) for s in run.steps} == {
        "start": ("SUCCEEDED", 1, {"n": 4}),
        "left": ("SUCCEEDED", 1, {"n": 5}),
        "right": ("SUCCEEDED", 1, {"n": 40}),
        "join": ("SUCCEEDED", 1, {"sum": 45, "by": w.name, "attempt": 1}),
    }
    assert {s.worker_id for s in run.steps} == {worker_id}
    assert run.input == {"n": 4}
    # Each step's input as its attempt got it: the run's input and its dependencies' outputs.
    assert run.step("join").input == {"input": {"n": 4}, "steps": {"left": {"n": 5}, "right": {"n": 40}}}
    assert (run.trigger, run.namespace) == ("API", "default")
    assert client.get_run(run.id).output == run.output


def test_the_same_idempotency_key_returns_the_same_run(client: Client) -> None:
    wf = unique("idem")
    client.create_workflow(yaml=diamond(wf))
    first = client.trigger(wf, {"n": 1}, idempotency_key="k-1")
    assert client.trigger(wf, {"n": 1}, idempotency_key="k-1") == first
    assert client.trigger(wf, {"n": 1}, idempotency_key="k-2") != first
    assert {r.id for r in client.list_runs(wf).runs} >= {first}


def test_retries_until_success_and_non_retryable_errors_fail_at_once(
    client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    wf = unique("retries")
    retry = "retry: {max_attempts: 5, initial_interval: 0.05s, non_retryable_errors: [QUOTA]}"
    client.create_workflow(yaml=f"""
id: {wf}
steps:
  - {{id: flaky, action: r.flaky, input: {{succeed_at: 3}}, {retry}}}
  - {{id: reject, action: r.reject, input: {{order: 7}}, depends_on: [flaky], {retry}}}
""")
    quota_wf = unique("quota")
    client.create_workflow(yaml=f"id: {quota_wf}\nsteps:\n  - {{id: q, action: r.quota, {retry}}}\n")
    start_worker(unique("rw")).welcomed()

    run = client.trigger_and_wait(wf, {}, timeout=60)
    assert run.status == "FAILED"
    flaky, reject = run.step("flaky"), run.step("reject")
    assert (flaky.status, flaky.attempts, flaky.output) == ("SUCCEEDED", 3, {"attempt": 3})
    assert (reject.status, reject.attempts) == ("FAILED", 1)
    assert reject.error is not None and (reject.error.type, reject.error.message) == ("BAD_ORDER", "order 7 is not valid")
    assert run.error is not None and run.error.type == "BAD_ORDER"
    retried = [e for e in client.history(run.id) if e.step_id == "flaky" and e.step_status == "FAILED"]
    assert retried == []  # failed attempts with retries left go back to QUEUED, never FAILED
    # A retryable failure whose type the step lists in non_retryable_errors ends it at its first attempt too.
    q = client.trigger_and_wait(quota_wf, {}, timeout=60)
    assert (q.status, q.step("q").attempts, q.step("q").error) == ("FAILED", 1, q.step("q").error)
    assert q.step("q").error is not None and q.step("q").error.type == "QUOTA"


def test_watch_delivers_every_transition_in_order(client: Client, start_worker: Callable[..., WorkerProc]) -> None:
    wf = unique("watch")
    client.create_workflow(yaml=diamond(wf))
    run_id = client.trigger(wf, {"n": 1})  # no worker yet: the run waits
    events = client.watch(run_id, timeout=60)
    snapshot = next(events)
    assert snapshot.type == "SNAPSHOT" and snapshot.run is not None and not snapshot.run.done
    start_worker(unique("ww")).welcomed()
    rest = list(events)

    history = client.history(run_id)
    after = [e for e in history if e.sequence > snapshot.sequence]
    assert [(e.sequence, e.type, e.step_id, e.step_status, e.run_status) for e in rest] == [
        (e.sequence, e.type, e.step_id, e.step_status, e.run_status) for e in after
    ]
    assert [e.sequence for e in rest] == list(range(snapshot.sequence + 1, snapshot.sequence + 1 + len(rest)))
    for step in ("start", "left", "right", "join"):
        moves = [e.step_status for e in rest if e.step_id == step and e.type == "STEP_STATUS"]
        assert moves[-2:] == ["RUNNING", "SUCCEEDED"], (step, moves)
    assert rest[-1].run is not None and rest[-1].run.status == "SUCCEEDED"
    assert rest[-1].run.output == client.get_run(run_id).output


def test_refused_calls_raise_with_the_grpc_code_and_the_fields(client: Client) -> None:
    with pytest.raises(WeftError) as bad:
        client.create_workflow(yaml="id: broken\nsteps:\n  - {id: a, action: x, depends_on: [lod]}\n")
    assert bad.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert any("depends_on" in v.field and "lod" in v.description for v in bad.value.violations), bad.value
    with pytest.raises(WeftError) as missing:
        client.get_run("01937b7e-0000-7000-8000-000000000000")
    assert missing.value.code == grpc.StatusCode.NOT_FOUND
