"""meta.k8s.io/v1 Table responses, which ``kubectl get`` asks for when printing."""

from __future__ import annotations

import datetime as dt
from typing import Any

TABLE_MIME = "application/json;as=Table;v=v1;g=meta.k8s.io"


def wants_table(accept: str) -> bool:
    first = accept.split(",", maxsplit=1)[0].lower()
    return "as=table" in first


def _age(stamp: str | None) -> str:
    if not stamp:
        return "<unknown>"
    try:
        created = dt.datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.UTC)
    except ValueError:
        return "<unknown>"
    seconds = int((dt.datetime.now(dt.UTC) - created).total_seconds())
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{seconds // 60}m"
    if seconds < 172800:
        return f"{seconds // 3600}h"
    return f"{seconds // 86400}d"


def _status(obj: dict[str, Any]) -> str:
    kind = obj.get("kind")
    status = obj.get("status") or {}
    spec = obj.get("spec") or {}
    if kind == "Pod":
        return status.get("phase", "Pending")
    if kind in {"Deployment", "StatefulSet", "ReplicaSet"}:
        return f"{status.get('readyReplicas', 0)}/{spec.get('replicas', 1)}"
    if kind == "Namespace":
        return status.get("phase", "Active")
    if kind == "Node":
        ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions") or [])
        return "Ready" if ready else "NotReady"
    if kind == "Service":
        return spec.get("clusterIP", "")
    return ""


def table(items: list[dict[str, Any]], include_object: bool, list_rv: str) -> dict[str, Any]:
    columns = [
        {
            "name": "Name",
            "type": "string",
            "format": "name",
            "description": "Name must be unique within a namespace.",
            "priority": 0,
        },
        {"name": "Status", "type": "string", "format": "", "description": "Status summary.", "priority": 0},
        {"name": "Age", "type": "string", "format": "", "description": "CreationTimestamp.", "priority": 0},
    ]
    rows = []
    for obj in items:
        meta = obj.get("metadata") or {}
        row: dict[str, Any] = {"cells": [meta.get("name", ""), _status(obj), _age(meta.get("creationTimestamp"))]}
        if include_object:
            row["object"] = obj
        else:
            row["object"] = {
                "kind": "PartialObjectMetadata",
                "apiVersion": "meta.k8s.io/v1",
                "metadata": meta,
            }
        rows.append(row)
    return {
        "kind": "Table",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": {"resourceVersion": list_rv},
        "columnDefinitions": columns,
        "rows": rows,
    }
