"""Session fixtures: the SDK in a clean venv, a real server on a fresh database;
per test, worker processes that are killed when the test ends."""

from __future__ import annotations

import importlib.util
import os
import shutil
from pathlib import Path
from typing import Callable, Iterator

import pytest

from support import Server, WorkerProc, build_venv, database_url, need, psql, unique

from weft import Client


@pytest.fixture(scope="session")
def venv_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    need(importlib.util.find_spec("grpc") is not None, "python3-grpcio")
    need(importlib.util.find_spec("setuptools") is not None, "python3-setuptools")
    need(importlib.util.find_spec("wheel") is not None, "python3-wheel")
    need(importlib.util.find_spec("ensurepip") is not None, "python3-venv")
    return build_venv(tmp_path_factory.mktemp("sdk"))


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    base, redis = os.environ.get("DATABASE_URL"), os.environ.get("REDIS_URL")
    need(bool(base and redis), "DATABASE_URL and REDIS_URL (Postgres and Redis)")
    need(shutil.which("psql") is not None and shutil.which("node") is not None, "psql and node")
    assert base and redis
    name = unique("weft_py")
    psql(base, f"CREATE DATABASE {name}")
    srv = Server(database_url(base, name), redis, name)
    try:
        yield srv
    finally:
        srv.stop()
        psql(base, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with Client(server.address) as c:
        yield c


@pytest.fixture
def start_worker(venv_python: Path, server: Server) -> Iterator[Callable[..., WorkerProc]]:
    started: list[WorkerProc] = []

    def start(name: str, slots: int = 4, drain_grace: float = 10.0, address: str | list[str] | None = None) -> WorkerProc:
        w = WorkerProc(venv_python, address or server.address, name, slots, drain_grace)
        started.append(w)
        return w

    yield start
    for w in started:
        w.kill()
