"""The bench's worker process on the Python SDK (BENCH_WORKER=python): weft
Workers with a no-op `bench.noop`, driven by `python-workers.ts` with one
JSON request per line on stdin and one reply per line on stdout, the same
requests as worker-main.ts (start, clock, stats, collect, release, stop)."""

import json
import os
import sys
import threading
import time

from weft import Worker

lock = threading.Lock()
stats = {"accepted": 0, "refused": 0, "started": 0, "holding": 0, "connected": 0}
last_ack_at = float("nan")
first_start_at = float("nan")
welcomed = threading.Semaphore(0)
workers = []
threads = []


def on_event(event, fields):
    global last_ack_at
    if event == "ack":
        with lock:
            if fields["accepted"]:
                stats["accepted"] += 1
                last_ack_at = time.time() * 1000
            else:
                stats["refused"] += 1
    elif event == "welcome":
        with lock:
            stats["connected"] += 1
        welcomed.release()
    elif event == "disconnected":
        with lock:
            stats["connected"] = max(0, stats["connected"] - 1)


def noop(inp, ctx):
    global first_start_at
    with lock:
        stats["started"] += 1
        if first_start_at != first_start_at:
            first_start_at = time.time() * 1000
    return None


def handle(msg):
    global last_ack_at, first_start_at
    kind = msg["type"]
    if kind == "start":
        key = os.environ.get("BENCH_WORKER_KEY")
        for i in range(msg["workers"]):
            w = Worker(msg["address"], name=f"bench-py-{os.getpid()}-{i}", slots=msg["slots"], api_key=key,
                       drain_grace=2.0, handle_signals=False, on_event=on_event)
            w.action("bench.noop")(noop)
            t = threading.Thread(target=w.run, daemon=True)
            t.start()
            workers.append(w)
            threads.append(t)
        for _ in range(msg["workers"]):
            if not welcomed.acquire(timeout=30):
                raise RuntimeError("a Python worker was not welcomed within 30 s")
        return {"workers": len(workers)}
    if kind == "clock":
        return {"now": time.time() * 1000}
    if kind == "stats":
        with lock:
            return dict(stats)
    if kind == "collect":
        with lock:
            out = {**stats, "ackTimes": [], "startLatency": [], "succeededLatency": [], "runLatency": [],
                   "firstStartAt": first_start_at, "lastAckAt": last_ack_at}
            stats.update(accepted=0, refused=0, started=0)
            last_ack_at = first_start_at = float("nan")
        return out
    if kind == "release":
        return {}
    if kind == "stop":
        for w in workers:
            w.stop()
        for t in threads:
            t.join(15)
        return {}
    raise ValueError(f"unknown request {kind}")


print(json.dumps({"id": 0}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        reply = {"id": req["id"], **handle(req)}
    except Exception as err:  # reported to the bench, which fails the scenario
        reply = {"id": req["id"], "error": repr(err)}
    print(json.dumps(reply).replace("NaN", "null"), flush=True)
