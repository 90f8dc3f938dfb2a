# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Decide whether a live Kubernetes object already matches what an apply would send.

Used by the ``k8s_apply_changed`` module to skip the apply (and its three reads) of objects
that are already as declared. The comparison errs on the side of "different": a false
"different" only costs a normal apply, a false "same" would leave drift uncorrected.
"""

from __future__ import annotations

import base64
import json
from typing import Any, Dict, List, Optional, Tuple

LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
# metadata the server sets: never in a field manager's set (Kubernetes "Server-Side Apply", Field management)
SERVER_METADATA = frozenset(
    ("name", "namespace", "uid", "resourceVersion", "generation", "creationTimestamp", "managedFields", "selfLink")
)

ObjectKey = Tuple[str, str, str, str]


def object_key(obj: Dict[str, Any]) -> ObjectKey:
    """apiVersion, kind, namespace ('' when cluster-scoped or unset) and name of an object."""
    meta = obj.get("metadata") or {}
    return (
        str(obj.get("apiVersion", "")),
        str(obj.get("kind", "")),
        str(meta.get("namespace") or ""),
        str(meta.get("name") or ""),
    )


def _dict_contains(desired: Dict[str, Any], live: Any) -> bool:
    if not isinstance(live, dict):
        return False
    for key, value in desired.items():
        if value is None:
            if live.get(key) is not None:
                return False
        elif key not in live or not contains(value, live[key]):
            return False
    return True


def _list_contains(desired: List[Any], live: Any) -> bool:
    if not isinstance(live, list) or len(desired) != len(live):
        return False
    return all(contains(d, x) for d, x in zip(desired, live, strict=True))


def _scalar_equal(desired: Any, live: Any) -> bool:
    if isinstance(desired, bool) or isinstance(live, bool):
        return isinstance(desired, bool) and isinstance(live, bool) and desired == live
    if isinstance(desired, (int, float)) and isinstance(live, (int, float)):
        return desired == live
    return type(desired) is type(live) and desired == live


def contains(desired: Any, live: Any) -> bool:
    """True when every field ``desired`` sets has the same value in ``live``.

    Dicts compare as subsets (the server adds defaults and status); lists element by element
    with equal length; scalars by type and value (``1`` is not ``True``, ``"1"`` is not ``1``).
    A ``null`` in ``desired`` asks for the field to be absent.
    """
    if isinstance(desired, dict):
        return _dict_contains(desired, live)
    if isinstance(desired, list):
        return _list_contains(desired, live)
    return _scalar_equal(desired, live)


def _as_stored(desired: Dict[str, Any]) -> Dict[str, Any]:
    """A Secret's stringData is stored base64-encoded under data; compare it there."""
    if desired.get("kind") != "Secret" or not isinstance(desired.get("stringData"), dict):
        return desired
    stored = dict(desired)
    data = dict(stored.get("data") or {})
    for key, value in stored.pop("stringData").items():
        if not isinstance(value, str):
            raise ValueError("stringData values must be strings")
        data[key] = base64.b64encode(value.encode("utf-8")).decode("ascii")
    stored["data"] = data
    return stored


def _last_applied(live: Dict[str, Any]) -> Optional[Any]:
    annotations = (live.get("metadata") or {}).get("annotations") or {}
    raw = annotations.get(LAST_APPLIED)
    if not isinstance(raw, str):
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def difference(desired: Dict[str, Any], live: Optional[Dict[str, Any]]) -> Optional[str]:
    """Why ``desired`` must be applied over ``live``, or None when the apply would change nothing.

    An apply is needed when the object is missing, when a field the definition sets differs
    from the live value (drift, or a new definition), or when the definition is not the one
    last applied (the client-side apply annotation): a field dropped from the definition is
    removed only by an apply. Anything that cannot be compared counts as a difference.
    """
    if live is None:
        return "missing"
    last = _last_applied(live)
    if last is None:
        return "not applied by a client-side apply before"
    try:
        same_definition = last == json.loads(json.dumps(desired))
        stored = _as_stored(desired)
    except (TypeError, ValueError):
        return "definition cannot be compared"
    if not same_definition:
        return "definition differs from the one last applied"
    if not contains(stored, live):
        return "live fields differ"
    return None


