"""Workers inside the test process: several addresses, the context a handler
gets, a refused hello, and stop() from another thread."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import grpc
import pytest

from support import Server, unique
from weft import Client, TaskContext, Worker, WorkerRefused


class Events:
    """An `on_event` sink whose events a test can wait for."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []
        self._cond = threading.Condition()

    def __call__(self, event: str, fields: dict[str, Any]) -> None:
        with self._cond:
            self.seen.append((event, fields))
            self._cond.notify_all()

    def wait(self, event: str, timeout: float = 30) -> dict[str, Any]:
        with self._cond:
            ok = self._cond.wait_for(lambda: any(e == event for e, _ in self.seen), timeout)
            assert ok, f"no {event} event: {self.seen}"
            return next(f for e, f in self.seen if e == event)


@pytest.fixture
def running_worker(server: Server) -> Iterator[tuple[Worker, Events, threading.Thread, str]]:
    events = Events()
    # The first address has nobody listening: the worker goes on to the next one.
    worker = Worker(["127.0.0.1:1", server.address], name=unique("inproc"), slots=2, on_event=events,
                    reconnect_initial=0.05, handle_signals=False)

    action = unique("info").replace("_", ".")

    @worker.action(action)
    async def info(inp: Any, ctx: TaskContext) -> dict[str, Any]:
        return {"ids": [ctx.run_id, ctx.step_id, ctx.workflow_id, ctx.action], "attempt": ctx.attempt,
                "deadline": ctx.deadline.isoformat() if ctx.deadline else None, "input": inp}

    thread = threading.Thread(target=worker.run, daemon=True)
    yield worker, events, thread, action
    worker.stop()
    thread.join(20)


def test_a_worker_tries_its_addresses_in_turn_and_gives_handlers_their_context(
    client: Client, server: Server, running_worker: tuple[Worker, Events, threading.Thread, str]
) -> None:
    worker, events, thread, action = running_worker
    wf = unique("ctx")
    client.create_workflow(yaml=f"id: {wf}\nsteps:\n  - {{id: look, action: {action}, timeout: 60s}}\n")
    thread.start()
    down = events.wait("disconnected")
    assert (down["address"], down["code"]) == ("127.0.0.1:1", "UNAVAILABLE")
    assert events.wait("welcome")["address"] == server.address

    before = datetime.now(timezone.utc)
    run = client.trigger_and_wait(wf, {"k": [1, 2]}, timeout=60)
    out = run.step("look").output
    assert isinstance(out, dict)
    assert out["ids"] == [run.id, "look", wf, action] and out["attempt"] == 1
    assert out["input"] == {"input": {"k": [1, 2]}, "steps": {}}
    deadline = datetime.fromisoformat(out["deadline"])
    assert before + timedelta(seconds=50) < deadline < datetime.now(timezone.utc) + timedelta(seconds=61)

    worker.stop()
    thread.join(20)
    assert not thread.is_alive() and events.seen[-1][0] == "stopped"


def test_a_refused_hello_raises_with_the_fields_the_server_named(server: Server) -> None:
    events = Events()
    worker = Worker(server.address, name="refused", labels={"k" * 200: "v"}, on_event=events, handle_signals=False)
    worker.action("never.runs")(lambda inp, ctx: None)
    with pytest.raises(WorkerRefused) as refused:
        worker.run()
    assert refused.value.code == grpc.StatusCode.INVALID_ARGUMENT
    assert any("labels" in v.field for v in refused.value.violations), refused.value
    assert [e for e, _ in events.seen] == ["refused", "stopped"]
