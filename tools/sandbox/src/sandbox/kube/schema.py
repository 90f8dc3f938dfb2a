"""The type graph of Kubernetes objects: field types, list semantics and patch strategies.

Built-in types come from the model metadata of the official ``kubernetes`` Python client (a
controller dependency of this project, always installed next to the sandbox): every model
class lists its JSON fields and their types. The patch strategies and list semantics are the
``patchStrategy`` / ``patchMergeKey`` / ``listType`` tags of the upstream Go types, written
out below. Custom resources use the openAPIV3Schema of their CRD.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

# (model, json field) -> (patch strategies, merge key, list-map keys)
_PATCH: dict[tuple[str, str], tuple[str, str, tuple[str, ...]]] = {
    ("V1ObjectMeta", "finalizers"): ("merge", "", ()),
    ("V1ObjectMeta", "ownerReferences"): ("merge", "uid", ("uid",)),
    ("V1PodSpec", "volumes"): ("merge,retainKeys", "name", ("name",)),
    ("V1PodSpec", "initContainers"): ("merge", "name", ("name",)),
    ("V1PodSpec", "containers"): ("merge", "name", ("name",)),
    ("V1PodSpec", "ephemeralContainers"): ("merge", "name", ("name",)),
    ("V1PodSpec", "imagePullSecrets"): ("merge", "name", ("name",)),
    ("V1PodSpec", "hostAliases"): ("merge", "ip", ("ip",)),
    ("V1PodSpec", "topologySpreadConstraints"): ("merge", "topologyKey", ("topologyKey", "whenUnsatisfiable")),
    ("V1PodSpec", "schedulingGates"): ("merge", "name", ("name",)),
    ("V1PodSpec", "resourceClaims"): ("merge,retainKeys", "name", ("name",)),
    ("V1Container", "ports"): ("merge", "containerPort", ("containerPort", "protocol")),
    ("V1Container", "env"): ("merge", "name", ("name",)),
    ("V1Container", "volumeMounts"): ("merge", "mountPath", ("mountPath",)),
    ("V1Container", "volumeDevices"): ("merge", "devicePath", ("devicePath",)),
    ("V1EphemeralContainer", "ports"): ("merge", "containerPort", ("containerPort", "protocol")),
    ("V1EphemeralContainer", "env"): ("merge", "name", ("name",)),
    ("V1EphemeralContainer", "volumeMounts"): ("merge", "mountPath", ("mountPath",)),
    ("V1EphemeralContainer", "volumeDevices"): ("merge", "devicePath", ("devicePath",)),
    ("V1ServiceSpec", "ports"): ("merge", "port", ("port", "protocol")),
    ("V1ServiceAccount", "secrets"): ("merge", "name", ("name",)),
    ("V1NodeSpec", "podCIDRs"): ("merge", "", ()),
    ("V1NodeStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1NodeStatus", "addresses"): ("merge", "type", ("type",)),
    ("V1PodStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1PodStatus", "podIPs"): ("merge", "ip", ("ip",)),
    ("V1PodStatus", "hostIPs"): ("merge", "ip", ("ip",)),
    ("V1DeploymentSpec", "strategy"): ("retainKeys", "", ()),
    ("V1DeploymentStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1StatefulSetStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1DaemonSetStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1ReplicaSetStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1JobStatus", "conditions"): ("merge", "type", ()),
    ("V1NamespaceStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1PersistentVolumeClaimStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1ServiceStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1PodDisruptionBudgetStatus", "conditions"): ("merge", "type", ("type",)),
    ("V2HorizontalPodAutoscalerStatus", "conditions"): ("merge", "type", ("type",)),
    ("V1CustomResourceDefinitionStatus", "conditions"): ("", "", ("type",)),
    ("V1MutatingWebhookConfiguration", "webhooks"): ("merge", "name", ("name",)),
    ("V1ValidatingWebhookConfiguration", "webhooks"): ("merge", "name", ("name",)),
}

# Structs tagged ``+structType=atomic`` upstream: server-side apply owns and replaces them whole.
ATOMIC_STRUCTS = {
    "V1LabelSelector",
    "V1NodeSelector",
    "V1LocalObjectReference",
    "V1ObjectReference",
    "V1TypedLocalObjectReference",
}

_SCALARS = {"str": "string", "int": "integer", "bool": "boolean", "float": "number", "datetime": "string"}


@dataclass(frozen=True)
class Prop:
    """A field: ``kind`` is object, list, map, scalar or any; ``elem`` the item/field type."""

    kind: str
    elem: Node | None = None
    strategies: tuple[str, ...] = ()
    merge_key: str = ""
    map_keys: tuple[str, ...] = ()
    list_type: str = "atomic"  # atomic | set | map (server-side apply semantics)
    scalar: str = ""


@dataclass(frozen=True)
class Node:
    """A type: a client model name, or a JSON schema (custom resources)."""

    model: str = ""
    json: Any = None
    values: Prop | None = None  # a map: every key has this type

    def prop(self, key: str) -> Prop | None:
        if self.values is not None:
            return self.values
        if self.model:
            return _model_prop(self.model, key)
        if self.json is not None:
            return _json_prop(self.json, key)
        return None

    def fields(self) -> list[str]:
        if self.model:
            return list(model_fields(self.model))
        if isinstance(self.json, dict):
            return list((self.json.get("properties") or {}).keys())
        return []

    @property
    def atomic(self) -> bool:
        return self.model in ATOMIC_STRUCTS

    @property
    def open(self) -> bool:
        """Accepts unknown fields."""
        if self.values is not None or self.model:
            return False
        schema = self.json if isinstance(self.json, dict) else {}
        return bool(schema.get("x-kubernetes-preserve-unknown-fields")) or "properties" not in schema


@functools.cache
def _models() -> Any:
    try:
        from kubernetes.client import models  # noqa: PLC0415 - heavy, imported on first use
    except ImportError:  # pragma: no cover - the client is a pinned controller dependency
        return None
    return models


@functools.cache
def model_fields(model: str) -> dict[str, str]:
    """JSON field name -> type string for a client model ({} when unknown)."""
    models = _models()
    cls = getattr(models, model, None) if models else None
    if cls is None or not hasattr(cls, "openapi_types"):
        return {}
    return {cls.attribute_map[attr]: typ for attr, typ in cls.openapi_types.items()}


def _parse(typ: str, owner: str, key: str) -> Prop:
    list_match = re.fullmatch(r"list\[(.+)\]", typ)
    if list_match:
        strategies, merge_key, map_keys = _PATCH.get((owner, key), ("", "", ()))
        inner = _parse(list_match.group(1), owner, key)
        if map_keys:
            list_type = "map"
        elif "merge" in strategies or (inner.kind == "scalar" and (owner, key) in _PATCH):
            list_type = "set"
        else:
            list_type = "atomic"
        return Prop(
            "list",
            inner.elem if inner.kind == "object" else None,
            tuple(s for s in strategies.split(",") if s),
            merge_key,
            map_keys,
            list_type,
            inner.scalar,
        )
    dict_match = re.fullmatch(r"dict\[str, (.+)\]", typ)
    if dict_match:
        inner = _parse(dict_match.group(1), owner, key)
        return Prop("map", inner.elem if inner.kind == "object" else None, scalar=inner.scalar)
    if typ in _SCALARS:
        return Prop("scalar", scalar=_SCALARS[typ])
    if typ == "object":
        return Prop("any")
    strategies = _PATCH.get((owner, key), ("", "", ()))[0]
    return Prop("object", Node(model=typ), tuple(s for s in strategies.split(",") if s))


@functools.cache
def _model_prop(model: str, key: str) -> Prop | None:
    typ = model_fields(model).get(key)
    return _parse(typ, model, key) if typ else None


def _json_prop(schema: dict[str, Any], key: str) -> Prop | None:
    props = schema.get("properties") or {}
    if key == "metadata" and schema.get("x-kubernetes-root"):
        return Prop("object", Node(model="V1ObjectMeta"))
    sub = props.get(key)
    if sub is None:
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict):
            sub = extra
        else:
            return None
    return json_prop(sub)


def json_prop(sub: dict[str, Any]) -> Prop:
    typ = sub.get("type")
    if typ == "array":
        items = sub.get("items") or {}
        list_type = sub.get("x-kubernetes-list-type", "atomic")
        keys = tuple(sub.get("x-kubernetes-list-map-keys") or ())
        elem = Node(json=items) if items.get("type") == "object" or "properties" in items else None
        return Prop("list", elem, (), keys[0] if keys else "", keys, list_type, items.get("type", ""))
    if typ == "object" or "properties" in sub:
        if "properties" in sub:
            return Prop("object", Node(json=sub))
        extra = sub.get("additionalProperties")
        if isinstance(extra, dict):
            inner = json_prop(extra)
            return Prop("map", inner.elem if inner.kind == "object" else None, scalar=inner.scalar)
        return Prop("any")
    if typ in {"string", "integer", "number", "boolean"}:
        return Prop("scalar", scalar=typ)
    return Prop("any")


def root(rtype: Any) -> Node:
    """The type of a whole object of ``rtype`` (a ResourceType)."""
    if rtype.crd_schema is not None:
        return Node(json={**rtype.crd_schema, "x-kubernetes-root": True})
    return Node(model=rtype.model)


def unknown_fields(node: Node | None, value: Any, path: str = "") -> list[str]:
    """Paths of fields the schema does not know (strict field validation)."""
    if node is None or not isinstance(value, dict) or node.open:
        return []
    found = []
    for key, sub in value.items():
        if node.json is not None and key in {"apiVersion", "kind", "metadata"} and path == "":
            prop = node.prop(key) if key == "metadata" else Prop("scalar")
        else:
            prop = node.prop(key)
        here = f"{path}.{key}" if path else key
        if prop is None:
            found.append(here)
        elif prop.kind == "object":
            found += unknown_fields(prop.elem, sub, here)
        elif prop.kind == "list" and prop.elem is not None and isinstance(sub, list):
            for index, item in enumerate(sub):
                found += unknown_fields(prop.elem, item, f"{here}[{index}]")
        elif prop.kind == "map" and prop.elem is not None and isinstance(sub, dict):
            for name, item in sub.items():
                found += unknown_fields(prop.elem, item, f"{here}.{name}")
    return found


def child(prop: Prop | None) -> Node | None:
    """The node to descend into for a field's value (objects and maps of values)."""
    if prop is None:
        return None
    if prop.kind == "object":
        return prop.elem
    if prop.kind == "map":
        return Node(values=Prop("object", prop.elem) if prop.elem else Prop("scalar", scalar=prop.scalar))
    return None


def prune(node: Node | None, value: Any, top: bool = True) -> Any:
    """``value`` without the fields its schema does not know, as the API server drops them."""
    if node is None or not isinstance(value, dict) or node.open:
        return value
    out = {}
    for key, sub in value.items():
        if top and node.json is not None and key in {"apiVersion", "kind"}:
            out[key] = sub
            continue
        prop = node.prop(key)
        if prop is None:
            continue
        if prop.kind == "object":
            out[key] = prune(prop.elem, sub, top=False)
        elif prop.kind == "list" and prop.elem is not None and isinstance(sub, list):
            out[key] = [prune(prop.elem, item, top=False) for item in sub]
        elif prop.kind == "map" and prop.elem is not None and isinstance(sub, dict):
            out[key] = {name: prune(prop.elem, item, top=False) for name, item in sub.items()}
        else:
            out[key] = sub
    return out
