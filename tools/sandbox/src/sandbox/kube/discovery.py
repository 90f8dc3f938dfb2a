"""API discovery documents: the legacy lists and the aggregated (apidiscovery.k8s.io/v2) form."""

from __future__ import annotations

import re
from typing import Any

from sandbox.kube.resources import GROUP_ORDER, ResourceType

AGGREGATED = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"
SUB_VERBS = ["get", "patch", "update"]
# What /version answers: the Kubernetes minor the platform targets (kubectl 1.31 skew).
VERSION = {
    "major": "1",
    "minor": "31",
    "gitVersion": "v1.31.9",
    "gitCommit": "0000000000000000000000000000000000000000",
    "gitTreeState": "clean",
    "buildDate": "2025-05-15T00:00:00Z",
    "goVersion": "go1.23.8",
    "compiler": "gc",
    "platform": "linux/amd64",
}


def version_key(version: str) -> tuple[int, int, int]:
    """Kubernetes version priority: v2 > v1 > v1beta2 > v1beta1 > v1alpha1 > anything else."""
    match = re.fullmatch(r"v(\d+)(?:(alpha|beta)(\d+))?", version)
    if not match:
        return (0, 0, 0)
    major, level, minor = match.groups()
    rank = {None: 3, "beta": 2, "alpha": 1}[level]
    return (rank, int(major), int(minor or 0))


def groups(types: list[ResourceType]) -> list[tuple[str, list[str]]]:
    """(group, versions by priority) for every group with served types, in discovery order."""
    found: dict[str, set[str]] = {}
    for t in types:
        found.setdefault(t.group, set()).add(t.version)
    order = {g: i for i, g in enumerate(GROUP_ORDER)}
    names = sorted(found, key=lambda g: (order.get(g, len(order)), g))
    return [(g, sorted(found[g], key=version_key, reverse=True)) for g in names]


def _resource_list_entries(t: ResourceType) -> list[dict[str, Any]]:
    entry: dict[str, Any] = {
        "name": t.plural,
        "singularName": t.singular,
        "namespaced": t.namespaced,
        "kind": t.kind,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    entries = [entry]
    if t.status:
        entries.append(
            {
                "name": f"{t.plural}/status",
                "singularName": "",
                "namespaced": t.namespaced,
                "kind": t.kind,
                "verbs": SUB_VERBS,
            }
        )
    if t.gr == "/pods":
        entries.append({"name": "pods/log", "singularName": "", "namespaced": True, "kind": "Pod", "verbs": ["get"]})
    if t.gr == "/serviceaccounts":
        entries.append(
            {
                "name": "serviceaccounts/token",
                "singularName": "",
                "namespaced": True,
                "group": "authentication.k8s.io",
                "version": "v1",
                "kind": "TokenRequest",
                "verbs": ["create"],
            }
        )
    if t.scale:
        entries.append(
            {
                "name": f"{t.plural}/scale",
                "singularName": "",
                "namespaced": t.namespaced,
                "group": "autoscaling",
                "version": "v1",
                "kind": "Scale",
                "verbs": SUB_VERBS,
            }
        )
    return entries


def resource_list(types: list[ResourceType], group: str, version: str) -> dict[str, Any]:
    resources = []
    for t in types:
        if t.group == group and t.version == version:
            resources += _resource_list_entries(t)
    gv = f"{group}/{version}" if group else version
    return {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}


def api_versions(server_address: str) -> dict[str, Any]:
    return {
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    }


def _group_entry(group: str, versions: list[str]) -> dict[str, Any]:
    listed = [{"groupVersion": f"{group}/{v}", "version": v} for v in versions]
    return {"name": group, "versions": listed, "preferredVersion": listed[0]}


def group_list(types: list[ResourceType]) -> dict[str, Any]:
    return {
        "kind": "APIGroupList",
        "apiVersion": "v1",
        "groups": [_group_entry(g, vs) for g, vs in groups(types) if g],
    }


def group(types: list[ResourceType], name: str) -> dict[str, Any] | None:
    for g, versions in groups(types):
        if g == name and g:
            return {"kind": "APIGroup", "apiVersion": "v1", **_group_entry(g, versions)}
    return None


def _aggregated_resource(t: ResourceType) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "resource": t.plural,
        "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
        "scope": "Namespaced" if t.namespaced else "Cluster",
        "singularResource": t.singular,
        "verbs": list(t.verbs),
    }
    if t.short_names:
        entry["shortNames"] = list(t.short_names)
    if t.categories:
        entry["categories"] = list(t.categories)
    subresources = []
    if t.status:
        subresources.append(
            {
                "subresource": "status",
                "responseKind": {"group": t.group, "version": t.version, "kind": t.kind},
                "verbs": SUB_VERBS,
            }
        )
    if t.scale:
        subresources.append(
            {
                "subresource": "scale",
                "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
                "verbs": SUB_VERBS,
            }
        )
    if t.gr == "/pods":
        kind = {"group": "", "version": "v1", "kind": "Pod"}
        subresources.append({"subresource": "log", "responseKind": kind, "verbs": ["get"]})
    if t.gr == "/serviceaccounts":
        kind = {"group": "authentication.k8s.io", "version": "v1", "kind": "TokenRequest"}
        subresources.append({"subresource": "token", "responseKind": kind, "verbs": ["create"]})
    if subresources:
        entry["subresources"] = subresources
    return entry


def aggregated(types: list[ResourceType], legacy: bool) -> dict[str, Any]:
    """``legacy``: the document for /api (the core group), else for /apis."""
    items = []
    for g, versions in groups(types):
        if (g == "") != legacy:
            continue
        entry: dict[str, Any] = {"metadata": {"creationTimestamp": None}, "versions": []}
        if g:
            entry["metadata"]["name"] = g
        for v in versions:
            resources = [_aggregated_resource(t) for t in types if t.group == g and t.version == v]
            entry["versions"].append({"version": v, "resources": resources, "freshness": "Current"})
        items.append(entry)
    return {"kind": "APIGroupDiscoveryList", "apiVersion": "apidiscovery.k8s.io/v2", "metadata": {}, "items": items}


def wants_aggregated(accept: str) -> bool:
    """True when the client lists apidiscovery v2 before plain JSON."""
    for part in accept.split(","):
        media = part.strip().lower()
        if media.startswith("application/json") and "g=apidiscovery.k8s.io" in media and "v=v2;" in media + ";":
            return True
        if media.split(";")[0] in {"application/json", "*/*"} and "g=" not in media:
            return False
    return False
