"""`Worker`: register actions, `run()`. One `WorkerService.Connect` stream at
a time, reconnecting with backoff and full jitter across its addresses;
`slots` tasks at once; heartbeats, result resends and drains on its own.

    worker = Worker("127.0.0.1:8080", name="billing-1", slots=4)

    @worker.action("charge")
    def charge(inp, ctx):
        if inp["cents"] <= 0:
            raise TaskError.non_retryable("BAD_AMOUNT", "cents must be positive")
        return {"ok": True, "attempt": ctx.attempt}

    worker.run()  # until SIGTERM / SIGINT (a second one aborts running tasks), then drains
"""

from __future__ import annotations

import inspect
import logging
import random
import re
import signal
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable, Mapping, Sequence, TypeVar

import grpc

from weft._channel import Target, target
from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft._gen.weft.v1 import worker_service_pb2_grpc as pb_grpc
from weft._host import EventSink, TaskHost
from weft._running import EventLoopThread, Handler
from weft._session import Session, heartbeat_loop
from weft.errors import SdkErrorType, TaskError, WeftError, WorkerRefused

ACTION_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_.-]{0,127}$")
# Codes that mean "this hello will never be welcomed" on the first connect.
_REFUSED = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED}
# A stream that stayed up this long resets the backoff.
_STABLE_S = 5.0
_CLOSE_GRACE_S = 2.0
_log = logging.getLogger("weft.worker")

H = TypeVar("H", bound=Handler)


def _log_event(event: str, fields: dict[str, Any]) -> None:
    level = (
        logging.WARNING
        if event in ("disconnected", "refused", "handler_error")
        else logging.INFO
        if event in ("welcome", "draining", "stopped")
        else logging.DEBUG
    )
    _log.log(level, "%s %s", event, fields)


