"""Decoding of Kubernetes protobuf request bodies (``application/vnd.kubernetes.protobuf``).

client-go's typed clientsets (helm's release storage, ``--create-namespace``) send built-in
objects as protobuf: the ``k8s\\0`` magic, then a ``runtime.Unknown`` envelope whose ``raw``
field holds the object. Only the kinds those clients write are described here; field numbers
follow k8s.io/api's generated.proto files. Responses stay JSON (the clients accept it).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
from typing import Any

from sandbox.kube.errors import KubeError

MAGIC = b"k8s\x00"

# message name -> field number -> (json name, type); type is a scalar kind, a message name,
# "map:<value kind>" or "[]<kind>" (repeated).
MESSAGES: dict[str, dict[int, tuple[str, str]]] = {
    "Unknown": {
        1: ("typeMeta", "TypeMeta"),
        2: ("raw", "bytes"),
        3: ("contentEncoding", "string"),
        4: ("contentType", "string"),
    },
    "TypeMeta": {1: ("apiVersion", "string"), 2: ("kind", "string")},
    "ObjectMeta": {
        1: ("name", "string"),
        2: ("generateName", "string"),
        3: ("namespace", "string"),
        4: ("selfLink", "string"),
        5: ("uid", "string"),
        6: ("resourceVersion", "string"),
        7: ("generation", "int"),
        8: ("creationTimestamp", "Time"),
        9: ("deletionTimestamp", "Time"),
        10: ("deletionGracePeriodSeconds", "int"),
        11: ("labels", "map:string"),
        12: ("annotations", "map:string"),
        13: ("ownerReferences", "[]OwnerReference"),
        14: ("finalizers", "[]string"),
        17: ("managedFields", "[]ManagedFieldsEntry"),
    },
    "OwnerReference": {
        1: ("kind", "string"),
        3: ("name", "string"),
        4: ("uid", "string"),
        5: ("apiVersion", "string"),
        6: ("controller", "bool"),
        7: ("blockOwnerDeletion", "bool"),
    },
    "ManagedFieldsEntry": {
        1: ("manager", "string"),
        2: ("operation", "string"),
        3: ("apiVersion", "string"),
        4: ("time", "Time"),
        6: ("fieldsType", "string"),
        7: ("fieldsV1", "FieldsV1"),
        8: ("subresource", "string"),
    },
    "FieldsV1": {1: ("Raw", "bytes")},
    "Time": {1: ("seconds", "int"), 2: ("nanos", "int")},
    "Secret": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map:bytes"),
        3: ("type", "string"),
        4: ("stringData", "map:string"),
        5: ("immutable", "bool"),
    },
    "ConfigMap": {
        1: ("metadata", "ObjectMeta"),
        2: ("data", "map:string"),
        3: ("binaryData", "map:bytes"),
        4: ("immutable", "bool"),
    },
    "Namespace": {1: ("metadata", "ObjectMeta"), 2: ("spec", "NamespaceSpec"), 3: ("status", "NamespaceStatus")},
    "NamespaceSpec": {1: ("finalizers", "[]string")},
    "NamespaceStatus": {1: ("phase", "string")},
    "DeleteOptions": {
        1: ("gracePeriodSeconds", "int"),
        2: ("preconditions", "Preconditions"),
        3: ("orphanDependents", "bool"),
        4: ("propagationPolicy", "string"),
        5: ("dryRun", "[]string"),
    },
    "Preconditions": {1: ("uid", "string"), 2: ("resourceVersion", "string")},
}


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7


def fields(data: bytes) -> list[tuple[int, int, Any]]:
    """(field number, wire type, value) triples of one message."""
    out = []
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
        elif wire == 2:
            length, pos = _varint(data, pos)
            value = data[pos : pos + length]
            pos += length
        elif wire == 1:
            value = int.from_bytes(data[pos : pos + 8], "little")
            pos += 8
        elif wire == 5:
            value = int.from_bytes(data[pos : pos + 4], "little")
            pos += 4
        else:
            raise ValueError(f"unsupported wire type {wire}")
        out.append((number, wire, value))
    return out


def _scalar(kind: str, value: Any) -> Any:
    if kind == "string":
        return value.decode()
    if kind == "bytes":
        return base64.b64encode(value).decode()
    if kind == "bool":
        return bool(value)
    if kind == "int":
        return value - (1 << 64) if value >= 1 << 63 else value
    return decode(kind, value)


def decode(message: str, data: bytes) -> Any:
    spec = MESSAGES[message]
    out: dict[str, Any] = {}
    for number, _, value in fields(data):
        if number not in spec:
            continue
        name, kind = spec[number]
        if kind.startswith("map:"):
            entry = dict((n, v) for n, _, v in fields(value))
            key = entry.get(1, b"").decode()
            out.setdefault(name, {})[key] = _scalar(kind[4:], entry.get(2, b""))
        elif kind.startswith("[]"):
            out.setdefault(name, []).append(_scalar(kind[2:], value))
        else:
            out[name] = _scalar(kind, value)
    if message == "Time":
        stamp = dt.datetime.fromtimestamp(out.get("seconds", 0), dt.UTC)
        return stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    if message == "FieldsV1":
        return json.loads(base64.b64decode(out.get("Raw", "")) or b"{}")
    return out


def decode_object(body: bytes) -> dict[str, Any]:
    """A JSON-shaped object from a Kubernetes protobuf body (415 for kinds not described)."""
    if not body.startswith(MAGIC):
        raise KubeError(400, "protobuf body without the k8s magic prefix")
    envelope = decode("Unknown", body[len(MAGIC) :])
    type_meta = envelope.get("typeMeta") or {}
    kind = type_meta.get("kind", "")
    if kind not in MESSAGES or kind in {"Unknown", "TypeMeta", "Time"}:
        raise KubeError(415, f"the sandbox decodes protobuf bodies of {sorted(_KINDS)} only, not {kind!r}; send JSON")
    obj = decode(kind, base64.b64decode(envelope.get("raw", "")))
    if type_meta.get("apiVersion"):
        obj = {"apiVersion": type_meta["apiVersion"], "kind": kind, **obj}
    return obj


_KINDS = {"Secret", "ConfigMap", "Namespace", "DeleteOptions"}
