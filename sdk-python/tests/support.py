"""Test support: a fresh database and a real Weft server process per session,
the SDK installed into a clean virtual environment, and worker processes
(tests/worker_app.py on that environment) whose JSON-line events can be awaited.

Without Postgres, Redis or the Python packages a local run skips; with CI set it fails."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

ROOT = Path(__file__).resolve().parents[2]
SDK = ROOT / "sdk-python"
SYSTEM_PYTHON = "/usr/bin/python3"


def need(ok: bool, what: str) -> None:
    """Skip without `what`, or fail when CI is set (CI installs everything)."""
    if ok:
        return
    if os.environ.get("CI"):
        pytest.fail(f"{what} is required in CI", pytrace=False)
    pytest.skip(f"{what} is missing")


def build_venv(where: Path) -> Path:
    """`python3 -m venv --system-site-packages` + `pip install --no-build-isolation --no-index` of a copy
    of sdk-python (Debian's grpcio and protobuf come from the system site). Returns the venv's python."""
    src = where / "src-copy"
    shutil.copytree(SDK, src, ignore=shutil.ignore_patterns("__pycache__", "build", "*.egg-info", ".mypy_cache", ".pytest_cache"))
    venv = where / "venv"
    subprocess.run([SYSTEM_PYTHON, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", "--no-build-isolation", "--no-index", str(src)], check=True)
    return python


class Server:
    """`weft serve` on Postgres and Redis, on a free port."""

    def __init__(
        self, database_url: str, redis_url: str, prefix: str, env: dict[str, str] | None = None, args: list[str] | None = None
    ) -> None:
        self.database_url, self.redis_url, self.prefix = database_url, redis_url, prefix
        env = {**os.environ, "DATABASE_URL": database_url, "REDIS_URL": redis_url, "LOG_LEVEL": "info", **(env or {})}
        self.proc = subprocess.Popen(
            ["node", "--import", "tsx", "src/cli/main.ts", "serve", "--port", "0", "--host", "127.0.0.1",
             "--lease-prefix", prefix, "--shutdown-grace-ms", "2000", *(args or [])],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        self.logs: list[str] = []
        port: list[int] = []
        ready = threading.Event()

        def read() -> None:
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.logs.append(line.rstrip())
                try:
                    entry = json.loads(line)
                except ValueError:
                    continue
                if entry.get("msg") == "weft listening" and entry.get("port"):
                    port.append(int(entry["port"]))
                    ready.set()
            ready.set()

        threading.Thread(target=read, daemon=True).start()
        if not ready.wait(90) or not port:
            self.stop()
            raise RuntimeError("the server did not start:\n" + "\n".join(self.logs[-40:]))
        self.port = port[0]
        self.address = f"127.0.0.1:{self.port}"

    def kill(self) -> None:
        """SIGKILL: the streams end without a goodbye, the leases stay in Redis."""
        self.proc.kill()
        self.proc.wait()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


class WorkerProc:
    """tests/worker_app.py as a child process; `events` fills as it prints."""

    def __init__(
        self, python: Path, address: str | list[str], name: str, slots: int = 4, drain_grace: float = 10.0
    ) -> None:
        self.name = name
        addresses = [a for each in ([address] if isinstance(address, str) else address) for a in ("--address", each)]
        self.proc = subprocess.Popen(
            [str(python), str(SDK / "tests" / "worker_app.py"), *addresses, "--name", name,
             "--slots", str(slots), "--drain-grace", str(drain_grace)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        self.events: list[dict[str, Any]] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        threading.Thread(target=self._read, args=(self.proc.stdout, True), daemon=True).start()
        threading.Thread(target=self._read, args=(self.proc.stderr, False), daemon=True).start()

    def _read(self, stream: Any, events: bool) -> None:
        for line in stream:
            with self._cond:
                if events:
                    try:
                        self.events.append(json.loads(line))
                    except ValueError:
                        self.stderr.append(line.rstrip())
                else:
                    self.stderr.append(line.rstrip())
                self._cond.notify_all()
        with self._cond:
            self._cond.notify_all()

    def wait_for(self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        end = time.monotonic() + timeout
        with self._cond:
            while True:
                hit = next((e for e in self.events if match(e)), None)
                if hit is not None:
                    return hit
                left = end - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._cond.wait(0.2)):
                    raise AssertionError(f"{self.name}: no matching event (exit {self.proc.poll()}):\n{self.dump()}")
                self._cond.wait(min(left, 0.2))

    def welcomed(self, timeout: float = 30.0) -> str:
        worker_id: str = self.wait_for(lambda e: e["event"] == "welcome", timeout)["worker_id"]
        return worker_id

    def of_task(self, task_id: str) -> list[dict[str, Any]]:
        with self._cond:
            return [e for e in self.events if e.get("task_id") == task_id]

    def dump(self) -> str:
        return "\n".join([json.dumps(e) for e in self.events] + self.stderr)

    def signal(self, sig: int) -> None:
        self.proc.send_signal(sig)

    def wait_exit(self, timeout: float = 30.0) -> int:
        return self.proc.wait(timeout)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def unique(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:10]}"


def psql(url: str, sql: str) -> None:
    subprocess.run(["psql", url, "-v", "ON_ERROR_STOP=1", "-qAtc", sql], check=True, capture_output=True)


def database_url(base: str, name: str) -> str:
    head, _, _ = base.rpartition("/")
    return f"{head}/{name}"


__all__ = ["ROOT", "SDK", "Server", "WorkerProc", "build_venv", "database_url", "need", "psql", "unique"]
