"""One `WorkerService.Connect` stream's outgoing side: `hello`, then what the
worker queues, results sent at the same moment grouped into one `results`
message when the server takes batches (outputs as `Value`s for a server that
does not take JSON); and its heartbeat loop."""

from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterable, Iterator

from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft.values import from_json_bytes, to_value

MAX_RESULTS_PER_MESSAGE = 256
# An idle worker sends an empty heartbeat (a keepalive) every this many heartbeat periods.
KEEPALIVE_BEATS = 5


class Session:
    """The stream's outgoing queue; `send` works from any thread until `close()`."""

    def __init__(self, hello: pb.WorkerMessage, address: str) -> None:
        self.hello = hello
        self.address = address
        self.batches = False
        self.json = False
        self.heartbeat_s = 1.0
        self.done = threading.Event()
        self._queue: queue.SimpleQueue[pb.WorkerMessage | None] = queue.SimpleQueue()

    def welcomed(self, welcome: Any) -> None:
        self.batches = welcome.accepts_batches
        self.json = welcome.accepts_json
        interval = welcome.heartbeat_interval.ToTimedelta().total_seconds()
        self.heartbeat_s = interval if interval > 0 else 5.0

    def send(self, msg: pb.WorkerMessage) -> bool:
        if self.done.is_set():
            return False
        self._queue.put(msg)
        return True

    def close(self) -> None:
        """Half-close: the request stream ends after what is queued."""
        self.done.set()
        self._queue.put(None)

    def requests(self) -> Iterator[pb.WorkerMessage]:
        yield self.hello
        while True:
            first = self._queue.get()
            if first is None:
                return
            items = [first]
            closing = False
            while len(items) < MAX_RESULTS_PER_MESSAGE:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    closing = True
                    break
                items.append(nxt)
            yield from self._grouped(items)
            if closing:
                return

    def _grouped(self, items: list[pb.WorkerMessage]) -> Iterable[pb.WorkerMessage]:
        results: list[Any] = []
        for msg in items:
            if msg.WhichOneof("msg") == "result":
                results.append(self._as_sent(msg.result))
                continue
            yield from self._results(results)
            results = []
            yield msg
        yield from self._results(results)

    def _results(self, results: list[Any]) -> Iterable[pb.WorkerMessage]:
        """One `results` message when the server takes batches; else one `result` each."""
        if len(results) > 1 and self.batches:
            yield pb.WorkerMessage(results=pb.TaskResults(results=results))
            return
        for r in results:
            yield pb.WorkerMessage(result=r)

    def _as_sent(self, result: Any) -> Any:
        if self.json or result.WhichOneof("outcome") != "output_json":
            return result
        return pb.TaskResult(
            task_id=result.task_id, lease_token=result.lease_token, output=to_value(from_json_bytes(result.output_json))
        )


def heartbeat_loop(
    session: Session,
    running: Callable[[], tuple[list[str], list[float]]],
    due_results: Callable[[], list[pb.WorkerMessage]],
) -> None:
    """Until the stream ends: every running task's heartbeat at the welcome's
    interval (or a third of the shortest heartbeat timeout), an empty one now
    and then when idle, and the results due to be sent again."""
    idle = 0
    while not session.done.is_set():
        ids, timeouts = running()
        for msg in due_results():
            session.send(msg)
        idle = 0 if ids else idle + 1
        if ids or idle >= KEEPALIVE_BEATS:
            session.send(pb.WorkerMessage(heartbeat=pb.Heartbeat(task_ids=ids)))
            idle = 0
        period = min([session.heartbeat_s] + [t / 3 for t in timeouts])
        session.done.wait(max(period, 0.02))
