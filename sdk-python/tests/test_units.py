"""The SDK's pure parts, without a server: failures and their catalogue,
values, result messages, and how a stream's outgoing messages are grouped."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from support import ROOT
from weft import SDK_RETRYABLE, SdkErrorType, TaskError
from weft._gen.weft.v1 import worker_service_pb2 as pb
from weft._results import ResultBook, result_message
from weft._session import Session
from weft.values import from_value, to_value


def test_the_failure_types_and_their_retryable_flags_mirror_the_typescript_sdk() -> None:
    ts = (ROOT / "sdk" / "failures.ts").read_text()
    block = ts.split("export const SDK_RETRYABLE")[1].split("};")[0]
    flags = {name: value == "true" for name, value in re.findall(r"^\s+(\w+): (true|false),$", block, re.M)}
    assert flags == SDK_RETRYABLE
    assert {v for k, v in vars(SdkErrorType).items() if k.isupper()} == set(SDK_RETRYABLE)


def test_task_errors_carry_type_message_and_retryable() -> None:
    retry = TaskError.retryable("RATE_LIMITED", "429")
    final = TaskError.non_retryable("CARD_DECLINED", "declined")
    assert (retry.type, retry.message, retry.retryable) == ("RATE_LIMITED", "429", True)
    assert (final.type, final.message, final.retryable) == ("CARD_DECLINED", "declined", False)
    other = TaskError.of(KeyError("x"))
    assert (other.type, other.retryable) == ("KeyError", True)
    assert len(TaskError("T" * 300, "m" * 70_000).type) == 256


@pytest.mark.parametrize("value", [None, True, 0, 3, -2.5, "ü", [1, [2, {"a": None}]], {"k": {"n": 2**40}}])
def test_values_round_trip(value: object) -> None:
    assert from_value(to_value(value)) == value


def test_values_refuse_what_json_cannot_hold() -> None:
    with pytest.raises(ValueError):
        to_value(float("nan"))
    with pytest.raises(ValueError):
        to_value({1, 2})


def task(task_id: str = "t-1") -> SimpleNamespace:
    return SimpleNamespace(task_id=task_id, lease_token=7)


def test_an_output_json_cannot_hold_or_too_large_fails_without_retry() -> None:
    ok = result_message(task(), {"a": [1, "b"]}, 1000)
    assert ok.result.output_json == b'{"a":[1,"b"]}' and ok.result.lease_token == 7
    bad = result_message(task(), {"s": {1}}, 1000).result.error
    assert (bad.type, bad.retryable) == (SdkErrorType.OUTPUT_NOT_SERIALIZABLE, False)
    big = result_message(task(), "x" * 2000, 1000).result.error
    assert (big.type, big.retryable) == (SdkErrorType.OUTPUT_TOO_LARGE, False)
    failed = result_message(task(), TaskError.non_retryable("NOPE", "no"), 1000).result.error
    assert (failed.type, failed.message, failed.retryable) == ("NOPE", "no", False)


def test_the_book_keeps_results_until_acked_and_hands_out_those_asked_for_again() -> None:
    book = ResultBook()
    book.put(result_message(task("a"), 1, 1000))
    book.put(result_message(task("b"), 2, 1000))
    assert book.due(60) == []
    book.later("b")
    assert [m.result.task_id for m in book.due(60)] == ["b"]
    assert book.ack("a") and not book.ack("a")
    assert not book.wait_empty(0.01)
    book.ack("b")
    assert book.wait_empty(0.01) and len(book) == 0


def welcome(batches: bool, json: bool) -> pb.Welcome:
    return pb.Welcome(worker_id="w", accepts_batches=batches, accepts_json=json)


def sent(session: Session, items: list[pb.WorkerMessage]) -> list[pb.WorkerMessage]:
    for m in items:
        session.send(m)
    session.close()
    return list(session.requests())[1:]


def test_results_queued_together_go_as_one_batch_in_order_with_other_messages() -> None:
    session = Session(pb.WorkerMessage(hello=pb.Hello(worker_name="w")), "x")
    session.welcomed(welcome(True, True))
    r = [result_message(task(f"t{i}"), i, 1000) for i in range(3)]
    beat = pb.WorkerMessage(heartbeat=pb.Heartbeat(task_ids=["t9"]))
    out = sent(session, [r[0], r[1], beat, r[2]])
    assert [m.WhichOneof("msg") for m in out] == ["results", "heartbeat", "result"]
    assert [x.task_id for x in out[0].results.results] == ["t0", "t1"]


def test_an_older_server_gets_one_result_per_message_with_value_outputs() -> None:
    session = Session(pb.WorkerMessage(hello=pb.Hello(worker_name="w")), "x")
    session.welcomed(welcome(False, False))
    out = sent(session, [result_message(task(f"t{i}"), {"n": i}, 1000) for i in range(2)])
    assert [m.WhichOneof("msg") for m in out] == ["result", "result"]
    assert [from_value(m.result.output) for m in out] == [{"n": 0}, {"n": 1}]
