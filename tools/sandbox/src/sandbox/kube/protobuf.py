"""A protobuf encoder for the subset of gnostic's OpenAPIv2 ``Document`` Kubernetes clients read.

Field numbers follow github.com/google/gnostic openapiv2/OpenAPIv2.proto. Vendor extensions are
``NamedAny`` entries whose ``Any.yaml`` holds the value (JSON is valid YAML).
"""

from __future__ import annotations

import json
from typing import Any

# What the API server answers for both the "@v1.0" and ".v1.0" forms of the Accept header.
PROTO_MIME = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte = value & 0x7F
        value >>= 7
        if value:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _string(number: int, value: str) -> bytes:
    return _field(number, value.encode())


def _bool(number: int, value: bool) -> bytes:
    return _varint(number << 3) + _varint(1 if value else 0)


def _named_any(name: str, value: Any) -> bytes:
    return _string(1, name) + _field(2, _string(2, json.dumps(value)))


def _extensions(number: int, obj: dict[str, Any]) -> bytes:
    return b"".join(_field(number, _named_any(k, v)) for k, v in obj.items() if k.startswith("x-"))


def schema(s: dict[str, Any]) -> bytes:
    out = b""
    if "$ref" in s:
        out += _string(1, s["$ref"])
    if "format" in s:
        out += _string(2, str(s["format"]))
    if "description" in s:
        out += _string(4, str(s["description"]))
    for name in s.get("required") or []:
        out += _string(19, name)
    extra = s.get("additionalProperties")
    if isinstance(extra, dict):
        out += _field(21, _field(1, schema(extra)))
    elif isinstance(extra, bool):
        out += _field(21, _bool(2, extra))
    if "type" in s:
        types = s["type"] if isinstance(s["type"], list) else [s["type"]]
        out += _field(22, b"".join(_string(1, t) for t in types))
    items = s.get("items")
    if isinstance(items, dict):
        out += _field(23, _field(1, schema(items)))
    for sub in s.get("allOf") or []:
        out += _field(24, schema(sub))
    if "properties" in s:
        props = b"".join(_field(1, _string(1, k) + _field(2, schema(v))) for k, v in s["properties"].items())
        out += _field(25, props)
    return out + _extensions(31, s)


def _parameter(p: dict[str, Any]) -> bytes:
    query = _string(2, p.get("in", "query")) + _string(4, p["name"]) + _string(6, p.get("type", "string"))
    if p.get("description"):
        query += _string(3, p["description"])
    if p.get("uniqueItems"):
        query += _bool(20, True)
    non_body = _field(3, query)
    return _field(1, _field(2, non_body))


def _operation(op: dict[str, Any]) -> bytes:
    out = b""
    if op.get("description"):
        out += _string(3, op["description"])
    if op.get("operationId"):
        out += _string(5, op["operationId"])
    for media in op.get("consumes") or []:
        out += _string(7, media)
    for p in op.get("parameters") or []:
        out += _field(8, _parameter(p))
    responses = b""
    for code, response in (op.get("responses") or {}).items():
        body = _string(1, response.get("description", ""))
        if response.get("schema"):
            body += _field(2, _field(1, schema(response["schema"])))
        responses += _field(1, _string(1, code) + _field(2, _field(1, body)))
    if responses:
        out += _field(9, responses)
    return out + _extensions(13, op)


OPS = {"get": 2, "put": 3, "post": 4, "delete": 5, "patch": 8}


def document(doc: dict[str, Any]) -> bytes:
    out = _string(1, doc.get("swagger", "2.0"))
    info = doc.get("info") or {}
    out += _field(2, _string(1, info.get("title", "")) + _string(2, info.get("version", "")))
    path_items = b""
    for path, item in (doc.get("paths") or {}).items():
        body = b"".join(_field(number, _operation(item[verb])) for verb, number in OPS.items() if verb in item)
        path_items += _field(2, _string(1, path) + _field(2, body))
    out += _field(8, path_items)
    definitions = b"".join(
        _field(1, _string(1, k) + _field(2, schema(v))) for k, v in (doc.get("definitions") or {}).items()
    )
    out += _field(9, definitions)
    return out
