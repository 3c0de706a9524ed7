"""A server that asks for API keys (`--auth keys`): the client and the worker
send theirs as `authorization: Bearer …`; a missing or wrong one is refused."""

from __future__ import annotations

import os
import secrets
import threading
from typing import Iterator

import grpc
import pytest

from support import Server, database_url, psql, unique
from weft import Client, Worker, WeftError, WorkerRefused


@pytest.fixture(scope="module")
def keyed() -> Iterator[tuple[Server, str]]:
    base, redis = os.environ["DATABASE_URL"], os.environ["REDIS_URL"]
    name = unique("weft_py_keys")
    admin_key = secrets.token_hex(24)
    psql(base, f"CREATE DATABASE {name}")
    srv = Server(database_url(base, name), redis, name, env={"WEFT_ADMIN_KEY": admin_key}, args=["--auth", "keys"])
    try:
        yield srv, admin_key
    finally:
        srv.stop()
        psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_calls_and_workers_with_the_key_pass_and_without_it_are_refused(
    server: Server, keyed: tuple[Server, str]
) -> None:
    srv, key = keyed
    with Client(srv.address) as anonymous, pytest.raises(WeftError) as refused:
        anonymous.list_runs()
    assert refused.value.code == grpc.StatusCode.UNAUTHENTICATED

    wrong = Worker(srv.address, name="wrong", api_key="x" * 40, handle_signals=False, on_event=lambda e, f: None)
    wrong.action("k.echo")(lambda inp, ctx: inp)
    with pytest.raises(WorkerRefused) as bad_key:
        wrong.run()
    assert bad_key.value.code == grpc.StatusCode.UNAUTHENTICATED

    worker = Worker(srv.address, name="keyed", api_key=key, handle_signals=False)
    worker.action("k.echo")(lambda inp, ctx: {"echo": inp["input"]})
    thread = threading.Thread(target=worker.run, daemon=True)
    thread.start()
    try:
        with Client(srv.address, api_key=key) as weft:
            weft.create_workflow(yaml="id: keyed\nsteps:\n  - {id: e, action: k.echo}\n")
            run = weft.trigger_and_wait("keyed", {"a": 1}, timeout=60)
        assert (run.status, run.output) == ("SUCCEEDED", {"e": {"echo": {"a": 1}}})
    finally:
        worker.stop()
        thread.join(20)