class Worker:
    """A Weft worker; see the module docstring."""

    def __init__(
        self,
        address: str | Sequence[str],
        *,
        name: str,
        slots: int = 1,
        labels: Mapping[str, str] | None = None,
        api_key: str | None = None,
        namespace: str | None = None,
        ca_file: str | None = None,
        cert_file: str | None = None,
        key_file: str | None = None,
        drain_grace: float = 10.0,
        ack_wait: float = 5.0,
        reconnect_initial: float = 0.1,
        reconnect_max: float = 5.0,
        welcome_timeout: float = 10.0,
        result_resend: float = 5.0,
        max_result_bytes: int = 4 * 1024 * 1024 - 64 * 1024,
        handle_signals: bool = True,
        on_event: EventSink | None = None,
    ) -> None:
        addresses = [address] if isinstance(address, str) else list(address)
        if not addresses:
            raise ValueError("address: at least one")
        self._targets: list[Target] = [
            target(a, api_key=api_key, namespace=namespace, ca_file=ca_file, cert_file=cert_file, key_file=key_file)
            for a in addresses
        ]
        if not 1 <= len(name) <= 256:
            raise ValueError("name: 1 to 256 characters")
        if not 1 <= slots <= 10_000:
            raise ValueError("slots: an integer from 1 to 10000")
        self.name, self.slots, self.labels = name, slots, dict(labels or {})
        self.drain_grace, self.ack_wait, self.welcome_timeout = drain_grace, ack_wait, welcome_timeout
        self._backoff = (reconnect_initial, max(reconnect_initial, reconnect_max))
        self.result_resend, self.max_result_bytes, self.handle_signals = result_resend, max_result_bytes, handle_signals
        self._emit: EventSink = on_event or _log_event
        self._handlers: dict[str, Handler] = {}
        self._host = TaskHost(self._handlers, slots, max_result_bytes, self._emit)
        self._call: Any = None
        self._welcomed_at: float | None = None
        self._grace_end = threading.Event()  # abort running tasks now
        self._closed = threading.Event()  # no more connects
        self.worker_id: str | None = None

    def action(self, name: str) -> Callable[[H], H]:
        """Decorator: `@worker.action("charge")` over `def handler(input, ctx)` or `async def`."""
        if not ACTION_NAME.match(name):
            raise ValueError(f"action {name!r} must match {ACTION_NAME.pattern}")
        if name in self._handlers:
            raise ValueError(f"action {name!r} is already registered")

        def register(fn: H) -> H:
            self._handlers[name] = fn
            return fn

        return register

    @property
    def running(self) -> int:
        return len(self._host.tasks)

    @property
    def pending_acks(self) -> int:
        return len(self._host.book)

    def run(self) -> None:
        """Connect and serve until stopped (SIGTERM / SIGINT, or `stop()`), then return.
        Raises `WorkerRefused` when the server refuses the first hello."""
        if not self._handlers:
            raise ValueError("register at least one action")
        host = self._host
        host.pool = ThreadPoolExecutor(max_workers=self.slots, thread_name_prefix="weft-task")
        if any(inspect.iscoroutinefunction(h) for h in self._handlers.values()):
            host.loop = EventLoopThread()
        restore = self._hook_signals()
        try:
            self._connect_loop()
        finally:
            restore()
            host.pool.shutdown(wait=False, cancel_futures=True)
            if host.loop is not None:
                host.loop.stop()
            self._emit("stopped", {})

    def stop(self) -> None:
        """Begin the drain (from any thread): new tasks go back, running ones get `drain_grace`
        to finish, the rest are cancelled and reported WORKER_SHUTDOWN; a second call aborts them now."""
        if self._host.stopping.is_set():
            self._grace_end.set()
            return
        self._host.stopping.set()
        threading.Thread(target=self._drain, name="weft-drain", daemon=True).start()

    # ---- connecting ------------------------------------------------------------------------

    def _connect_loop(self) -> None:
        ever_welcomed, attempt, n = False, 0, 0
        while not self._closed.is_set():
            tgt = self._targets[n % len(self._targets)]
            n += 1
            error: grpc.RpcError | None = None
            channel = tgt.channel()
            self._welcomed_at = None
            try:
                self._stream(channel, tgt)
            except grpc.RpcError as err:
                error = err
            finally:
                channel.close()
            if self._closed.is_set():
                return
            welcomed_at = self._welcomed_at  # set by the welcome, whether the stream then ended or broke
            if welcomed_at is not None:
                ever_welcomed = True
                if time.monotonic() - welcomed_at >= _STABLE_S:
                    attempt = 0
            code = error.code() if error is not None else None
            if error is not None and not ever_welcomed and code in _REFUSED:
                refused = WorkerRefused.from_rpc(error)
                self._emit("refused", {"code": code.name, "message": refused.message,
                                       "violations": [f"{v.field}: {v.description}" for v in refused.violations]})
                raise refused
            initial, cap = self._backoff
            delay = random.uniform(0, min(cap, initial * 2**attempt))  # full jitter
            attempt += 1
            self._emit("disconnected", {"address": tgt.host, "code": code.name if code else None,
                                        "message": error.details() if error is not None else "the server ended the stream",
                                        "retry_in_s": round(delay, 3)})
            self._closed.wait(delay)

    def _hello(self) -> pb.WorkerMessage:
        return pb.WorkerMessage(hello=pb.Hello(
            worker_name=self.name, actions=sorted(self._handlers), slots=self.slots, labels=self.labels,
            accepts_batches=True, accepts_json=True,
        ))

    def _stream(self, channel: grpc.Channel, tgt: Target) -> None:
        """One stream until it ends (RpcError when it breaks)."""
        session = Session(self._hello(), tgt.host)
        call = pb_grpc.WorkerServiceStub(channel).Connect(session.requests(), metadata=tgt.metadata)
        self._call = call
        timer = threading.Timer(self.welcome_timeout, call.cancel)
        timer.daemon = True
        timer.start()
        try:
            for msg in call:
                kind = msg.WhichOneof("msg")
                if kind == "welcome" and self._welcomed_at is None:
                    timer.cancel()
                    self._welcomed_at = time.monotonic()
                    self._welcomed(session, msg.welcome)
                else:
                    self._host.receive(msg, kind)
        finally:
            timer.cancel()
            self._host.detach(session)
            session.close()

    def _welcomed(self, session: Session, welcome: Any) -> None:
        session.welcomed(welcome)
        host = self._host
        host.attach(session)
        threading.Thread(target=heartbeat_loop, name="weft-heartbeat", daemon=True,
                         args=(session, host.heartbeat_targets, lambda: host.book.due(self.result_resend))).start()
        self.worker_id = welcome.worker_id
        self._emit("welcome", {"worker_id": welcome.worker_id, "heartbeat_interval_s": session.heartbeat_s,
                               "address": session.address})

    # ---- stopping --------------------------------------------------------------------------

    def _drain(self) -> None:
        host = self._host
        self._emit("draining", {"running": len(host.tasks)})
        for r in host.wait_idle(self.drain_grace, self._grace_end):  # the handler sees the cancel; back as retryable
            reason = TaskError(SdkErrorType.WORKER_SHUTDOWN, "the worker stopped before the task finished")
            r.ctx._cancel(reason)
            host.finish(r, reason)
        # Still reconnecting meanwhile: a result sent on a stream that broke goes again on the next one.
        if not host.book.wait_empty(self.ack_wait):
            _log.warning("%d result(s) not acknowledged; their tasks run again once their leases end", len(host.book))
        self._closed.set()
        session, call = host.session, self._call
        if session is not None:
            session.close()  # half-close: the server ends the stream
        if call is not None:  # a server that does not end the stream is cut off
            timer = threading.Timer(_CLOSE_GRACE_S, call.cancel)
            timer.daemon = True
            timer.start()

    def _hook_signals(self) -> Callable[[], None]:
        if not self.handle_signals or threading.current_thread() is not threading.main_thread():
            return lambda: None
        previous = {sig: signal.signal(sig, lambda *_: self.stop()) for sig in (signal.SIGTERM, signal.SIGINT)}

        def restore() -> None:
            for sig, old in previous.items():
                signal.signal(sig, old)

        return restore


__all__ = ["Worker", "WeftError", "WorkerRefused"]
