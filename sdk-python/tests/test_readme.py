"""The package README's worker and client, run as written (the address aside)
from the clean venv: the hello workflow succeeds and the refused call prints
its code and field."""

from __future__ import annotations

import re
import signal
import subprocess
from pathlib import Path

from support import ROOT, SDK, Server


def block(after: str) -> str:
    """The first ```python block after the heading `after` in sdk-python/README.md."""
    text = (SDK / "README.md").read_text()
    section = text.split(after, 1)[1]
    found = re.search(r"```python\n(.*?)```", section, re.S)
    assert found is not None, f"no python block after {after!r}"
    return found.group(1)


def test_the_readme_worker_and_client_run_the_hello_workflow(server: Server, venv_python: Path) -> None:
    worker_code = block("## A worker in ten lines").replace("127.0.0.1:8080", server.address)
    client_code = block("## A client in ten lines").replace("127.0.0.1:8080", server.address)
    worker = subprocess.Popen([str(venv_python), "-c", worker_code], cwd=ROOT, stderr=subprocess.PIPE, text=True)
    try:
        client = subprocess.run([str(venv_python), "-c", client_code], cwd=ROOT, capture_output=True, text=True,
                                timeout=120)
        assert client.returncode == 0, client.stderr
        lines = client.stdout.splitlines()
        assert lines[0] == "SUCCEEDED {'shout': {'text': 'HELLO, ADA!'}}"
        assert re.fullmatch(r"\d+ SNAPSHOT  SUCCEEDED", lines[1]), lines
        assert "INVALID_ARGUMENT: run_id: must be a valid UUID" in client.stdout
    finally:
        worker.send_signal(signal.SIGTERM)
        code = worker.wait(30)
    assert code == 0, worker.stderr.read() if worker.stderr else ""
