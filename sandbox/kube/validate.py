"""The validation a real API server does that clients are likely to hit (422 Invalid)."""

from __future__ import annotations

import re
from typing import Any

from sandbox.kube.errors import invalid
from sandbox.kube.resources import ResourceType
from sandbox.kube.selectors import label_selector

SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
QUALIFIED = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
# Kinds whose names must be DNS-1123 labels rather than subdomains.
LABEL_NAMED = {"/namespaces", "/services"}
# RBAC and a few others accept path segment names (e.g. "system:controller:x").
PATH_SEGMENT_NAMED = {
    "rbac.authorization.k8s.io/roles",
    "rbac.authorization.k8s.io/rolebindings",
    "rbac.authorization.k8s.io/clusterroles",
    "rbac.authorization.k8s.io/clusterrolebindings",
    "/nodes",
}
WORKLOADS = {"apps/deployments", "apps/statefulsets", "apps/daemonsets", "apps/replicasets"}


def _name_errors(rtype: ResourceType, name: str) -> list[tuple[str, str, str]]:
    if not name:
        return [("FieldValueRequired", "Required value: name or generateName is required", "metadata.name")]
    if rtype.gr in PATH_SEGMENT_NAMED:
        ok = name not in {".", ".."} and "/" not in name and "%" not in name
    elif rtype.gr in LABEL_NAMED:
        ok = len(name) <= 63 and bool(LABEL.match(name))
    else:
        ok = len(name) <= 253 and bool(SUBDOMAIN.match(name))
    if ok:
        return []
    what = "RFC 1123 label" if rtype.gr in LABEL_NAMED else "RFC 1123 subdomain"
    return [
        (
            "FieldValueInvalid",
            f'Invalid value: "{name}": a lowercase {what} must consist of lower case alphanumeric characters'
            + (", '-' or '.'" if what.endswith("subdomain") else " or '-'")
            + ", and must start and end with an alphanumeric character",
            "metadata.name",
        )
    ]


def _label_errors(labels: Any) -> list[tuple[str, str, str]]:
    errors = []
    if not isinstance(labels, dict):
        return errors
    for key, value in labels.items():
        prefix, _, name = str(key).rpartition("/")
        if not name or len(name) > 63 or not QUALIFIED.match(name) or (prefix and not SUBDOMAIN.match(prefix)):
            errors.append(
                ("FieldValueInvalid", f'Invalid value: "{key}": name part must be a valid label key', "metadata.labels")
            )
        if not isinstance(value, str) or len(value) > 63 or not LABEL_VALUE.match(value):
            errors.append(
                (
                    "FieldValueInvalid",
                    f'Invalid value: "{value}": a valid label must be 63 characters or less',
                    "metadata.labels",
                )
            )
    return errors


def _containers(spec: dict[str, Any], path: str) -> list[tuple[str, str, str]]:
    errors = []
    containers = spec.get("containers")
    if not containers:
        return [("FieldValueRequired", "Required value", f"{path}.containers")]
    for index, container in enumerate(containers):
        if not isinstance(container, dict):
            continue
        if not container.get("name"):
            errors.append(("FieldValueRequired", "Required value", f"{path}.containers[{index}].name"))
        if not container.get("image"):
            errors.append(("FieldValueRequired", "Required value", f"{path}.containers[{index}].image"))
    return errors


def _workload(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    errors = []
    selector = spec.get("selector")
    template_labels = ((spec.get("template") or {}).get("metadata") or {}).get("labels") or {}
    if not selector:
        errors.append(("FieldValueRequired", "Required value", "spec.selector"))
    elif not label_selector(selector)(template_labels):
        errors.append(
            (
                "FieldValueInvalid",
                "Invalid value: selector does not match template labels",
                "spec.template.metadata.labels",
            )
        )
    errors += _containers((spec.get("template") or {}).get("spec") or {}, "spec.template.spec")
    return errors


def validate(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> None:
    meta = obj.get("metadata") or {}
    name = meta.get("name", "")
    errors = _name_errors(rtype, name) + _label_errors(meta.get("labels"))
    if rtype.gr in WORKLOADS:
        errors += _workload(obj)
        if (
            old is not None
            and rtype.gr != "apps/replicasets"
            and (old.get("spec") or {}).get("selector") != (obj.get("spec") or {}).get("selector")
        ):
            errors.append(("FieldValueInvalid", "Invalid value: field is immutable", "spec.selector"))
    elif rtype.gr == "batch/jobs":
        errors += _containers(((obj.get("spec") or {}).get("template") or {}).get("spec") or {}, "spec.template.spec")
        restart = (((obj.get("spec") or {}).get("template") or {}).get("spec") or {}).get("restartPolicy")
        if restart not in {"Never", "OnFailure"}:
            errors.append(
                (
                    "FieldValueNotSupported",
                    f'Unsupported value: "{restart}": supported values: "OnFailure", "Never"',
                    "spec.template.spec.restartPolicy",
                )
            )
    elif rtype.gr == "/pods":
        errors += _containers(obj.get("spec") or {}, "spec")
    elif rtype.gr == "/configmaps":
        for key, value in (obj.get("data") or {}).items():
            if not isinstance(value, str):
                errors.append(("FieldValueTypeInvalid", "Invalid value: must be a string", f"data.{key}"))
    errors += _immutable_data(rtype, obj, old)
    if errors:
        raise invalid(rtype.kind, rtype.group, name, errors)


def _immutable_data(rtype: ResourceType, obj: dict[str, Any], old: dict[str, Any] | None) -> list[tuple[str, str, str]]:
    """ConfigMaps and Secrets marked ``immutable`` keep their data."""
    if rtype.gr not in {"/configmaps", "/secrets"} or old is None or not old.get("immutable"):
        return []
    return [
        ("FieldValueForbidden", "Forbidden: field is immutable when `immutable` is set", key)
        for key in ("data", "binaryData", "immutable")
        if obj.get(key) != old.get(key)
    ]


def _crd(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    spec = obj.get("spec") or {}
    names = spec.get("names") or {}
    errors = []
    if not spec.get("group"):
        errors.append(("FieldValueRequired", "Required value", "spec.group"))
    if not names.get("plural") or not names.get("kind"):
        errors.append(("FieldValueRequired", "Required value", "spec.names"))
    expected = f"{names.get('plural')}.{spec.get('group')}"
    if (obj.get("metadata") or {}).get("name") != expected:
        errors.append(
            (
                "FieldValueInvalid",
                f'Invalid value: must be spec.names.plural+"."+spec.group ({expected})',
                "metadata.name",
            )
        )
    versions = spec.get("versions") or []
    if not versions:
        errors.append(("FieldValueRequired", "Required value", "spec.versions"))
    elif sum(1 for v in versions if v.get("storage")) != 1:
        errors.append(
            (
                "FieldValueInvalid",
                "Invalid value: must have exactly one version marked as storage version",
                "spec.versions",
            )
        )
    return errors
