"""When a server-side apply would change an object (plugins/module_utils/k8s_compare.py), without HTTP.

Kubernetes "Server-Side Apply" (kubernetes.io/docs/reference/using-api/server-side-apply/):
- "Field management": the server records, per manager and operation, the fields it set
  (``metadata.managedFields[].fieldsV1``: ``f:<field>``, list elements ``k:``/``v:``/``i:``, ``.``
  the element itself).
- "Merge strategy": "If a field was previously applied by a manager and that manager applies again
  without it, the field is removed" (when no other manager owns it). So a definition that dropped a
  field needs an apply even though every field it still sets has its live value.
- An apply by a manager that never applied the object takes its fields over: it is a change.
managedFields below are shaped as the docs' example object shows them.
"""

from __future__ import annotations

import copy
from typing import Any

from ansible_collections.doks.gitops.plugins.module_utils.k8s_compare import (
    owned_paths,
    server_side_difference,
    server_side_plan,
)

MANAGER = "doks.gitops.lofi_pipeline"
SA = {
    "apiVersion": "v1",
    "kind": "ServiceAccount",
    "metadata": {"name": "build", "namespace": "lofi-ci", "labels": {"app.kubernetes.io/part-of": "lofi"}},
    "automountServiceAccountToken": False,
}
SA_FIELDS = {
    "f:automountServiceAccountToken": {},
    "f:metadata": {"f:labels": {"f:app.kubernetes.io/part-of": {}}},
}
BINDING = {
    "apiVersion": "rbac.authorization.k8s.io/v1",
    "kind": "RoleBinding",
    "metadata": {"name": "el", "namespace": "lofi-ci"},
    "subjects": [{"kind": "ServiceAccount", "name": "el", "namespace": "lofi-ci"}],
    "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "tekton-el"},
}
BINDING_FIELDS = {
    "f:roleRef": {},
    "f:subjects": {'k:{"kind":"ServiceAccount","name":"el","namespace":"lofi-ci"}': {".": {}, "f:kind": {}}},
}


def live(obj: dict[str, Any], *entries: tuple[str, str, dict[str, Any]]) -> dict[str, Any]:
    """``obj`` as stored, with server fields and one managedFields entry per (manager, operation, fieldsV1)."""
    stored = copy.deepcopy(obj)
    stored["metadata"].update(uid="u-1", resourceVersion="12", creationTimestamp="2026-12-01T00:00:00Z")
    stored["metadata"]["managedFields"] = [
        {"manager": m, "operation": op, "apiVersion": obj["apiVersion"], "fieldsType": "FieldsV1", "fieldsV1": f}
        for m, op, f in entries
    ]
    return stored


def test_owned_paths_stop_at_lists_and_skip_element_markers() -> None:
    assert sorted(owned_paths(SA_FIELDS)) == [
        ("automountServiceAccountToken",),
        ("metadata", "labels", "app.kubernetes.io/part-of"),
    ]
    assert sorted(owned_paths(BINDING_FIELDS)) == [("roleRef",), ("subjects",)]
    assert owned_paths({"f:metadata": {".": {}, "f:labels": {".": {}}}}) == [("metadata", "labels")]


def test_an_object_the_manager_applied_as_declared_is_no_change() -> None:
    assert server_side_difference(SA, live(SA, (MANAGER, "Apply", SA_FIELDS)), MANAGER) is None
    assert server_side_difference(BINDING, live(BINDING, (MANAGER, "Apply", BINDING_FIELDS)), MANAGER) is None


def test_a_missing_object_is_applied() -> None:
    assert server_side_difference(SA, None, MANAGER) == "missing"


def test_an_object_another_manager_wrote_is_taken_over_once() -> None:
    by_kubectl = live(SA, ("kubectl-client-side-apply", "Update", SA_FIELDS))
    assert server_side_difference(SA, by_kubectl, MANAGER) == f"not applied by {MANAGER} before"
    # the manager's Update (not Apply) entry does not count as an apply either
    assert server_side_difference(SA, live(SA, (MANAGER, "Update", SA_FIELDS)), MANAGER) is not None


def test_a_field_the_manager_applied_and_no_longer_declares_is_applied_to_remove_it() -> None:
    dropped = copy.deepcopy(SA)
    del dropped["metadata"]["labels"]
    stored = live(SA, (MANAGER, "Apply", SA_FIELDS))
    reason = server_side_difference(dropped, stored, MANAGER)
    assert reason == f"{MANAGER} applied metadata.labels.app.kubernetes.io/part-of, which the definition no longer sets"


def test_a_field_another_manager_owns_is_not_ours_to_remove() -> None:
    stored = live(SA, (MANAGER, "Apply", SA_FIELDS))
    stored["metadata"]["labels"]["team"] = "x"
    stored["metadata"]["managedFields"].append(
        {"manager": "kubectl", "operation": "Update", "fieldsV1": {"f:metadata": {"f:labels": {"f:team": {}}}}}
    )
    assert server_side_difference(SA, stored, MANAGER) is None


def test_a_drifted_value_is_applied() -> None:
    stored = live(SA, (MANAGER, "Apply", SA_FIELDS))
    stored["automountServiceAccountToken"] = True
    assert server_side_difference(SA, stored, MANAGER) == "live fields differ"


def test_a_dropped_list_element_is_a_difference_of_the_list() -> None:
    two = copy.deepcopy(BINDING)
    two["subjects"].append({"kind": "ServiceAccount", "name": "other", "namespace": "lofi-ci"})
    stored = live(two, (MANAGER, "Apply", BINDING_FIELDS))
    assert server_side_difference(BINDING, stored, MANAGER) == "live fields differ"


def test_server_metadata_in_a_field_set_is_never_asked_of_the_definition() -> None:
    fields = {**SA_FIELDS, "f:metadata": {**SA_FIELDS["f:metadata"], "f:name": {}, "f:namespace": {}}}
    assert server_side_difference(SA, live(SA, (MANAGER, "Apply", fields)), MANAGER) is None


def test_the_plan_keeps_order_and_lists_only_what_a_apply_would_change() -> None:
    other = {**copy.deepcopy(SA), "metadata": {"name": "push", "namespace": "lofi-ci"}}
    current = {
        ("v1", "ServiceAccount", "lofi-ci", "build"): live(SA, (MANAGER, "Apply", SA_FIELDS)),
    }
    todo = server_side_plan([other, SA, BINDING], current, MANAGER)
    assert [(obj["metadata"]["name"], reason) for obj, _live, reason in todo] == [
        ("push", "missing"),
        ("el", "missing"),
    ]
