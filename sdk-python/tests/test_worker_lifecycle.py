"""The worker's hard cases against a real server: cancellation reaching the
handler, a worker killed with -9, a SIGTERM drain, and a stale result refused."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from support import Server, WorkerProc, database_url, psql, unique
from weft import Client


def one_step(wf: str, action: str, extra: str = "") -> str:
    return f"id: {wf}\nsteps:\n  - {{id: only, action: {action}, heartbeat_timeout: 1s{extra}}}\n"


def first_attempt_taken(
    client: Client, start_worker: Callable[..., WorkerProc], seconds: float
) -> tuple[WorkerProc, str, dict[str, Any]]:
    """A one-slot worker A running the first attempt of a retryable `s.sleep` step (`seconds` long;
    later attempts return at once): A, the run id and A's task event."""
    wf = unique("retried")
    client.create_workflow(yaml=one_step(wf, "s.sleep", ", retry: {max_attempts: 3, initial_interval: 0.05s}"))
    a = start_worker(unique("a"), slots=1)
    a.welcomed()
    run_id = client.trigger(wf, {"seconds": seconds, "retry_seconds": 0})
    return a, run_id, a.wait_for(lambda e: e["event"] == "task" and e["run_id"] == run_id)


@pytest.mark.parametrize("action,kind", [("c.wait", "sync"), ("c.await", "async")])
def test_a_handler_sees_the_cancellation_of_its_run(
    client: Client, start_worker: Callable[..., WorkerProc], action: str, kind: str
) -> None:
    wf = unique("cancel")
    client.create_workflow(yaml=one_step(wf, action))
    w = start_worker(unique("cw"))
    w.welcomed()
    run_id = client.trigger(wf, {})
    task = w.wait_for(lambda e: e["event"] == "task" and e["run_id"] == run_id)
    time.sleep(2.5)  # past the 1 s heartbeat timeout: the automatic heartbeats keep the task
    assert client.get_run(run_id).step("only").status == "RUNNING"

    client.cancel_run(run_id, reason="no longer needed")
    saw = w.wait_for(lambda e: e["event"] == "handler_saw_cancel" and e["task_id"] == task["task_id"])
    assert saw["kind"] == kind
    result = w.wait_for(lambda e: e["event"] == "result" and e["task_id"] == task["task_id"])
    assert (result["ok"], result["type"], result["retryable"]) == (False, "CANCELLED", False)
    run = client.get_run(run_id)
    assert (run.status, run.step("only").status, run.step("only").attempts) == ("CANCELLED", "CANCELLED", 1)


