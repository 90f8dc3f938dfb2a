"""Server-side apply and the managedFields bookkeeping of every write."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from sandbox.kube import fields
from sandbox.kube.errors import KubeError
from sandbox.kube.fields import Path
from sandbox.kube.schema import Node, Prop, child


def _merge(live: dict[str, Any], applied: dict[str, Any], node: Node | None) -> dict[str, Any]:
    result = dict(live)
    for key, value in applied.items():
        result[key] = _merge_value(live.get(key), value, node.prop(key) if node else None)
    return result


def _merge_value(live: Any, value: Any, prop: Prop | None) -> Any:
    atomic = prop is not None and prop.kind == "object" and prop.elem is not None and prop.elem.atomic
    if isinstance(value, dict) and isinstance(live, dict) and not atomic and (prop is None or prop.kind != "scalar"):
        return _merge(live, value, child(prop))
    if isinstance(value, list) and isinstance(live, list) and prop is not None and prop.kind == "list":
        if prop.list_type == "map":
            wanted = {fields.item_key(i, prop.map_keys): i for i in value if isinstance(i, dict)}
            result = []
            for item in live:
                ident = fields.item_key(item, prop.map_keys) if isinstance(item, dict) else None
                if ident in wanted:
                    result.append(_merge(item, wanted.pop(ident), prop.elem))
                else:
                    result.append(item)
            result += [
                copy.deepcopy(i) for i in value if isinstance(i, dict) and fields.item_key(i, prop.map_keys) in wanted
            ]
            return result
        if prop.list_type == "set":
            return live + [v for v in value if v not in live]
    return copy.deepcopy(value)


def entries(obj: dict[str, Any] | None) -> list[dict[str, Any]]:
    return list(((obj or {}).get("metadata") or {}).get("managedFields") or [])


def _entry_paths(entry: dict[str, Any]) -> set[Path]:
    return fields.from_fields_v1(entry.get("fieldsV1") or {})


def _same(entry: dict[str, Any], manager: str, operation: str, subresource: str) -> bool:
    return (
        entry.get("manager") == manager
        and entry.get("operation") == operation
        and (entry.get("subresource") or "") == subresource
    )


def _build(
    old: list[dict[str, Any]],
    sets: list[tuple[str, str, str, str, set[Path]]],
    now: str,
) -> list[dict[str, Any]]:
    """managedFields from (manager, operation, subresource, apiVersion, paths); keeps times of unchanged."""
    result = []
    for manager, operation, subresource, api_version, found in sets:
        if not found:
            continue
        previous = next((e for e in old if _same(e, manager, operation, subresource)), None)
        unchanged = (
            previous is not None and _entry_paths(previous) == found and previous.get("apiVersion") == api_version
        )
        entry = {
            "manager": manager,
            "operation": operation,
            "apiVersion": api_version,
            "time": previous["time"] if unchanged and previous else now,
            "fieldsType": "FieldsV1",
            "fieldsV1": fields.to_fields_v1(found),
        }
        if subresource:
            entry["subresource"] = subresource
        result.append(entry)
    return result


def _sets(old: list[dict[str, Any]]) -> list[tuple[str, str, str, str, set[Path]]]:
    return [
        (
            e.get("manager", ""),
            e.get("operation", "Update"),
            e.get("subresource") or "",
            e.get("apiVersion", ""),
            _entry_paths(e),
        )
        for e in old
    ]


@dataclass(frozen=True)
class Writer:
    """Who writes (field manager), at which version and type, when, and to which subresource."""

    manager: str
    api_version: str
    node: Node
    now: str
    subresource: str = ""
    skip_status: bool = False


def _diff(old: dict[str, Any] | None, new: dict[str, Any], w: Writer) -> tuple[set[Path], set[Path]]:
    """(changed or added, removed) leaf paths between two versions of an object."""
    if w.subresource == "status":
        old_paths = fields.paths({"status": (old or {}).get("status")}, w.node) if old else set()
        new_paths = fields.paths({"status": new.get("status")}, w.node)
    else:
        old_paths = fields.paths(old, w.node, skip_status=w.skip_status) if old else set()
        new_paths = fields.paths(new, w.node, skip_status=w.skip_status)
    changed = {
        p
        for p in new_paths
        if p not in old_paths
        or (p[-1] != "." and fields.differs(fields.value_at(old, p, w.node), fields.value_at(new, p, w.node)))
    }
    return changed, old_paths - new_paths


def record_update(
    old: dict[str, Any] | None, new: dict[str, Any], w: Writer, previous: list[dict[str, Any]] | None = None
) -> None:
    """Give the writer the fields a create/update/patch changed; other managers lose them.

    ``previous``: the managedFields to start from when the request itself rewrote them.
    """
    previous = entries(old) if previous is None else previous
    changed, removed = _diff(old, new, w)
    sets = []
    mine_found = False
    for manager, operation, sub, version, found in _sets(previous):
        if manager == w.manager and operation == "Update" and sub == w.subresource:
            mine_found = True
            sets.append((manager, operation, sub, w.api_version, (found | changed) - removed))
        else:
            sets.append((manager, operation, sub, version, found - changed - removed))
    if not mine_found:
        sets.append((w.manager, "Update", w.subresource, w.api_version, changed))
    new.setdefault("metadata", {})["managedFields"] = _build(previous, sets, w.now)
    if not new["metadata"]["managedFields"]:
        del new["metadata"]["managedFields"]


FieldSet = tuple[str, str, str, str, set[Path]]


def _conflicts(
    live: dict[str, Any], applied: dict[str, Any], applied_paths: set[Path], others: list[FieldSet], w: Writer
) -> list[tuple[FieldSet, Path]]:
    found = []
    for other in others:
        if other[0] == w.manager:
            continue
        for path in sorted(applied_paths & other[4]):
            if path[-1] == ".":
                continue
            if fields.differs(fields.value_at(live, path, w.node), fields.value_at(applied, path, w.node)):
                found.append((other, path))
    return found


def _prune(result: dict[str, Any], dropped: set[Path], kept: set[Path], node: Node) -> None:
    """Remove fields the applier stopped managing, unless someone still owns them, below or above.

    A field under one still owned whole (an atomic struct or list) stays; emptied parents go,
    up to the first one somebody owns.
    """
    for path in sorted(dropped, key=len, reverse=True):
        target = path[:-1] if path[-1] == "." else path
        if any(p[: len(target)] == target or target[: len(p)] == p for p in kept):
            continue
        fields.remove(result, path, node, keep=kept)


def server_side_apply(live: dict[str, Any] | None, applied: dict[str, Any], w: Writer, force: bool) -> dict[str, Any]:
    """The object after applying ``applied`` for the writer (409 on conflicts unless forced)."""
    previous = entries(live)
    applied_paths = fields.paths(applied, w.node, skip_status=w.skip_status)
    sets = _sets(previous)
    mine = next((s for s in sets if s[0] == w.manager and s[1] == "Apply" and s[2] == w.subresource), None)
    old_paths = mine[4] if mine else set()
    others = [s for s in sets if s is not mine]
    if live is not None:
        conflicts = _conflicts(live, applied, applied_paths, others, w)
        if conflicts and not force:
            raise _conflict_error(conflicts)
        for other, path in conflicts:
            other[4].discard(path)
        for other in others:
            if other[0] == w.manager:
                other[4].difference_update(applied_paths)
    base = copy.deepcopy(live) if live is not None else {}
    result = _merge(base, {k: v for k, v in applied.items() if not (w.skip_status and k == "status")}, w.node)
    kept = set().union(*(o[4] for o in others)) if others else set()
    _prune(result, old_paths - applied_paths, kept | applied_paths, w.node)
    new_sets = [*others, (w.manager, "Apply", w.subresource, w.api_version, applied_paths)]
    new_sets.sort(key=lambda s: next((i for i, e in enumerate(previous) if _same(e, s[0], s[1], s[2])), len(previous)))
    result.setdefault("metadata", {})["managedFields"] = _build(previous, new_sets, w.now)
    return result


class ApplyConflict(KubeError):
    """A 409 from server-side apply; ``paths`` are the conflicting fields."""

    def __init__(self, message: str, details: dict[str, Any], paths: set[Path]) -> None:
        super().__init__(409, message, "Conflict", details)
        self.paths = paths


def _conflict_error(conflicts: list[tuple[tuple[str, str, str, str, set[Path]], Path]]) -> KubeError:
    causes = []
    lines = []
    for other, path in conflicts:
        message = f'conflict with "{other[0]}"' + (" using " + other[3] if other[1] == "Update" else "")
        causes.append({"reason": "FieldManagerConflict", "message": message, "field": fields.human(path)})
        lines.append(f"- {message}: {fields.human(path)}")
    count = len(conflicts)
    text = f"Apply failed with {count} conflict{'s' if count > 1 else ''}: " + (
        causes[0]["message"] + ": " + causes[0]["field"] if count == 1 else "\n" + "\n".join(lines)
    )
    return ApplyConflict(text, {"causes": causes}, {path for _, path in conflicts})
