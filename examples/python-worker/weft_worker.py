"""A small Weft worker runtime on grpcio: one WorkerService.Connect stream.

It says hello (name, actions, slots), waits for welcome, runs each task in a
thread (never more than `slots` at once: the server does not send more),
heartbeats the running tasks at the welcome's interval (sooner when a task's
heartbeat_timeout asks for it), sends each result with the task's lease
token, keeps results until they are acknowledged (and sends them again after
a reconnect, or when an ack says `retry_later`: the token decides whether
they still count), sends an empty heartbeat now and then when idle (so the
server knows it is alive), stops a handler
when the server cancels its task, reconnects with backoff and jitter, and
drains on SIGTERM / SIGINT.

    worker = Worker("127.0.0.1:8080", name="py-1", slots=4)

    @worker.action("py.tokenize")
    def tokenize(inp, ctx):
        if not inp.get("text"):
            raise TaskError("EMPTY_TEXT", "nothing to tokenize", retryable=False)
        return {"words": inp["text"].split()}

    worker.run()  # until SIGTERM / SIGINT

Stubs: run generate.sh first; WEFT_PY_STUBS names another stub folder.
"""

import json
import math
import os
import queue
import random
import signal
import sys
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor

try:
    import google.protobuf  # noqa: F401 (checked here: the stubs import below would blame generate.sh)
    import grpc
except ImportError as err:  # pragma: no cover - a setup problem, said plainly
    # Debian's python3-grpcio is installed for /usr/bin/python3 only: a pyenv or venv python3
    # first on PATH does not see it, hence the interpreter named in the message.
    sys.exit(
        f"cannot import grpc and protobuf with {sys.executable} ({err}): "
        "apt-get install python3-grpcio python3-protobuf, "
        "then run the worker with /usr/bin/python3 (a pyenv or venv python3 does not see Debian's packages)"
    )

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.environ.get("WEFT_PY_STUBS") or os.path.join(_HERE, "build", "stubs"))

try:
    from google.protobuf import struct_pb2
    from google.rpc import error_details_pb2, status_pb2
    from weft.v1 import common_pb2, worker_service_pb2 as pb, worker_service_pb2_grpc as pb_grpc
except ImportError as err:  # pragma: no cover - a setup problem, said plainly
    sys.exit(f"cannot import the generated stubs ({err}): run examples/python-worker/generate.sh first")

# The server refuses this hello for good: do not retry.
_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
_MAX_TYPE = 256
_MAX_MESSAGE = 65536
# The server's default request limit is 4 MiB; leave room for the envelope.
_MAX_RESULT_BYTES = 4 * 1024 * 1024 - 64 * 1024


class TaskError(Exception):
    """Raise from a handler to fail the attempt with a type and a retry flag.

    `type` is matched against the step's retry.non_retryable_errors;
    retryable=False fails the step at once whatever its policy.
    """

    def __init__(self, type, message, retryable=True):
        super().__init__(message)
        self.type = type
        self.message = message
        self.retryable = retryable


class TaskContext:
    """What a handler knows about its task. Check `cancelled` in long loops."""

    def __init__(self, task):
        self.task_id = task.task_id
        self.run_id = task.run_id
        self.step_id = task.step_id
        self.workflow_id = task.workflow_id
        self.action = task.action
        self.attempt = task.attempt
        # W3C trace context of the server's step span ("" when the server does not trace);
        # getattr: stubs generated before Task.traceparent existed lack the field.
        self.traceparent = getattr(task, "traceparent", "")
        self.deadline = task.deadline.ToDatetime() if task.HasField("deadline") else None
        self.cancelled = threading.Event()
        self.cancel_reason = ""

    def sleep(self, seconds):
        """Sleep, or raise TaskError CANCELLED as soon as the server cancels the task."""
        if self.cancelled.wait(seconds):
            raise TaskError("CANCELLED", self.cancel_reason or "cancelled by the server", retryable=False)


