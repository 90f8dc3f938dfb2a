"""The pure rules of the emulated Argo CD sync (sandbox/kube/argosync.py, argohealth.py), without HTTP.

Each case cites the Argo CD v3.4.4 source it follows (argoproj/argo-cd, gitops-engine vendored in it).
"""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.kube import argohealth, argosync
from sandbox.kube.cluster import Cluster, Op


@pytest.fixture
def dest() -> Cluster:
    cluster = Cluster("t", {}, lambda: None)
    cluster.create(cluster.rtype("/namespaces"), "", {"metadata": {"name": "default"}}, Op(manager="test"))
    return cluster


def _obj(api_version: str, kind: str, name: str, annotations: dict[str, str] | None = None) -> dict[str, Any]:
    meta: dict[str, Any] = {"name": name}
    if annotations:
        meta["annotations"] = annotations
    return {"apiVersion": api_version, "kind": kind, "metadata": meta}


def _app(name: str = "web", namespace: str = "argocd") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": "u"},
        "spec": {"destination": {"server": argosync.IN_CLUSTER, "namespace": "apps"}},
    }


def test_helm_hooks_map_to_argo_phases_and_tests_are_skipped(dest: Cluster) -> None:
    """docs/user-guide/helm.md "Helm Hooks": pre-install/pre-upgrade → PreSync, post-install/post-upgrade
    → PostSync, test hooks are ignored; the default delete policy is BeforeHookCreation."""
    objects = [
        _obj("batch/v1", "Job", "pre", {"helm.sh/hook": "pre-install,pre-upgrade"}),
        _obj(
            "batch/v1", "Job", "post", {"helm.sh/hook": "post-upgrade", "helm.sh/hook-delete-policy": "hook-succeeded"}
        ),
        _obj("v1", "Pod", "test", {"helm.sh/hook": "test"}),
        _obj("v1", "ConfigMap", "plain"),
    ]
    found = {i.key[3]: i for i in argosync.items(_app(), objects, dest, "argocd")}
    assert set(found) == {"pre", "post", "plain"}
    assert (found["pre"].phase, found["pre"].hook, found["pre"].delete_policies) == (
        "PreSync",
        True,
        ("BeforeHookCreation",),
    )
    assert (found["post"].phase, found["post"].delete_policies) == ("PostSync", ("HookSucceeded",))
    assert (found["plain"].phase, found["plain"].hook) == ("Sync", False)
    assert argosync.TRACKING not in (found["pre"].obj["metadata"].get("annotations") or {})


def test_order_is_phase_wave_kind_name(dest: Cluster) -> None:
    """gitops-engine pkg/sync/sync_tasks.go: phase, then sync-wave, then Helm's kind order (Namespace and
    CRDs before the workloads that need them), then name."""
    objects = [
        _obj("apps/v1", "Deployment", "a"),
        _obj("v1", "ConfigMap", "late", {argosync.WAVE: "2"}),
        _obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "x.example.com"),
        _obj("v1", "Namespace", "apps"),
        _obj("v1", "Service", "a"),
        _obj("batch/v1", "Job", "post", {"helm.sh/hook": "post-install"}),
        _obj("v1", "ServiceAccount", "early", {argosync.WAVE: "-1"}),
    ]
    order = [(i.key[1], i.key[3]) for i in argosync.items(_app(), objects, dest, "argocd")]
    assert order == [
        ("ServiceAccount", "early"),
        ("Namespace", "apps"),
        ("CustomResourceDefinition", "x.example.com"),
        ("Service", "a"),
        ("Deployment", "a"),
        ("ConfigMap", "late"),
        ("Job", "post"),
    ]


