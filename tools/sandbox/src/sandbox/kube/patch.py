"""PATCH bodies: JSON patch (RFC 6902), JSON merge patch (RFC 7386) and strategic merge patch."""

from __future__ import annotations

import copy
from typing import Any

from sandbox.kube.errors import KubeError, bad_request
from sandbox.kube.schema import Node, Prop, child

# ----------------------------------------------------------------------------- JSON patch


def _pointer(path: str) -> list[str]:
    if path == "":
        return []
    if not path.startswith("/"):
        raise KubeError(422, f"invalid JSON pointer {path!r}")
    return [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]


def _walk(doc: Any, parts: list[str]) -> Any:
    for part in parts:
        if isinstance(doc, dict):
            if part not in doc:
                raise KubeError(422, f"the server rejected our request: path /{'/'.join(parts)} does not exist")
            doc = doc[part]
        elif isinstance(doc, list):
            try:
                doc = doc[int(part)]
            except (ValueError, IndexError) as exc:
                raise KubeError(422, f"invalid index {part!r} in JSON patch path") from exc
        else:
            raise KubeError(422, f"cannot walk into a scalar at {part!r}")
    return doc


def _add(doc: Any, parts: list[str], value: Any, replace: bool) -> Any:
    if not parts:
        return value
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    if isinstance(parent, dict):
        if replace and last not in parent:
            raise KubeError(422, f"replace operation does not apply: doc is missing key: /{'/'.join(parts)}")
        parent[last] = value
    elif isinstance(parent, list):
        if last == "-":
            parent.append(value)
        else:
            index = int(last)
            if index < 0 or index > len(parent) or (replace and index == len(parent)):
                raise KubeError(422, f"index {index} out of range in JSON patch")
            if replace:
                parent[index] = value
            else:
                parent.insert(index, value)
    else:
        raise KubeError(422, "JSON patch target is not a container")
    return doc


def _remove(doc: Any, parts: list[str]) -> Any:
    if not parts:
        raise KubeError(422, "cannot remove the whole document")
    parent = _walk(doc, parts[:-1])
    last = parts[-1]
    try:
        value = parent.pop(last) if isinstance(parent, dict) else parent.pop(int(last))
    except (KeyError, ValueError, IndexError, AttributeError) as exc:
        raise KubeError(422, f"remove operation does not apply: doc is missing path: /{'/'.join(parts)}") from exc
    return value


