# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters that adjust upstream Kubernetes release manifests (lists of objects) before apply.

Documentation for each filter lives next to this file (``<filter>.yml``). Every filter returns
new objects and never changes its input.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ansible.errors import AnsibleFilterError

WORKLOAD_KINDS = ("Deployment", "StatefulSet", "DaemonSet", "Job")


def _plain(value: Any) -> Any:
    """A plain copy of nested mappings and lists (no deepcopy: Ansible passes lazy containers)."""
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _docs(value: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(value, (list, tuple)):
        raise AnsibleFilterError(f"{name}: expected a list of Kubernetes objects, got {type(value).__name__}")
    out = []
    for doc in value:
        if doc is None:
            continue
        if not isinstance(doc, Mapping) or "kind" not in doc:
            raise AnsibleFilterError(f"{name}: every item must be a Kubernetes object with a kind")
        out.append(_plain(doc))
    return out


def _pod_spec(doc: dict[str, Any]) -> dict[str, Any]:
    if doc["kind"] == "CronJob":
        return (
            doc.setdefault("spec", {})
            .setdefault("jobTemplate", {})
            .setdefault("spec", {})
            .setdefault("template", {})
            .setdefault("spec", {})
        )
    return doc.setdefault("spec", {}).setdefault("template", {}).setdefault("spec", {})


def k8s_place(value: Any, placement: Any, kinds: Any = ("Deployment", "StatefulSet")) -> list[dict[str, Any]]:
    """Give every workload of the listed kinds the placement's nodeSelector and tolerations.

    The nodeSelector is merged over the manifest's own (upstream ``kubernetes.io/os: linux``
    stays); the tolerations replace the manifest's.
    """
    docs = _docs(value, "k8s_place")
    if not isinstance(placement, Mapping):
        raise AnsibleFilterError("k8s_place: placement must be a dict with nodeSelector and tolerations")
    selector = placement.get("nodeSelector") or {}
    tolerations = placement.get("tolerations") or []
    if not isinstance(selector, Mapping) or not isinstance(tolerations, (list, tuple)):
        raise AnsibleFilterError("k8s_place: placement.nodeSelector must be a dict and placement.tolerations a list")
    wanted = set(kinds)
    for doc in docs:
        if doc["kind"] not in wanted:
            continue
        spec = _pod_spec(doc)
        merged = dict(spec.get("nodeSelector") or {})
        merged.update(selector)
        if merged:
            spec["nodeSelector"] = merged
        if tolerations:
            spec["tolerations"] = _plain(tolerations)
        else:
            spec.pop("tolerations", None)
    return docs


def k8s_configmap_data(value: Any, name: str, data: Any, namespace: str | None = None) -> list[dict[str, Any]]:
    """Merge ``data`` (values turned into strings) into the ConfigMap called ``name``.

    Fails when the manifests hold no such ConfigMap, so a renamed upstream object is noticed.
    """
    docs = _docs(value, "k8s_configmap_data")
    if not isinstance(data, Mapping):
        raise AnsibleFilterError(f"k8s_configmap_data: data for ConfigMap {name} must be a dict")
    found = False
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc["kind"] != "ConfigMap" or meta.get("name") != name:
            continue
        if namespace is not None and meta.get("namespace") != namespace:
            continue
        found = True
        current = dict(doc.get("data") or {})
        for key, item in data.items():
            current[str(key)] = _as_string(item)
        doc["data"] = current
    if not found:
        raise AnsibleFilterError(f"k8s_configmap_data: the manifests hold no ConfigMap named {name}")
    return docs


def _as_string(item: Any) -> str:
    if isinstance(item, bool):
        return "true" if item else "false"
    return str(item)


def k8s_container_args(value: Any, deployment: str, flags: Any) -> list[dict[str, Any]]:
    """Set ``--flag=value`` arguments on every container of the named Deployment.

    An existing ``--flag=...`` argument is replaced in place; a missing one is appended.
    Fails when the Deployment is not in the manifests.
    """
    docs = _docs(value, "k8s_container_args")
    if not isinstance(flags, Mapping):
        raise AnsibleFilterError("k8s_container_args: flags must be a dict of flag name to value")
    found = False
    for doc in docs:
        if doc["kind"] != "Deployment" or (doc.get("metadata") or {}).get("name") != deployment:
            continue
        found = True
        for container in _pod_spec(doc).get("containers") or []:
            args = list(container.get("args") or [])
            for flag, item in flags.items():
                prefix = f"--{str(flag).lstrip('-')}="
                rendered = prefix + _as_string(item)
                for index, arg in enumerate(args):
                    if isinstance(arg, str) and arg.startswith(prefix):
                        args[index] = rendered
                        break
                else:
                    args.append(rendered)
            container["args"] = args
    if not found:
        raise AnsibleFilterError(f"k8s_container_args: the manifests hold no Deployment named {deployment}")
    return docs


def k8s_namespaced_bindings(value: Any, names: Any, namespaces: Any) -> list[dict[str, Any]]:
    """Replace each ClusterRoleBinding called one of ``names`` by RoleBindings in ``namespaces``.

    Each RoleBinding keeps the binding's name, labels, roleRef (a ClusterRole, which a RoleBinding
    may reference) and subjects, so the role applies in those namespaces only. An empty
    ``namespaces`` drops the bindings. Fails when the manifests hold none of ``names``.
    """
    docs = _docs(value, "k8s_namespaced_bindings")
    if not isinstance(names, (list, tuple)) or not isinstance(namespaces, (list, tuple)):
        raise AnsibleFilterError("k8s_namespaced_bindings: names and namespaces must be lists")
    wanted = {str(name) for name in names}
    out: list[dict[str, Any]] = []
    found = False
    for doc in docs:
        meta = doc.get("metadata") or {}
        if doc["kind"] != "ClusterRoleBinding" or meta.get("name") not in wanted:
            out.append(doc)
            continue
        found = True
        for namespace in namespaces:
            binding_meta = {key: _plain(item) for key, item in meta.items() if key != "namespace"}
            binding_meta["namespace"] = str(namespace)
            out.append(
                {
                    "apiVersion": "rbac.authorization.k8s.io/v1",
                    "kind": "RoleBinding",
                    "metadata": binding_meta,
                    "roleRef": _plain(doc.get("roleRef") or {}),
                    "subjects": _plain(doc.get("subjects") or []),
                }
            )
    if not found:
        raise AnsibleFilterError(
            f"k8s_namespaced_bindings: the manifests hold no ClusterRoleBinding named {sorted(wanted)}"
        )
    return out


def k8s_namespace_labels(value: Any, labels: Any) -> list[dict[str, Any]]:
    """Merge ``labels`` (values turned into strings) into the labels of every Namespace object.

    The Pod Security labels of the namespaces an upstream release manifest creates, set where the
    manifest is applied so one apply owns the whole Namespace object.
    """
    docs = _docs(value, "k8s_namespace_labels")
    if not isinstance(labels, Mapping):
        raise AnsibleFilterError("k8s_namespace_labels: labels must be a dict of label name to value")
    for doc in docs:
        if doc["kind"] != "Namespace":
            continue
        meta = doc.setdefault("metadata", {})
        merged = dict(meta.get("labels") or {})
        merged.update({str(key): _as_string(item) for key, item in labels.items()})
        meta["labels"] = merged
    return docs


class FilterModule:
    """Manifest transforms of doks.gitops."""

    def filters(self) -> dict[str, Any]:
        return {
            "k8s_place": k8s_place,
            "k8s_configmap_data": k8s_configmap_data,
            "k8s_container_args": k8s_container_args,
            "k8s_namespaced_bindings": k8s_namespaced_bindings,
            "k8s_namespace_labels": k8s_namespace_labels,
        }