def test_a_task_of_a_worker_killed_with_sigkill_is_finished_by_another(
    client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    a, run_id, _ = first_attempt_taken(client, start_worker, seconds=60)
    a.kill()  # SIGKILL: no result, no goodbye
    b = start_worker(unique("kb"), slots=1)
    b_id = b.welcomed()
    run = client.wait(run_id, timeout=60)
    assert (run.status, run.step("only").attempts, run.step("only").worker_id) == ("SUCCEEDED", 2, b_id)
    assert run.step("only").output == {"by": b.name, "attempt": 2}


def test_sigterm_drains_the_running_task_hands_back_new_ones_then_exits_0(
    client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    wf = unique("drain")
    client.create_workflow(yaml=one_step(wf, "s.sleep"))
    w = start_worker(unique("sw"), slots=2)
    w.welcomed()
    run_id = client.trigger(wf, {"seconds": 3})
    task = w.wait_for(lambda e: e["event"] == "task" and e["run_id"] == run_id)
    w.signal(signal.SIGTERM)
    w.wait_for(lambda e: e["event"] == "draining")
    late_run = client.trigger(wf, {"seconds": 0})  # offered to the draining worker's free slot: handed back
    late = w.wait_for(lambda e: e["event"] == "task" and e["run_id"] == late_run)
    assert late.get("handed_back") is True
    assert w.wait_exit() == 0
    seen = [e["event"] for e in w.of_task(task["task_id"])]
    assert seen == ["task", "result", "ack"], w.dump()
    assert [e["event"] for e in w.events][-1] == "stopped"
    assert w.wait_for(lambda e: e["event"] == "ack" and e["task_id"] == task["task_id"])["accepted"] is True
    back = w.wait_for(lambda e: e["event"] == "result" and e["task_id"] == late["task_id"])
    assert (back["ok"], back["type"], back["retryable"]) == (False, "WORKER_DRAINING", True)
    run = client.get_run(run_id)
    assert (run.status, run.step("only").attempts, run.step("only").output) == (
        "SUCCEEDED", 1, {"by": w.name, "attempt": 1})
    # The handed-back task waits for the next worker, which runs it.
    start_worker(unique("sw2")).welcomed()
    assert client.wait(late_run, timeout=60).status == "SUCCEEDED"


def test_a_result_whose_lease_was_lost_is_refused_as_stale(
    client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    a, run_id, task = first_attempt_taken(client, start_worker, seconds=1)
    a.signal(signal.SIGSTOP)  # no heartbeats: the lease ends and the task goes to B
    try:
        b = start_worker(unique("tb"), slots=1)
        b_id = b.welcomed()
        run = client.wait(run_id, timeout=60)
    finally:
        a.signal(signal.SIGCONT)
    assert (run.status, run.step("only").attempts, run.step("only").worker_id) == ("SUCCEEDED", 2, b_id)
    assert run.step("only").output == {"by": b.name, "attempt": 2}
    # A wakes up, finishes its attempt and sends the result with its old lease token: refused, run unchanged.
    ack = a.wait_for(lambda e: e["event"] == "ack" and e["task_id"] == task["task_id"], timeout=30)
    assert ack["accepted"] is False
    assert client.get_run(run_id).step("only").output == {"by": b.name, "attempt": 2}
    assert any(e.type == "STALE_RESULT" for e in client.history(run_id))


def test_a_result_made_while_disconnected_is_sent_again_after_the_reconnect(
    server: Server, venv_python: Path, start_worker: Callable[..., WorkerProc]
) -> None:
    base, redis = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    name = unique("weft_py_restart")
    psql(base, f"CREATE DATABASE {name}")
    # Leases outlive the server's absence: the result, not the sweeper, settles the task.
    args = ["--lease-ttl-ms", "60000"]
    srv = Server(database_url(base, name), redis, name, args=args)
    w = WorkerProc(venv_python, srv.address, unique("rw"), 1)
    try:
        with Client(srv.address) as client:
            wf = unique("resend")
            client.create_workflow(yaml=f"id: {wf}\nsteps:\n  - {{id: only, action: s.sleep}}\n")
            w.welcomed()
            run_id = client.trigger(wf, {"seconds": 2})
            task = w.wait_for(lambda e: e["event"] == "task" and e["run_id"] == run_id)
        srv.kill()
        w.wait_for(lambda e: e["event"] == "result" and e["task_id"] == task["task_id"])  # made while the server is away
        srv = Server(database_url(base, name), redis, name, args=[*args, "--port", str(srv.port)])
        ack = w.wait_for(lambda e: e["event"] == "ack" and e["task_id"] == task["task_id"], timeout=60)
        assert ack["accepted"] is True
        assert [e["event"] for e in w.of_task(task["task_id"])] == ["task", "result", "ack"]
        assert sum(e["event"] == "welcome" for e in w.events) == 2
        with Client(srv.address) as client:
            run = client.get_run(run_id)
        assert (run.status, run.step("only").attempts, run.step("only").output) == (
            "SUCCEEDED", 1, {"by": w.name, "attempt": 1})
    finally:
        w.kill()
        srv.stop()
        psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_a_worker_whose_server_dies_goes_on_at_its_next_address(
    server: Server, client: Client, start_worker: Callable[..., WorkerProc]
) -> None:
    replica = Server(server.database_url, server.redis_url, server.prefix)  # same database and leases
    try:
        w = start_worker(unique("fw"), address=[replica.address, server.address])
        first = w.wait_for(lambda e: e["event"] == "welcome")
        assert first["address"] == replica.address
        replica.kill()
        again = w.wait_for(lambda e: e["event"] == "welcome" and e["address"] == server.address)
        wf = unique("failover")
        client.create_workflow(yaml=one_step(wf, "s.sleep"))
        run = client.trigger_and_wait(wf, {"seconds": 0}, timeout=60)
        assert (run.status, run.step("only").worker_id) == ("SUCCEEDED", again["worker_id"])
    finally:
        replica.stop()
