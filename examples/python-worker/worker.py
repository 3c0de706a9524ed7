#!/usr/bin/python3
"""A Weft worker in Python (the weft-sdk package, sdk-python/): the actions of words.yaml and sleep.yaml.

    /usr/bin/python3 examples/python-worker/worker.py --address 127.0.0.1:8080
    /usr/bin/python3 examples/python-worker/worker.py --address https://weft:8443 --ca-file ca.pem   # TLS

Actions:
  py.tokenize  {text}                → {words, count}; blank text fails EMPTY_TEXT (not retryable)
  py.count     {words, top}          → {top: [[word, n], …], unique}
  py.report    {input, steps}        → {summary}   (the default input: the run input and both outputs)
  py.sleep     {seconds}             → {slept}     (heartbeats keep it alive; stops on cancel)
"""

import argparse
import json
import os
import re
import sys
from collections import Counter
from pathlib import Path

try:
    import google.protobuf  # noqa: F401
    import grpc  # noqa: F401
except ImportError as err:  # a setup problem, said plainly
    # Debian's python3-grpcio is installed for /usr/bin/python3 only: a pyenv or venv python3
    # first on PATH does not see it, hence the interpreter named in the message.
    sys.exit(
        f"cannot import grpc and protobuf with {sys.executable} ({err}): "
        "apt-get install python3-grpcio python3-protobuf, "
        "then run the worker with /usr/bin/python3 (a pyenv or venv python3 does not see Debian's packages)"
    )
try:
    import weft  # noqa: F401  (installed: pip install ./sdk-python)
except ImportError:  # not installed: the package's source in this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "sdk-python" / "src"))

from weft import TaskError, Worker, WorkerRefused


def tokenize(inp, ctx):
    text = inp.get("text")
    if not isinstance(text, str) or not text.strip():
        raise TaskError.non_retryable("EMPTY_TEXT", "input.text must be a non-blank string")
    words = re.findall(r"[a-z0-9']+", text.lower())
    return {"words": words, "count": len(words)}


def count(inp, ctx):
    counts = Counter(inp["words"])
    # Most frequent first; ties in alphabetical order, so the output is exact.
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[: int(inp.get("top", 3))]
    return {"top": [[word, n] for word, n in top], "unique": len(counts)}


def report(inp, ctx):
    words = inp["steps"]["tokenize"]["count"]
    top = ", ".join(f"{w} ×{n}" for w, n in inp["steps"]["count"]["top"])
    return {"summary": f"{inp['input']['title']}: {words} words, most used: {top}", "attempt": ctx.attempt}


def sleep(inp, ctx):
    seconds = float(inp.get("seconds", 1))
    ctx.sleep(seconds)  # raises TaskError CANCELLED when the server cancels the task (heartbeats are automatic)
    return {"slept": seconds}


def print_event(event, fields):
    """One JSON line on stdout per worker event (test/e2e/python-worker.test.ts reads them)."""
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def main():
    parser = argparse.ArgumentParser(description="A Weft worker in Python")
    parser.add_argument("--address", default=os.environ.get("WEFT_ADDRESS", "127.0.0.1:8080"),
                        help="control plane host:port, or https://host:port for TLS")
    parser.add_argument("--ca-file", default=os.environ.get("WEFT_CA_FILE"),
                        help="PEM CA the server's TLS certificate chains to (implies TLS)")
    parser.add_argument("--cert-file", default=os.environ.get("WEFT_CERT_FILE"),
                        help="PEM client certificate, for servers that require one (mTLS)")
    parser.add_argument("--key-file", default=os.environ.get("WEFT_KEY_FILE"), help="PEM private key of --cert-file")
    parser.add_argument("--name", default="python-worker", help="shown on step runs")
    parser.add_argument("--slots", type=int, default=4, help="tasks run at once")
    args = parser.parse_args()

    worker = Worker(args.address, name=args.name, slots=args.slots, labels={"language": "python"},
                    ca_file=args.ca_file, cert_file=args.cert_file, key_file=args.key_file,
                    api_key=os.environ.get("WEFT_API_KEY"), on_event=print_event)
    worker.action("py.tokenize")(tokenize)
    worker.action("py.count")(count)
    worker.action("py.report")(report)
    worker.action("py.sleep")(sleep)
    try:
        worker.run()
    except WorkerRefused:
        sys.exit(2)  # the refusal was printed as an event


if __name__ == "__main__":
    main()
