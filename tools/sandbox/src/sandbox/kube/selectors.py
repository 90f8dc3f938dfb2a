"""Label and field selectors, in their string form and as LabelSelector objects."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from sandbox.kube.errors import bad_request

Matcher = Callable[[dict[str, str]], bool]

_SET = re.compile(r"^\s*(!?)\s*([A-Za-z0-9._/-]+)\s*(?:(in|notin)\s*\(([^)]*)\))?\s*$")
_EQ = re.compile(r"^\s*([A-Za-z0-9._/-]+)\s*(==|=|!=)\s*([A-Za-z0-9._-]*)\s*$")


def _split(text: str) -> list[str]:
    """Split on commas outside parentheses."""
    parts, depth, current = [], 0, ""
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append(current)
            current = ""
        else:
            current += char
    if current.strip():
        parts.append(current)
    return parts


def _requirement(text: str) -> Matcher:
    eq = _EQ.match(text)
    if eq:
        key, op, value = eq.groups()
        if op == "!=":
            return lambda labels: labels.get(key) != value
        return lambda labels: labels.get(key) == value
    match = _SET.match(text)
    if not match:
        raise bad_request(f"unable to parse requirement: {text.strip()!r}")
    negate, key, op, values = match.groups()
    if op:
        allowed = {v.strip() for v in values.split(",") if v.strip()}
        if op == "in":
            return lambda labels: labels.get(key) in allowed
        return lambda labels: labels.get(key) not in allowed
    if negate:
        return lambda labels: key not in labels
    return lambda labels: key in labels


def parse_label_selector(text: str | None) -> Matcher:
    if not text:
        return lambda _: True
    reqs = [_requirement(part) for part in _split(text)]
    return lambda labels: all(req(labels) for req in reqs)


def label_selector(selector: dict[str, Any] | None) -> Matcher:
    """A LabelSelector object (matchLabels / matchExpressions); None or {} matches everything."""
    selector = selector or {}
    reqs: list[Matcher] = []
    for key, value in (selector.get("matchLabels") or {}).items():
        reqs.append(lambda labels, k=key, v=value: labels.get(k) == v)
    for expr in selector.get("matchExpressions") or []:
        key, op, values = expr.get("key"), expr.get("operator"), set(expr.get("values") or [])
        if op == "In":
            reqs.append(lambda labels, k=key, v=values: labels.get(k) in v)
        elif op == "NotIn":
            reqs.append(lambda labels, k=key, v=values: labels.get(k) not in v)
        elif op == "Exists":
            reqs.append(lambda labels, k=key: k in labels)
        elif op == "DoesNotExist":
            reqs.append(lambda labels, k=key: k not in labels)
    return lambda labels: all(req(labels) for req in reqs)


def selector_string(selector: dict[str, Any] | None) -> str:
    """The string form kubectl shows (``status.selector`` of scale subresources)."""
    selector = selector or {}
    parts = [f"{k}={v}" for k, v in sorted((selector.get("matchLabels") or {}).items())]
    for expr in selector.get("matchExpressions") or []:
        op = expr.get("operator")
        if op in {"In", "NotIn"}:
            parts.append(f"{expr['key']} {op.lower()} ({','.join(sorted(expr.get('values') or []))})")
        elif op == "Exists":
            parts.append(expr["key"])
        elif op == "DoesNotExist":
            parts.append(f"!{expr['key']}")
    return ",".join(parts)


def _lookup(obj: dict[str, Any], path: str) -> str | None:
    value: Any = obj
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    if isinstance(value, bool):
        return "true" if value else "false"
    return None if value is None else str(value)


def parse_field_selector(text: str | None) -> Callable[[dict[str, Any]], bool]:
    if not text:
        return lambda _: True
    reqs = []
    for part in _split(text):
        match = re.match(r"^\s*([A-Za-z0-9.]+)\s*(==|=|!=)\s*(.*?)\s*$", part)
        if not match:
            raise bad_request(f"invalid field selector: {part!r}")
        path, op, value = match.groups()
        reqs.append((path, op == "!=", value))

    def matches(obj: dict[str, Any]) -> bool:
        for path, negate, value in reqs:
            actual = _lookup(obj, path)
            if (actual == value or (actual is None and value == "")) == negate:
                return False
        return True

    return matches