def json_patch(doc: dict[str, Any], ops: Any) -> dict[str, Any]:
    if not isinstance(ops, list):
        raise bad_request("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in ops:
        if not isinstance(op, dict) or "op" not in op or "path" not in op:
            raise bad_request(f"invalid JSON patch operation: {op!r}")
        kind, parts = op["op"], _pointer(op["path"])
        if kind in {"add", "replace"}:
            if "value" not in op:
                raise bad_request(f"JSON patch {kind} needs a value")
            doc = _add(doc, parts, copy.deepcopy(op["value"]), kind == "replace")
        elif kind == "remove":
            _remove(doc, parts)
        elif kind in {"move", "copy"}:
            source = _pointer(op.get("from", ""))
            value = _remove(doc, source) if kind == "move" else copy.deepcopy(_walk(doc, source))
            doc = _add(doc, parts, value, False)
        elif kind == "test":
            if _walk(doc, parts) != op.get("value"):
                raise KubeError(422, f"testing value {op['path']} failed")
        else:
            raise bad_request(f"unknown JSON patch operation {kind!r}")
    return doc


# ----------------------------------------------------------------------------- merge patch


def merge_patch(doc: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = copy.deepcopy(doc) if isinstance(doc, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


# ----------------------------------------------------------------------------- strategic merge patch

DIRECTIVE = "$patch"
RETAIN = "$retainKeys"
ORDER = "$setElementOrder/"
DELETE_PRIMITIVE = "$deleteFromPrimitiveList/"


def _strip(value: Any) -> Any:
    """A value with every patch directive removed (what gets stored)."""
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if not k.startswith("$") and v is not None}
    if isinstance(value, list):
        return [_strip(v) for v in value if not (isinstance(v, dict) and v.get(DIRECTIVE) == "delete")]
    return value


def strategic_merge(original: dict[str, Any], patch: Any, node: Node | None) -> dict[str, Any]:
    if not isinstance(patch, dict):
        raise bad_request("a strategic merge patch must be an object")
    merged = _merge_map(copy.deepcopy(original), patch, node)
    return merged if merged is not None else {}


def _merge_map(original: dict[str, Any], patch: dict[str, Any], node: Node | None) -> dict[str, Any] | None:
    directive = patch.get(DIRECTIVE)
    if directive == "replace":
        return _strip({k: v for k, v in patch.items() if k != DIRECTIVE})
    if directive == "delete":
        return None
    if directive is not None:
        raise bad_request(f"Unknown patch type: {directive}")
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if not _directive(original, key, value, orders):
            _merge_field(original, key, value, node.prop(key) if node else None)
    for field, order in orders.items():
        prop = node.prop(field) if node else None
        if isinstance(original.get(field), list):
            original[field] = _order(original[field], order, prop.merge_key if prop else "")
    if RETAIN in patch:
        keep = set(patch[RETAIN] or [])
        for key in list(original):
            if key not in keep:
                del original[key]
    return original


def _directive(original: dict[str, Any], key: str, value: Any, orders: dict[str, list[Any]]) -> bool:
    """Handle a ``$``-directive key of a patch map; False for ordinary fields."""
    if key in (DIRECTIVE, RETAIN):
        return True
    if key.startswith(ORDER):
        orders[key[len(ORDER) :]] = value or []
        return True
    if key.startswith(DELETE_PRIMITIVE):
        field = key[len(DELETE_PRIMITIVE) :]
        if isinstance(original.get(field), list):
            original[field] = [v for v in original[field] if v not in (value or [])]
        return True
    return False


def _merge_field(target: dict[str, Any], key: str, value: Any, prop: Prop | None) -> None:
    if value is None:
        target.pop(key, None)
        return
    if isinstance(value, dict):
        current = target.get(key)
        merged = _merge_map(current if isinstance(current, dict) else {}, value, child(prop))
        if merged is None:
            target.pop(key, None)
        else:
            target[key] = merged
        return
    if isinstance(value, list) and prop is not None and prop.kind == "list" and "merge" in prop.strategies:
        current = target.get(key) if isinstance(target.get(key), list) else []
        target[key] = _merge_list(current, value, prop)
        return
    target[key] = _strip(value)


def _merge_list(current: list[Any], patch: list[Any], prop: Prop) -> list[Any]:
    if any(isinstance(v, dict) and v.get(DIRECTIVE) == "replace" for v in patch):
        return _strip([v for v in patch if not (isinstance(v, dict) and v.get(DIRECTIVE) == "replace")])
    key = prop.merge_key
    if not key:  # a set of primitives: union, keeping the original order
        return current + [v for v in patch if v not in current]
    result = list(current)
    for item in patch:
        if not isinstance(item, dict) or key not in item:
            raise bad_request(f"map: {item!r} does not contain declared merge key: {key}")
        index = next((i for i, v in enumerate(result) if isinstance(v, dict) and v.get(key) == item[key]), None)
        if item.get(DIRECTIVE) == "delete":
            if index is not None:
                result.pop(index)
            continue
        if index is None:
            result.append(_strip(item))
        else:
            merged = _merge_map(result[index], item, prop.elem)
            result[index] = merged if merged is not None else result[index]
    return result


def _order(items: list[Any], order: list[Any], key: str) -> list[Any]:
    def ident(v: Any) -> Any:
        return v.get(key) if key and isinstance(v, dict) else v

    wanted = [ident(o) for o in order]
    positions = {repr(v): i for i, v in enumerate(wanted)}
    listed = sorted((v for v in items if repr(ident(v)) in positions), key=lambda v: positions[repr(ident(v))])
    others = [v for v in items if repr(ident(v)) not in positions]
    return listed + others