def project(desired: Any, live: Any) -> Any:
    """The part of ``live`` that ``desired`` sets (for a readable diff)."""
    if isinstance(desired, dict) and isinstance(live, dict):
        return {k: project(v, live[k]) for k, v in desired.items() if k in live}
    if isinstance(desired, list) and isinstance(live, list):
        return [project(d, x) for d, x in zip(desired, live, strict=False)] + live[len(desired) :]
    return live


def plan(
    desired: List[Dict[str, Any]], live: Dict[ObjectKey, Dict[str, Any]]
) -> List[Tuple[Dict[str, Any], Optional[Dict[str, Any]], str]]:
    """Each desired object that needs an apply, with its live object (or None) and the reason."""
    todo = []
    for obj in desired:
        current = live.get(object_key(obj))
        reason = difference(obj, current)
        if reason is not None:
            todo.append((obj, current, reason))
    return todo


FieldPath = Tuple[str, ...]


def owned_paths(fields_v1: Any, prefix: FieldPath = ()) -> List[FieldPath]:
    """The field paths a ``fieldsV1`` set names, down to the first list element.

    ``fieldsV1`` spells a field ``f:<name>``, a list element ``k:<keys>``, ``v:<value>`` or
    ``i:<index>``, and ``.`` the element itself (Kubernetes API reference, ManagedFieldsEntry;
    "Server-Side Apply", Field management). A path stops at its list: which elements of a list
    are declared is judged by comparing the list itself.
    """
    found: List[FieldPath] = []
    if not isinstance(fields_v1, dict):
        return found
    for key, sub in fields_v1.items():
        if not key.startswith("f:"):
            continue
        path = (*prefix, key[2:])
        deeper = owned_paths(sub, path) if isinstance(sub, dict) and any(k.startswith("f:") for k in sub) else []
        found.extend(deeper or [path])
    return found


def _declares(desired: Any, path: FieldPath) -> bool:
    node = desired
    for name in path:
        if not isinstance(node, dict) or name not in node or node[name] is None:
            return False
        node = node[name]
    return True


def _applied_fields(live: Dict[str, Any], manager: str) -> Optional[Any]:
    for entry in (live.get("metadata") or {}).get("managedFields") or []:
        if entry.get("manager") == manager and entry.get("operation") == "Apply" and not entry.get("subresource"):
            return entry.get("fieldsV1") or {}
    return None


def server_side_difference(desired: Dict[str, Any], live: Optional[Dict[str, Any]], manager: str) -> Optional[str]:
    """Why a server-side apply of ``desired`` as ``manager`` would change ``live``, or None.

    A server-side apply changes the object when it is missing, when the manager never applied it
    (the apply takes the fields over), when the manager owns a field the definition no longer sets
    (the server removes a field "when the manager that applied it applies without it"), or when a
    field the definition sets has another live value. Anything that cannot be compared counts as
    a difference.
    """
    if live is None:
        return "missing"
    fields = _applied_fields(live, manager)
    if fields is None:
        return "not applied by %s before" % manager
    try:
        stored = _as_stored(desired)
    except (TypeError, ValueError):
        return "definition cannot be compared"
    for path in owned_paths(fields):
        if path[0] == "metadata" and len(path) > 1 and path[1] in SERVER_METADATA:
            continue
        if not _declares(stored, path):
            return "%s applied %s, which the definition no longer sets" % (manager, ".".join(path))
    if not contains(stored, live):
        return "live fields differ"
    return None


def server_side_plan(
    desired: List[Dict[str, Any]], live: Dict[ObjectKey, Dict[str, Any]], manager: str
) -> List[Tuple[Dict[str, Any], Optional[Dict[str, Any]], str]]:
    """Each desired object a server-side apply as ``manager`` would change, with its live object and why."""
    todo = []
    for obj in desired:
        current = live.get(object_key(obj))
        reason = server_side_difference(obj, current, manager)
        if reason is not None:
            todo.append((obj, current, reason))
    return todo
