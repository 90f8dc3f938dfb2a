"""Field sets (managedFields ``fieldsV1``) of objects, as sets of paths.

A path is a tuple of path elements as ``fieldsV1`` spells them: ``f:<field>``,
``k:<json of the list-map keys>``, ``v:<json of a set value>``, and ``.`` for "the element
itself" of an associative list.
"""

from __future__ import annotations

import json
from typing import Any

from sandbox.kube.schema import Node, Prop, child

Path = tuple[str, ...]

# Server-owned metadata: never part of anybody's field set.
SERVER_META = {
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
}
KEY_DEFAULTS = {"protocol": "TCP"}


def item_key(item: dict[str, Any], keys: tuple[str, ...]) -> str:
    values = {k: item.get(k, KEY_DEFAULTS.get(k)) for k in sorted(keys)}
    return "k:" + json.dumps({k: v for k, v in values.items() if v is not None}, separators=(",", ":"))


def paths(value: Any, node: Node | None, top: bool = True, skip_status: bool = False) -> set[Path]:
    """Every leaf path of an object (``top``: the whole object, whose server fields are skipped)."""
    found: set[Path] = set()
    if not isinstance(value, dict):
        return found
    for key, sub in value.items():
        if top and key in {"apiVersion", "kind"}:
            continue
        if top and key == "status" and skip_status:
            continue
        if top and key == "metadata" and isinstance(sub, dict):
            sub = {k: v for k, v in sub.items() if k not in SERVER_META}  # noqa: PLW2901
            if not sub:
                continue
        prop = node.prop(key) if node else None
        here = f"f:{key}"
        found |= {(here, *rest) for rest in _value_paths(sub, prop)}
    return found


def _value_paths(value: Any, prop: Prop | None) -> set[Path]:
    atomic = prop is not None and prop.kind == "object" and prop.elem is not None and prop.elem.atomic
    if isinstance(value, dict) and value and not atomic and (prop is None or prop.kind in {"object", "map", "any"}):
        return paths(value, child(prop), top=False) or {()}
    if isinstance(value, list) and prop is not None and prop.kind == "list" and prop.list_type != "atomic":
        found: set[Path] = set()
        for item in value:
            if prop.list_type == "map" and isinstance(item, dict):
                ident = item_key(item, prop.map_keys)
                found.add((ident, "."))
                found |= {(ident, *rest) for rest in paths(item, prop.elem, top=False)}
            else:
                found.add(("v:" + json.dumps(item, separators=(",", ":")),))
        return found or {()}
    return {()}


def to_fields_v1(found: set[Path]) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for path in sorted(found):
        cursor = tree
        for element in path:
            cursor = cursor.setdefault(element, {})
    return tree


def from_fields_v1(tree: dict[str, Any], prefix: Path = ()) -> set[Path]:
    found: set[Path] = set()
    for element, sub in (tree or {}).items():
        here = (*prefix, element)
        if sub:
            found |= from_fields_v1(sub, here)
        else:
            found.add(here)
    return found


def _find_item(items: list[Any], element: str, prop: Prop | None) -> int | None:
    if element.startswith("k:") and prop is not None:
        for index, item in enumerate(items):
            if isinstance(item, dict) and item_key(item, prop.map_keys) == element:
                return index
    if element.startswith("v:"):
        wanted = json.loads(element[2:])
        for index, item in enumerate(items):
            if item == wanted:
                return index
    return None


_MISSING = object()


def _walk(obj: Any, path: Path, node: Node | None) -> list[tuple[Any, Any, Path]] | None:
    """The steps down ``path`` (container, key or index, path so far); None when it is absent."""
    trail: list[tuple[Any, Any, Path]] = []
    current: Any = obj
    prop: Prop | None = None
    for depth, element in enumerate(path):
        if element == ".":
            break
        if element.startswith("f:") and isinstance(current, dict):
            key = element[2:]
            if key not in current:
                return None
            trail.append((current, key, path[: depth + 1]))
            prop = node.prop(key) if node else None
            node = child(prop)
            current = current[key]
        elif isinstance(current, list):
            index = _find_item(current, element, prop)
            if index is None:
                return None
            trail.append((current, index, path[: depth + 1]))
            current = current[index]
            node = prop.elem if prop else None
            prop = None
        else:
            return None
    return trail


def value_at(obj: Any, path: Path, node: Node | None) -> Any:
    """The value a path points at (``_MISSING`` when absent)."""
    trail = _walk(obj, path, node)
    if trail is None:
        return _MISSING
    if not trail:
        return obj
    container, key, _prefix = trail[-1]
    return container[key]


def remove(obj: dict[str, Any], path: Path, node: Node | None, keep: set[Path] | None = None) -> None:
    """Delete what ``path`` points at; empty parents it leaves go too, unless owned (``keep``)."""
    trail = _walk(obj, path, node)
    if not trail:
        return
    container, key, _owned = trail.pop()
    del container[key]
    owned = keep or set()
    while trail and not container:
        container, key, parent = trail.pop()
        if parent in owned or (isinstance(container, list) and (*parent, ".") in owned):
            return
        del container[key]


def differs(a: Any, b: Any) -> bool:
    return a is _MISSING or b is _MISSING or a != b


def present(value: Any) -> bool:
    return value is not _MISSING


def human(path: Path) -> str:
    """``.spec.replicas`` / ``.spec.containers[name="x"].image`` as in conflict messages."""
    out = ""
    for element in path:
        if element.startswith("f:"):
            out += "." + element[2:]
        elif element.startswith("k:"):
            keys = json.loads(element[2:])
            out += "[" + ",".join(f"{k}={json.dumps(v)}" for k, v in keys.items()) + "]"
        elif element.startswith("v:"):
            out += f"[{element[2:]}]"
    return out
