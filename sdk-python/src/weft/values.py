"""JSON-like Python values ⇄ `google.protobuf.Value`, and JSON text for the
protocol's `input_json` / `output_json`.

    to_value({"n": 1}).struct_value.fields["n"].number_value  # 1.0
    from_value(to_value([1, "a", None]))                       # [1, "a", None]
"""

from __future__ import annotations

import json
import math
from typing import Any, TypeAlias

from google.protobuf import struct_pb2

Json: TypeAlias = None | bool | int | float | str | list["Json"] | dict[str, "Json"]
"""What JSON holds; handler inputs arrive as this, outputs may be any of it."""


def to_value(obj: Any) -> struct_pb2.Value:
    """A JSON-like Python value → google.protobuf.Value; ValueError for anything else."""
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


def from_value(v: struct_pb2.Value) -> Json:
    """google.protobuf.Value → plain Python (whole numbers become int)."""
    kind = v.WhichOneof("kind")
    if kind == "number_value":
        n = v.number_value
        return int(n) if n.is_integer() and abs(n) < 2**53 else n
    if kind == "string_value":
        return str(v.string_value)
    if kind == "bool_value":
        return bool(v.bool_value)
    if kind == "struct_value":
        return {k: from_value(item) for k, item in v.struct_value.fields.items()}
    if kind == "list_value":
        return [from_value(item) for item in v.list_value.values]
    return None


def optional_value(msg: Any, field: str) -> Json:
    """A message's Value field as Python, None when unset."""
    return from_value(getattr(msg, field)) if msg.HasField(field) else None


def to_json_bytes(obj: Any) -> bytes:
    """UTF-8 JSON of a handler's output; ValueError for what JSON cannot hold (NaN, a set, a cycle)."""
    try:
        return json.dumps(obj, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode()
    except (TypeError, RecursionError) as err:
        raise ValueError(str(err)) from err


def from_json_bytes(data: bytes) -> Json:
    parsed: Json = json.loads(data)
    return parsed