def to_value(obj):
    """A JSON-like Python value → google.protobuf.Value."""
    v = struct_pb2.Value()
    if obj is None:
        v.null_value = struct_pb2.NULL_VALUE
    elif isinstance(obj, bool):
        v.bool_value = obj
    elif isinstance(obj, (int, float)):
        if not math.isfinite(obj):
            raise ValueError(f"{obj} has no JSON form")
        v.number_value = obj
    elif isinstance(obj, str):
        v.string_value = obj
    elif isinstance(obj, dict):
        v.struct_value.SetInParent()
        for key, item in obj.items():
            v.struct_value.fields[str(key)].CopyFrom(to_value(item))
    elif isinstance(obj, (list, tuple)):
        v.list_value.SetInParent()
        for item in obj:
            v.list_value.values.add().CopyFrom(to_value(item))
    else:
        raise ValueError(f"a {type(obj).__name__} has no JSON form")
    return v


def from_value(v):
    """google.protobuf.Value → plain Python (whole numbers become int)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        n = v.number_value
        return int(n) if n.is_integer() and abs(n) < 2**53 else n
    if kind == "string_value":
        return v.string_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "struct_value":
        return {k: from_value(item) for k, item in v.struct_value.fields.items()}
    if kind == "list_value":
        return [from_value(item) for item in v.list_value.values]
    return None


def log(event, **fields):
    """One JSON line on stdout per event (tests and operators read these)."""
    print(json.dumps({"event": event, **fields}, default=str), flush=True)


def refusal_details(err):
    """The google.rpc.BadRequest field violations of a refused call, as text."""
    for key, value in err.trailing_metadata() or ():
        if key != "grpc-status-details-bin":
            continue
        status = status_pb2.Status.FromString(value)
        lines = []
        for detail in status.details:
            bad = error_details_pb2.BadRequest()
            if detail.Unpack(bad):
                lines += [f"{fv.field}: {fv.description}" for fv in bad.field_violations]
        return lines
    return []


class _Running:
    def __init__(self, task, ctx):
        self.task = task
        self.ctx = ctx
        self.heartbeat_s = task.heartbeat_timeout.ToTimedelta().total_seconds() if task.HasField("heartbeat_timeout") else 0


def tls_credentials(ca_file=None, cert_file=None, key_file=None):
    """Channel credentials from PEM files: the CA the server's certificate chains to (None: grpc's
    public roots), and a client certificate with its key for servers that require one (mTLS)."""
    if bool(cert_file) != bool(key_file):
        raise ValueError("cert_file and key_file: a client certificate needs both")

    def read(path):
        if not path:
            return None
        with open(path, "rb") as f:
            return f.read()

    return grpc.ssl_channel_credentials(
        root_certificates=read(ca_file), private_key=read(key_file), certificate_chain=read(cert_file)
    )


class Worker:
    """A Weft worker. Register handlers with `action`, then `run()`."""

    def __init__(self, address, name, slots=1, labels=None, drain_grace_s=10.0, max_backoff_s=5.0,
                 ca_file=None, cert_file=None, key_file=None):
        # https:// or a TLS file means TLS; grpc itself takes a bare host:port either way.
        tls = address.startswith("https://") or bool(ca_file or cert_file)
        self.address = address.removeprefix("http://").removeprefix("https://")
        self._credentials = tls_credentials(ca_file, cert_file, key_file) if tls else None
        self.name = name
        self.slots = slots
        self.labels = dict(labels or {})
        self.drain_grace_s = drain_grace_s
        self.max_backoff_s = max_backoff_s
        self.handlers = {}
        self._lock = threading.Lock()
        self._running = {}  # task_id → _Running
        self._unacked = {}  # task_id → WorkerMessage(result=…), until the server acks it
        self._retry_later = set()  # task ids whose result the server asked for again (ack.retry_later)
        self._outbox = None  # the current stream's queue; None while disconnected
        self._heartbeat_s = 1.0
        self._stopping = threading.Event()
        self._pool = None
        self._call = None

    def action(self, name):
        """Decorator: `@worker.action("py.tokenize")` over `def handler(input, ctx)`."""

        def register(fn):
            self.handlers[name] = fn
            return fn

        return register

    # ---- sending -------------------------------------------------------

    def _send(self, msg):
        with self._lock:
            if self._outbox is not None:
                self._outbox.put(msg)

    def _finish(self, running, outcome):
        """Record the result until acked and send it on the current stream.

        Only the first result of one delivery counts: a copy superseded by a
        newer delivery, or already reported by the drain, sends nothing.
        """
        task = running.task
        with self._lock:
            if self._running.get(task.task_id) is not running:
                return
            del self._running[task.task_id]
        result = pb.TaskResult(task_id=task.task_id, lease_token=task.lease_token)
        if isinstance(outcome, TaskError):
            result.error.CopyFrom(
                common_pb2.Failure(
                    type=str(outcome.type)[:_MAX_TYPE], message=str(outcome.message)[:_MAX_MESSAGE], retryable=outcome.retryable
                )
            )
        else:
            try:
                result.output.CopyFrom(to_value(outcome))
            except ValueError as err:
                result.error.CopyFrom(common_pb2.Failure(type="OUTPUT_NOT_SERIALIZABLE", message=str(err), retryable=False))
        if result.ByteSize() > _MAX_RESULT_BYTES:  # the server would refuse it, and the stream with it
            result.error.CopyFrom(
                common_pb2.Failure(type="OUTPUT_TOO_LARGE", message=f"the output is {result.ByteSize()} bytes encoded", retryable=False)
            )
        msg = pb.WorkerMessage(result=result)
        with self._lock:
            self._unacked[task.task_id] = msg
            if self._outbox is not None:
                self._outbox.put(msg)
        error = result.error if result.HasField("error") else None
        log("result", task_id=task.task_id, step_id=task.step_id, ok=error is None,
            type=error.type if error else None, retryable=error.retryable if error else None)

    # ---- running tasks -------------------------------------------------

    def _execute(self, running):
        task, ctx = running.task, running.ctx
        handler = self.handlers.get(task.action)
        try:
            if handler is None:
                raise TaskError("UNKNOWN_ACTION", f"this worker does not run {task.action!r}", retryable=False)
            outcome = handler(from_value(task.input), ctx)
        except TaskError as err:
            outcome = err
        except Exception as err:  # any other exception: retryable, typed by its class
            outcome = TaskError(type(err).__name__, str(err) or repr(err), retryable=True)
            log("handler_error", task_id=task.task_id, traceback=traceback.format_exc())
        if ctx.cancelled.is_set() and not isinstance(outcome, TaskError):
            outcome = TaskError("CANCELLED", ctx.cancel_reason or "cancelled by the server", retryable=False)
        self._finish(running, outcome)

    def _on_task(self, task):
        with self._lock:
            older = self._running.get(task.task_id)
            if older is not None:  # offered again (its lease lapsed, the retry came back here): stop the old copy
                older.ctx.cancel_reason = "the server offered this task again"
                older.ctx.cancelled.set()
            running = self._running[task.task_id] = _Running(task, TaskContext(task))
            # Decided once, before anything is printed: a drain that starts after this line waits
            # for the task (it is in _running); one that started before gets it handed back.
            draining = self._stopping.is_set()
        log("task", task_id=task.task_id, run_id=task.run_id, step_id=task.step_id, action=task.action, attempt=task.attempt,
            **({"traceparent": running.ctx.traceparent} if running.ctx.traceparent else {}),
            **({"handed_back": True} if draining else {}))
        if draining:
            self._finish(running, TaskError("WORKER_DRAINING", "the worker is shutting down", retryable=True))
            return
        self._pool.submit(self._execute, running)

    def _on_cancel(self, cancel):
        log("cancel", task_id=cancel.task_id, reason=cancel.reason)
        with self._lock:
            running = self._running.get(cancel.task_id)
        if running is not None:
            running.ctx.cancel_reason = cancel.reason
            running.ctx.cancelled.set()

    def _heartbeats(self, stream_done):
        """Heartbeat every running task at the welcome's interval, or within a third of its heartbeat_timeout."""
        idle_beats = 0
        while not stream_done.is_set():
            with self._lock:
                ids = list(self._running)
                timeouts = [r.heartbeat_s for r in self._running.values() if r.heartbeat_s > 0]
                again = [self._unacked[t] for t in self._retry_later if t in self._unacked]
                self._retry_later.clear()
            for msg in again:  # the server could not record them (its database was away): send again
                self._send(msg)
            idle_beats = 0 if ids else idle_beats + 1
            if ids or idle_beats >= 5:  # idle: an empty heartbeat now and then tells the server we are alive
                self._send(pb.WorkerMessage(heartbeat=pb.Heartbeat(task_ids=ids)))
                idle_beats = 0
            interval = min([self._heartbeat_s] + [t / 3 for t in timeouts])
            stream_done.wait(max(interval, 0.05))

    # ---- the stream ----------------------------------------------------

    def _requests(self, outbox):
        yield pb.WorkerMessage(hello=pb.Hello(worker_name=self.name, actions=sorted(self.handlers), slots=self.slots, labels=self.labels))
        while True:
            msg = outbox.get()
            if msg is None:
                return
            yield msg

    def _session(self, channel):
        """One stream, until it ends. Returns True once welcomed."""
        outbox = queue.Queue()
        stub = pb_grpc.WorkerServiceStub(channel)
        call = stub.Connect(self._requests(outbox))
        self._call = call
        stream_done = threading.Event()
        welcomed = False
        try:
            for msg in call:
                kind = msg.WhichOneof("msg")
                if kind == "welcome":
                    welcomed = True
                    interval = msg.welcome.heartbeat_interval.ToTimedelta().total_seconds()
                    self._heartbeat_s = interval if interval > 0 else 1.0
                    with self._lock:
                        self._outbox = outbox
                        for pending in self._unacked.values():  # resend: the token decides
                            outbox.put(pending)
                    threading.Thread(target=self._heartbeats, args=(stream_done,), daemon=True).start()
                    log("welcome", worker_id=msg.welcome.worker_id, heartbeat_interval_s=self._heartbeat_s, address=self.address)
                elif kind == "task":
                    self._on_task(msg.task)
                elif kind == "cancel":
                    self._on_cancel(msg.cancel)
                elif kind == "ack":
                    with self._lock:
                        if msg.ack.retry_later:
                            self._retry_later.add(msg.ack.task_id)
                        else:
                            self._unacked.pop(msg.ack.task_id, None)
                    log("ack", task_id=msg.ack.task_id, accepted=msg.ack.accepted, reason=msg.ack.reason)
        finally:
            stream_done.set()
            with self._lock:
                if self._outbox is outbox:
                    self._outbox = None
            outbox.put(None)
        return welcomed

    def run(self):
        """Connect (and reconnect) until SIGTERM / SIGINT; then drain. Returns the exit code."""
        if not self.handlers:
            raise ValueError("register at least one action")
        self._pool = ThreadPoolExecutor(max_workers=max(self.slots, 1), thread_name_prefix="weft-task")
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: threading.Thread(target=self._drain, daemon=True).start())
        attempt = 0
        ever_welcomed = False
        while not self._stopping.is_set():
            # A fresh channel per attempt: a channel that failed to connect waits out its own backoff.
            with self._channel() as channel:
                try:
                    if self._session(channel):
                        ever_welcomed, attempt = True, 0
                    if self._stopping.is_set():
                        break
                    log("disconnected", why="the server ended the stream")
                except grpc.RpcError as err:
                    if self._stopping.is_set():
                        break
                    if err.code() in _REFUSED and not ever_welcomed:
                        log("refused", code=err.code().name, message=err.details(), violations=refusal_details(err))
                        return 2
                    log("disconnected", code=err.code().name, message=err.details())
            delay = random.uniform(0, min(self.max_backoff_s, 0.1 * 2**attempt))  # full jitter
            attempt += 1
            self._stopping.wait(delay)
        self._pool.shutdown(wait=False, cancel_futures=True)
        log("stopped")
        return 0

    def _channel(self):
        options = [("grpc.keepalive_time_ms", 15000)]
        if self._credentials is None:
            return grpc.insecure_channel(self.address, options=options)
        return grpc.secure_channel(self.address, self._credentials, options=options)

    def _drain(self):
        """Take no new tasks; let running ones finish within the grace period, cancel the rest, wait for acks."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        log("draining", running=len(self._running))
        end = time.monotonic() + self.drain_grace_s
        while self._running and time.monotonic() < end:
            time.sleep(0.05)
        with self._lock:
            leftovers = list(self._running.values())
        for r in leftovers:  # the handler sees the cancel; its result goes back as retryable
            r.ctx.cancel_reason = "the worker is shutting down"
            r.ctx.cancelled.set()
            self._finish(r, TaskError("WORKER_SHUTDOWN", "the worker stopped before the task finished", retryable=True))
        end = time.monotonic() + 5
        while self._unacked and self._outbox is not None and time.monotonic() < end:
            time.sleep(0.05)
        with self._lock:
            if self._outbox is not None:
                self._outbox.put(None)  # half-close: the server ends the stream
        if self._call is not None:  # a server that does not end the stream is cut off after 2 s
            timer = threading.Timer(2.0, self._call.cancel)
            timer.daemon = True
            timer.start()