def test_tracking_id_and_default_namespace(dest: Cluster) -> None:
    """util/argo/resource_tracking.go: ``<app>:<group>/<kind>:<namespace>/<name>``, the destination
    namespace standing in for a cluster-scoped object's; an Application outside the control plane's
    namespace is named ``<namespace>_<name>`` (Application.InstanceName)."""
    objects = [_obj("apps/v1", "Deployment", "web"), _obj("rbac.authorization.k8s.io/v1", "ClusterRole", "reader")]
    found = argosync.items(_app("web", "team"), objects, dest, "argocd")
    ids = {i.key[1]: i.obj["metadata"]["annotations"][argosync.TRACKING] for i in found}
    assert ids == {
        "Deployment": "team_web:apps/Deployment:apps/web",
        "ClusterRole": "team_web:rbac.authorization.k8s.io/ClusterRole:apps/reader",
    }
    deployment = next(i for i in found if i.key[1] == "Deployment")
    assert deployment.obj["metadata"]["namespace"] == "apps"
    role = next(i for i in found if i.key[1] == "ClusterRole")
    assert "namespace" not in role.obj["metadata"]


@pytest.mark.parametrize(
    ("desired", "live", "same"),
    [
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 2, "revisionHistoryLimit": 10}}, True),
        ({"spec": {"replicas": 2}}, {"spec": {"replicas": 3}}, False),
        ({"spec": {"args": []}}, {"spec": {}}, True),
        ({"spec": {"ports": [{"port": 80}]}}, {"spec": {"ports": [{"port": 80}, {"port": 81}]}}, False),
        ({"data": {"a": "1"}}, {"data": {"a": 1}}, False),
    ],
)
def test_compare_ignores_server_defaults_but_not_changes(
    desired: dict[str, Any], live: dict[str, Any], same: bool
) -> None:
    meta = {"metadata": {"name": "x"}}
    assert argosync.matches({**desired, **meta}, {**live, **meta}) is same


@pytest.mark.parametrize(
    ("obj", "status", "message"),
    [
        (
            {
                "apiVersion": "apps/v1",
                "kind": "Deployment",
                "metadata": {"name": "d", "generation": 2},
                "spec": {"replicas": 2},
                "status": {"observedGeneration": 2, "replicas": 2, "updatedReplicas": 2, "availableReplicas": 1},
            },
            "Progressing",
            "Waiting for rollout to finish: 1 of 2 updated replicas are available...",
        ),
        (
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s"}, "spec": {"type": "LoadBalancer"}},
            "Progressing",
            "",
        ),
        (
            {
                "apiVersion": "v1",
                "kind": "PersistentVolumeClaim",
                "metadata": {"name": "c"},
                "status": {"phase": "Bound"},
            },
            "Healthy",
            "",
        ),
        (
            {
                "apiVersion": "batch/v1",
                "kind": "Job",
                "metadata": {"name": "j"},
                "status": {"conditions": [{"type": "Failed", "status": "True", "message": "BackoffLimitExceeded"}]},
            },
            "Degraded",
            "BackoffLimitExceeded",
        ),
        (
            {"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService", "metadata": {"name": "a"}},
            "Progressing",
            "Waiting to be processed",
        ),
    ],
)
def test_health_follows_gitops_engine(obj: dict[str, Any], status: str, message: str) -> None:
    """gitops-engine pkg/health (health_deployment.go, health_service.go, health_pvc.go, health_job.go,
    health_apiservice.go)."""
    assert argohealth.resource_health(obj) == (
        {"status": status, "message": message} if message else {"status": status}
    )


def test_kinds_without_a_check_have_no_health() -> None:
    """health.go GetHealthCheckFunc returns nil for them: no health, not counted in the app's."""
    assert argohealth.resource_health({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}}) is None


def test_self_heal_backoff_steps() -> None:
    """--self-heal-backoff-timeout-seconds 2, --self-heal-backoff-factor 3, cap 300 (v3.4.4 defaults)."""
    assert [argosync._heal_delay(n) for n in range(7)] == [0.0, 2.0, 6.0, 18.0, 54.0, 162.0, 300.0]
