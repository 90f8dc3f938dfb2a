"""The manifest filters the tekton role applies to upstream release files."""

from __future__ import annotations

import copy

import pytest
import yaml
from ansible.errors import AnsibleFilterError
from ansible_collections.doks.gitops.plugins.filter.manifests import (
    k8s_configmap_data,
    k8s_container_args,
    k8s_namespace_labels,
    k8s_namespaced_bindings,
    k8s_place,
)

import sandbox

PLACEMENT = {
    "nodeSelector": {"doks.digitalocean.com/node-pool": "tools"},
    "tolerations": [{"key": "tools", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
}


def _deployment(name: str, **pod: object) -> dict:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": "tekton-pipelines"},
        "spec": {
            "template": {"spec": {"containers": [{"name": name, "args": ["--port=9097", "--read-only=x"]}], **pod}}
        },
    }


def _docs() -> list[dict]:
    return [
        {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "tekton-pipelines"}},
        _deployment("tekton-pipelines-controller"),
        _deployment(
            "tekton-dashboard", nodeSelector={"kubernetes.io/os": "linux"}, tolerations=[{"operator": "Exists"}]
        ),
        {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "feature-flags"}, "data": {"a": "1"}},
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "ds"}, "spec": {"template": {"spec": {}}}},
        None,
    ]


def test_place_sets_selector_and_tolerations_on_deployments_only() -> None:
    docs = _docs()
    before = copy.deepcopy(docs)
    out = k8s_place(docs, PLACEMENT)
    assert docs == before, "the input must not change"
    assert len(out) == 5, "empty documents are dropped"
    controller, dashboard = out[1]["spec"]["template"]["spec"], out[2]["spec"]["template"]["spec"]
    assert controller["nodeSelector"] == PLACEMENT["nodeSelector"]
    assert controller["tolerations"] == PLACEMENT["tolerations"]
    # the manifest's own selector stays, its tolerations are replaced
    assert dashboard["nodeSelector"] == {"kubernetes.io/os": "linux", "doks.digitalocean.com/node-pool": "tools"}
    assert dashboard["tolerations"] == PLACEMENT["tolerations"]
    assert out[4]["spec"]["template"]["spec"] == {}, "DaemonSets are not in the default kinds"


def test_place_reaches_cronjob_pod_template() -> None:
    cron = {"kind": "CronJob", "metadata": {"name": "c"}, "spec": {"jobTemplate": {"spec": {"template": {"spec": {}}}}}}
    out = k8s_place([cron], PLACEMENT, ["CronJob"])
    assert out[0]["spec"]["jobTemplate"]["spec"]["template"]["spec"]["nodeSelector"] == PLACEMENT["nodeSelector"]


def test_configmap_data_merges_as_strings_and_fails_on_unknown_name() -> None:
    out = k8s_configmap_data(_docs(), "feature-flags", {"b": True, "c": 3, "a": "2"})
    assert out[3]["data"] == {"a": "2", "b": "true", "c": "3"}
    with pytest.raises(AnsibleFilterError, match="no ConfigMap named renamed"):
        k8s_configmap_data(_docs(), "renamed", {"x": "y"})


def test_container_args_replace_in_place_or_append() -> None:
    out = k8s_container_args(_docs(), "tekton-dashboard", {"read-only": True, "logout-url": "https://a/b"})
    args = out[2]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args == ["--port=9097", "--read-only=true", "--logout-url=https://a/b"]
    untouched = out[1]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert untouched == ["--port=9097", "--read-only=x"]
    with pytest.raises(AnsibleFilterError, match="no Deployment named missing"):
        k8s_container_args(_docs(), "missing", {"a": "b"})


@pytest.mark.parametrize("bad", ["text", {"kind": "x"}, [{"metadata": {}}]])
def test_bad_input_is_refused(bad: object) -> None:
    with pytest.raises(AnsibleFilterError):
        k8s_place(bad, PLACEMENT)


def _dashboard_release() -> list[dict]:
    """The Dashboard release the sandbox serves (its releases, upstream object names and bindings)."""
    path = sandbox.RELEASES / "tekton-releases/dashboard/previous/v0.71.0/release-full.yaml"
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_namespaced_bindings_bind_the_tenant_roles_in_the_named_namespaces_only() -> None:
    """tektoncd/dashboard v0.71.0 scripts/installer, rbac(): with --tenant-namespaces the tenant view (and,
    read-write, the backend edit) ClusterRoles are bound by a RoleBinding in each tenant namespace, the
    backend view ClusterRole stays bound cluster-wide."""
    docs = _dashboard_release()
    original = copy.deepcopy(docs)
    out = k8s_namespaced_bindings(
        docs, ["tekton-dashboard-tenant-view", "tekton-dashboard-backend-edit"], ["lofi-ci", "shop-ci"]
    )
    assert docs == original
    cluster = [d["roleRef"]["name"] for d in out if d["kind"] == "ClusterRoleBinding"]
    assert cluster == ["tekton-dashboard-backend-view"]
    namespaced = sorted(
        (d["metadata"]["namespace"], d["roleRef"]["name"], d["roleRef"]["kind"])
        for d in out
        if d["kind"] == "RoleBinding"
    )
    assert namespaced == [
        (ns, role, "ClusterRole")
        for ns in ("lofi-ci", "shop-ci")
        for role in ("tekton-dashboard-backend-edit", "tekton-dashboard-tenant-view")
    ]
    for doc in out:
        if doc["kind"] == "RoleBinding":
            assert doc["subjects"] == [
                {"kind": "ServiceAccount", "name": "tekton-dashboard", "namespace": "tekton-pipelines"}
            ]
            assert doc["metadata"]["labels"]["app.kubernetes.io/part-of"] == "tekton-dashboard"
    assert len(out) == len(docs) - 2 + 4


def test_namespaced_bindings_with_no_namespace_drop_the_bindings_and_fail_on_a_rename() -> None:
    out = k8s_namespaced_bindings(_dashboard_release(), ["tekton-dashboard-tenant-view"], [])
    assert "tekton-dashboard-tenant-view" not in [d["metadata"]["name"] for d in out if "Binding" in d["kind"]]
    with pytest.raises(AnsibleFilterError, match="no ClusterRoleBinding"):
        k8s_namespaced_bindings(_dashboard_release(), ["renamed"], ["lofi-ci"])


def test_namespace_labels_merge_into_every_namespace_only() -> None:
    """Tekton's namespaces keep upstream's labels and get the platform's Pod Security labels."""
    ns = {"kind": "Namespace", "metadata": {"name": "tekton-pipelines", "labels": {"a": "1", "enforce": "old"}}}
    bare = {"kind": "Namespace", "metadata": {"name": "tekton-pipelines-resolvers"}}
    out = k8s_namespace_labels([ns, bare, *_docs()], {"enforce": "restricted", "flag": True})
    assert out[0]["metadata"]["labels"] == {"a": "1", "enforce": "restricted", "flag": "true"}
    assert out[1]["metadata"]["labels"] == {"enforce": "restricted", "flag": "true"}
    others = [d for d in _docs() if d is not None and d["kind"] != "Namespace"]
    assert [d for d in out[2:] if d["kind"] != "Namespace"] == others
    assert all(d["metadata"]["labels"]["enforce"] == "restricted" for d in out if d["kind"] == "Namespace")
    assert ns["metadata"]["labels"]["enforce"] == "old"  # the input is not changed
    with pytest.raises(AnsibleFilterError, match="labels must be a dict"):
        k8s_namespace_labels([ns], ["enforce"])
