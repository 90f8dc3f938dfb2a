"""Who may read Secrets: RBAC evaluated over a list of Kubernetes objects (rendered or live).

Follows the RBAC authorizer's rules (https://kubernetes.io/docs/reference/access-authn-authz/rbac/):
a ClusterRoleBinding grants its role's rules in every namespace, a RoleBinding only in its own
(even when it references a ClusterRole); a rule matches when its apiGroups, resources and verbs
hold the request's or ``*``; ClusterRoles with an aggregationRule collect the rules of the
ClusterRoles whose labels match its selectors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

# A watch streams whole objects too, so it reads Secrets as much as get and list do.
READ_VERBS = ("get", "list", "watch")


def _matches(labels: Mapping[str, str], selector: Mapping[str, Any]) -> bool:
    wanted = selector.get("matchLabels") or {}
    return all(labels.get(key) == value for key, value in wanted.items())


def cluster_role_rules(objects: Iterable[Mapping[str, Any]]) -> dict[str, list[Mapping[str, Any]]]:
    """Rules of each ClusterRole by name, aggregated ones included."""
    roles = [o for o in objects if o.get("kind") == "ClusterRole"]
    rules: dict[str, list[Mapping[str, Any]]] = {o["metadata"]["name"]: list(o.get("rules") or []) for o in roles}
    for role in roles:
        selectors = (role.get("aggregationRule") or {}).get("clusterRoleSelectors") or []
        for other in roles:
            labels = other["metadata"].get("labels") or {}
            if other is not role and any(_matches(labels, s) for s in selectors):
                rules[role["metadata"]["name"]].extend(other.get("rules") or [])
    return rules


def allows(rule: Mapping[str, Any], verb: str, resource: str, group: str = "") -> bool:
    """Whether one PolicyRule allows ``verb`` on ``resource`` of API group ``group``."""
    if "nonResourceURLs" in rule and not rule.get("resources"):
        return False
    groups = rule.get("apiGroups") or []
    resources = rule.get("resources") or []
    verbs = rule.get("verbs") or []
    return (
        (group in groups or "*" in groups)
        and (resource in resources or "*" in resources)
        and (verb in verbs or "*" in verbs)
    )


def cluster_wide_readers(objects: Iterable[Mapping[str, Any]], resource: str = "secrets") -> dict[str, list[str]]:
    """ServiceAccounts (``namespace/name``) that may get, list or watch ``resource`` in every namespace.

    Maps each to the ClusterRoles granting it. Only ClusterRoleBindings grant cluster-wide.
    """
    items = list(objects)
    rules = cluster_role_rules(items)
    out: dict[str, list[str]] = {}
    for binding in items:
        if binding.get("kind") != "ClusterRoleBinding":
            continue
        role = binding["roleRef"]["name"]
        if not any(allows(r, verb, resource) for r in rules.get(role, []) for verb in READ_VERBS):
            continue
        for subject in binding.get("subjects") or []:
            if subject.get("kind") == "ServiceAccount":
                out.setdefault(f"{subject['namespace']}/{subject['name']}", []).append(role)
    return out
