"""Where a pod may run: nodeSelector, required node affinity, taints and tolerations."""

from __future__ import annotations

from typing import Any


def tolerates(tolerations: list[dict[str, Any]], taint: dict[str, Any]) -> bool:
    for tol in tolerations or []:
        if tol.get("effect") and tol["effect"] != taint.get("effect"):
            continue
        operator = tol.get("operator", "Equal")
        if operator == "Exists" and (not tol.get("key") or tol.get("key") == taint.get("key")):
            return True
        if (
            operator == "Equal"
            and tol.get("key") == taint.get("key")
            and (tol.get("value") or "") == (taint.get("value") or "")
        ):
            return True
    return False


def _compare(value: str | None, bound: list[str], greater: bool) -> bool:
    try:
        left, right = int(value or ""), int(bound[0])
    except (ValueError, IndexError):
        return False
    return left > right if greater else left < right


_OPERATORS: dict[str, Any] = {
    "In": lambda value, present, values: present and value in values,
    "NotIn": lambda value, present, values: value not in values,
    "Exists": lambda value, present, values: present,
    "DoesNotExist": lambda value, present, values: not present,
    "Gt": lambda value, present, values: present and _compare(value, values, True),
    "Lt": lambda value, present, values: present and _compare(value, values, False),
}


def _expression(labels: dict[str, str], expr: dict[str, Any]) -> bool:
    """A node selector requirement (In, NotIn, Exists, DoesNotExist, Gt, Lt) against labels."""
    test = _OPERATORS.get(str(expr.get("operator")))
    key = expr.get("key")
    values = [str(v) for v in expr.get("values") or []]
    return bool(test and test(labels.get(key), key in labels, values))


def _node_fields(node: dict[str, Any], expr: dict[str, Any]) -> bool:
    if expr.get("key") == "metadata.name":
        return _expression({"metadata.name": node["metadata"]["name"]}, expr)
    return False


def affinity_ok(spec: dict[str, Any], node: dict[str, Any]) -> bool:
    required = (
        ((spec.get("affinity") or {}).get("nodeAffinity") or {}).get("requiredDuringSchedulingIgnoredDuringExecution")
    ) or {}
    terms = required.get("nodeSelectorTerms") or []
    if not terms:
        return True
    labels = node["metadata"].get("labels") or {}
    for term in terms:
        exprs = term.get("matchExpressions") or []
        field_exprs = term.get("matchFields") or []
        if not exprs and not field_exprs:
            continue
        if all(_expression(labels, e) for e in exprs) and all(_node_fields(node, e) for e in field_exprs):
            return True
    return False


def why_not(spec: dict[str, Any], node: dict[str, Any]) -> str | None:
    """None when the pod fits the node, else the scheduler's reason."""
    labels = node["metadata"].get("labels") or {}
    if (node.get("spec") or {}).get("unschedulable"):
        return "node(s) were unschedulable"
    if not any(
        c.get("type") == "Ready" and c.get("status") == "True"
        for c in (node.get("status") or {}).get("conditions") or []
    ):
        return "node(s) were not ready"
    for key, value in (spec.get("nodeSelector") or {}).items():
        if labels.get(key) != value:
            return "node(s) didn't match Pod's node affinity/selector"
    if not affinity_ok(spec, node):
        return "node(s) didn't match Pod's node affinity/selector"
    for taint in (node.get("spec") or {}).get("taints") or []:
        if taint.get("effect") in {"NoSchedule", "NoExecute"} and not tolerates(spec.get("tolerations") or [], taint):
            return f"node(s) had untolerated taint {{{taint.get('key')}: {taint.get('value', '')}}}"
    return None


def unschedulable_message(spec: dict[str, Any], nodes: list[dict[str, Any]]) -> str:
    reasons: dict[str, int] = {}
    for node in nodes:
        reason = why_not(spec, node)
        if reason:
            reasons[reason] = reasons.get(reason, 0) + 1
    detail = ", ".join(f"{count} {reason}" for reason, count in sorted(reasons.items()))
    total = len(nodes)
    return (
        f"0/{total} nodes are available: {detail}. "
        f"preemption: 0/{total} nodes are available: {total} Preemption is not helpful for scheduling."
    )
