"""Namespaces from Python: a client and a worker name theirs (`weft-namespace`);
two workers serving the same action in two namespaces each get only their
own namespace's tasks, and a run of one namespace is not found from another."""

from __future__ import annotations

import threading

import grpc
import pytest

from support import Server, unique
from weft import Client, Worker, WeftError


def test_workers_take_only_their_namespace_tasks_and_runs_stay_apart(server: Server) -> None:
    wf, action = unique("nsflow"), unique("ns.py")
    workers: list[tuple[Worker, threading.Thread]] = []
    for ns in ("py-a", "py-b"):
        worker = Worker(server.address, name=f"w-{ns}", namespace=ns, slots=4, handle_signals=False)
        worker.action(action)(lambda inp, ctx, ns=ns: {"served": ns})
        thread = threading.Thread(target=worker.run, daemon=True)
        thread.start()
        workers.append((worker, thread))
    try:
        clients = {ns: Client(server.address, namespace=ns) for ns in ("py-a", "py-b")}
        for c in clients.values():
            c.create_workflow(yaml=f"id: {wf}\nsteps:\n  - {{id: s, action: {action}}}\n")
        runs = {ns: [c.trigger(wf, {"i": i}) for i in range(5)] for ns, c in clients.items()}
        for ns, ids in runs.items():
            for run_id in ids:
                run = clients[ns].wait(run_id, timeout=60)
                assert (run.status, run.output) == ("SUCCEEDED", {"s": {"served": ns}})
                assert (run.namespace, run.trigger) == (ns, "API")
        with pytest.raises(WeftError) as elsewhere:
            clients["py-b"].get_run(runs["py-a"][0])
        assert elsewhere.value.code == grpc.StatusCode.NOT_FOUND
        for c in clients.values():
            c.close()
    finally:
        for worker, thread in workers:
            worker.stop()
            thread.join(20)
