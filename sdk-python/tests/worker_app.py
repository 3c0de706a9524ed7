"""The worker the tests run as a child process, on the weft-sdk installed in
the session's virtual environment. One JSON line per worker event on stdout.

    <venv>/bin/python tests/worker_app.py --address 127.0.0.1:PORT --name a --slots 2
"""

import argparse
import asyncio
import json
import sys

import weft
from weft import TaskError, Worker

parser = argparse.ArgumentParser()
parser.add_argument("--address", required=True, action="append", help="again for more addresses, tried in turn")
parser.add_argument("--name", required=True)
parser.add_argument("--slots", type=int, default=4)
parser.add_argument("--drain-grace", type=float, default=10.0)
args = parser.parse_args()


def emit(event, fields):
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


worker = Worker(args.address, name=args.name, slots=args.slots, on_event=emit, drain_grace=args.drain_grace)
emit("started", {"weft_file": weft.__file__, "python": sys.executable})


@worker.action("d.start")
def start(inp, ctx):
    return {"n": inp["input"]["n"]}


@worker.action("d.left")
def left(inp, ctx):
    return {"n": inp["steps"]["start"]["n"] + 1}


@worker.action("d.right")
async def right(inp, ctx):
    await asyncio.sleep(0.01)
    return {"n": inp["steps"]["start"]["n"] * 10}


@worker.action("d.join")
def join(inp, ctx):
    s = inp["steps"]
    return {"sum": s["left"]["n"] + s["right"]["n"], "by": args.name, "attempt": ctx.attempt}


@worker.action("r.flaky")
def flaky(inp, ctx):
    if ctx.attempt < inp["succeed_at"]:
        raise RuntimeError(f"attempt {ctx.attempt} fails")
    return {"attempt": ctx.attempt}


@worker.action("r.reject")
def reject(inp, ctx):
    raise TaskError.non_retryable("BAD_ORDER", f"order {inp['order']} is not valid")


@worker.action("r.quota")
def quota(inp, ctx):
    raise TaskError.retryable("QUOTA", "over quota")


@worker.action("c.wait")
def wait_cancel(inp, ctx):
    while not ctx.cancelled_event.wait(0.05):
        pass
    emit("handler_saw_cancel", {"task_id": ctx.task_id, "reason": ctx.cancel_reason, "kind": "sync"})
    raise ctx.cancel_error()


@worker.action("c.await")
async def await_cancel(inp, ctx):
    try:
        await asyncio.sleep(3600)
    except asyncio.CancelledError:
        emit("handler_saw_cancel", {"task_id": ctx.task_id, "reason": ctx.cancel_reason, "kind": "async"})
        raise
    return None


@worker.action("s.sleep")
def sleep(inp, ctx):
    run_input = inp["input"]
    seconds = run_input["seconds"] if ctx.attempt == 1 else run_input.get("retry_seconds", run_input["seconds"])
    ctx.sleep(float(seconds))
    return {"by": args.name, "attempt": ctx.attempt}


worker.run()
