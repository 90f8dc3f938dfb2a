"""The emulated Argo CD application controller, through the kubernetes Python client.

The CRDs come from the stand-in argo-cd chart; Applications are created like Argo CD users do and
their status is read back: valid ones become Synced/Healthy, invalid ones never do.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path
from typing import Any

import pytest
from kube_tools import (
    app_status,
    applications,
    argo_cd_crds,
    delete_application,
    install_crds,
    served_dynamic,
    wait_for,
)
from kubernetes import client, config, dynamic

NS = "argocd"


@pytest.fixture(scope="module")
def dyn(kubeconfig: Path) -> dynamic.DynamicClient:
    api = config.new_client_from_config(str(kubeconfig))
    install_crds(api, argo_cd_crds("applications", "appprojects"), NS)
    return served_dynamic(api, "argoproj.io/v1alpha1", "Application", timeout=15.0)


# this module's deadline for the controller's work
_wait = functools.partial(wait_for, timeout=15.0)


def _app(name: str, **spec: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "project": "default",
        "source": {"repoURL": "https://github.com/acme/gitops.git", "targetRevision": "main", "path": "apps"},
        "destination": {"server": "https://kubernetes.default.svc", "namespace": "lofi"},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}},
    }
    body.update(spec)
    return {"apiVersion": "argoproj.io/v1alpha1", "kind": "Application", "metadata": {"name": name}, "spec": body}


def _settled(dyn: dynamic.DynamicClient, name: str) -> dict[str, Any]:
    return _wait(
        lambda: app_status(dyn, name).get("reconciledAt") and app_status(dyn, name), f"{name} to be reconciled"
    )


def test_valid_application_becomes_synced_and_healthy(dyn: dynamic.DynamicClient) -> None:
    created = applications(dyn).create(body=_app("good"), namespace=NS).to_dict()
    assert not created.get("status", {}).get("sync"), "the controller must not act at once"
    status = _settled(dyn, "good")
    assert status["sync"]["status"] == "Synced"
    assert status["sync"]["revision"] == "main"
    assert status["sync"]["comparedTo"]["source"]["path"] == "apps"
    assert status["health"]["status"] == "Healthy"
    assert status["operationState"]["phase"] == "Succeeded"
    assert status["operationState"]["syncResult"]["revision"] == "main"
    assert status["sourceType"] == "Directory"
    assert not status.get("conditions")


def test_idle_application_is_not_rewritten(dyn: dynamic.DynamicClient) -> None:
    applications(dyn).create(body=_app("idle"), namespace=NS)
    first = _settled(dyn, "idle")
    version = applications(dyn).get(name="idle", namespace=NS).metadata.resourceVersion
    time.sleep(1.0)
    again = applications(dyn).get(name="idle", namespace=NS)
    assert again.metadata.resourceVersion == version
    assert again.to_dict()["status"]["reconciledAt"] == first["reconciledAt"]


def test_spec_change_moves_the_revision(dyn: dynamic.DynamicClient) -> None:
    applications(dyn).create(body=_app("moving"), namespace=NS)
    _settled(dyn, "moving")
    applications(dyn).patch(
        body={"spec": {"source": {"targetRevision": "v2"}}},
        name="moving",
        namespace=NS,
        content_type="application/merge-patch+json",
    )
    status = _wait(
        lambda: app_status(dyn, "moving")["sync"].get("revision") == "v2" and app_status(dyn, "moving"), "v2"
    )
    assert status["sync"]["status"] == "Synced"
    assert status["operationState"]["operation"]["sync"]["revision"] == "v2"


def test_compared_to_is_the_spec_compared(dyn: dynamic.DynamicClient) -> None:
    """ApplicationSpec.BuildComparedToStatus (pkg/apis/application/v1alpha1/types.go, v3.4.4) and
    CompareAppState (controller/state.go) write the compared spec's destination, ignoreDifferences and
    source into status.sync.comparedTo; a spec the controller then refuses (InvalidSpecError) is not
    compared, so comparedTo and the last operationState stay those of the previous comparison
    (processAppRefreshQueueItem, controller/appcontroller.go). Clients such as doks.gitops's
    k8s_apply_changed rely on this to tell a status of the current spec from a stale one."""
    ignore = [{"group": "apps", "kind": "Deployment", "jsonPointers": ["/spec/replicas"]}]
    applications(dyn).create(body=_app("compared", ignoreDifferences=ignore), namespace=NS)
    status = _settled(dyn, "compared")
    spec = applications(dyn).get(name="compared", namespace=NS).to_dict()["spec"]
    assert status["sync"]["comparedTo"] == {
        "source": spec["source"],
        "destination": spec["destination"],
        "ignoreDifferences": ignore,
    }
    finished = status["operationState"]["finishedAt"]
    applications(dyn).patch(
        body={"spec": {"project": "missing"}},
        name="compared",
        namespace=NS,
        content_type="application/merge-patch+json",
    )
    refused = _wait(
        lambda: app_status(dyn, "compared").get("conditions") and app_status(dyn, "compared"), "a condition"
    )
    assert [c["type"] for c in refused["conditions"]] == ["InvalidSpecError"]
    assert (refused["sync"]["status"], refused["health"]["status"]) == ("Unknown", "Unknown")
    assert refused["sync"]["comparedTo"] == status["sync"]["comparedTo"]
    assert refused["operationState"]["finishedAt"] == finished


def test_helm_chart_and_multiple_sources(dyn: dynamic.DynamicClient) -> None:
    """A chart on a repository the sandbox cannot reach: Argo CD v3.4.4's repo server fails its helm pull
    and the controller reports a ComparisonError with sync Unknown (controller/state.go CompareAppState:
    "Failed to load target state: failed to generate manifest for source <i> of <n>: ..."); the source
    type and revisions are still reported. Charts the sandbox serves are synced for real
    (test_kube_argocd_sync.py)."""
    chart = {"repoURL": "https://charts.example.com", "chart": "lofi", "targetRevision": "1.2.3"}
    applications(dyn).create(body=_app("chart", source=chart), namespace=NS)
    status = _settled(dyn, "chart")
    assert (status["sync"]["status"], status["sourceType"], status["sync"]["revision"]) == ("Unknown", "Helm", "1.2.3")
    assert [c["type"] for c in status["conditions"]] == ["ComparisonError"]
    assert "failed to generate manifest for source 1 of 1: " in status["conditions"][0]["message"]
    sources = [
        {"repoURL": "https://github.com/acme/values.git", "targetRevision": "main", "ref": "values"},
        {"repoURL": "https://charts.example.com", "chart": "lofi", "targetRevision": "1.2.3"},
    ]
    body = _app("multi", sources=sources)
    del body["spec"]["source"]
    applications(dyn).create(body=body, namespace=NS)
    status = _settled(dyn, "multi")
    assert status["sync"]["status"] == "Unknown"
    assert status["sync"]["revisions"] == ["main", "1.2.3"]
    assert "failed to generate manifest for source 2 of 2: " in status["conditions"][0]["message"]


@pytest.mark.parametrize(
    ("name", "spec", "message"),
    [
        ("no-path", {"source": {"repoURL": "https://github.com/acme/gitops.git"}}, "path (Git directory) or a chart"),
        ("no-repo", {"source": {"repoURL": "", "path": "apps"}}, "spec.source.repoURL is required"),
        (
            "bad-ns",
            {"destination": {"server": "https://kubernetes.default.svc", "namespace": "Not_Valid"}},
            "not a valid namespace name",
        ),
        ("no-dest", {"destination": {"namespace": "lofi"}}, "needs a server or a name"),
        ("no-project", {"project": "missing"}, "project missing which does not exist"),
    ],
)
def test_invalid_application_stays_not_synced(
    dyn: dynamic.DynamicClient, name: str, spec: dict[str, Any], message: str
) -> None:
    """controller/appcontroller.go processAppRefreshQueueItem (v3.4.4): an error of refreshAppConditions
    sets sync and health Unknown and persists the status without comparing, so comparedTo keeps its zero
    value (destination and source are non-pointer structs, source.repoURL has no omitempty)."""
    applications(dyn).create(body=_app(name, **spec), namespace=NS)
    status = _settled(dyn, name)
    assert status["sync"]["status"] == "Unknown"
    assert status["health"]["status"] == "Unknown"
    assert status["sync"]["comparedTo"] == {"destination": {}, "source": {"repoURL": ""}}
    assert "operationState" not in status
    assert [c["type"] for c in status["conditions"]] == ["InvalidSpecError"]
    assert message in status["conditions"][0]["message"]


def test_project_restrictions_apply(dyn: dynamic.DynamicClient) -> None:
    projects = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="AppProject")
    projects.create(
        namespace=NS,
        body={
            "apiVersion": "argoproj.io/v1alpha1",
            "kind": "AppProject",
            "metadata": {"name": "applications"},
            "spec": {
                "sourceRepos": ["https://github.com/acme/*"],
                "destinations": [{"server": "https://kubernetes.default.svc", "namespace": "lofi*"}],
            },
        },
    )
    applications(dyn).create(body=_app("allowed", project="applications"), namespace=NS)
    assert _settled(dyn, "allowed")["sync"]["status"] == "Synced"
    other_repo = {"repoURL": "https://gitlab.com/acme/gitops.git", "path": "apps"}
    applications(dyn).create(body=_app("foreign-repo", project="applications", source=other_repo), namespace=NS)
    status = _settled(dyn, "foreign-repo")
    assert status["sync"]["status"] == "Unknown"
    assert "is not permitted in project 'applications'" in status["conditions"][0]["message"]
    dest = {"server": "https://kubernetes.default.svc", "namespace": "kube-system"}
    applications(dyn).create(body=_app("foreign-ns", project="applications", destination=dest), namespace=NS)
    assert "do not match any of the allowed destinations" in _settled(dyn, "foreign-ns")["conditions"][0]["message"]


def test_applications_in_another_namespace_only_use_projects_that_admit_it(
    dyn: dynamic.DynamicClient, kubeconfig: Path
) -> None:
    """An Application outside Argo CD's namespace may only use a project listing it in sourceNamespaces.

    Argo CD v3.4.4, docs/operator-manual/app-any-namespace.md: the controller only reconciles the
    namespaces in ``application.namespaces`` (argocd-cmd-params-cm), and "The AppProject referenced by
    the .spec.project field of the Application must have the namespace listed in its
    .spec.sourceNamespaces field"; pkg/apis/application/v1alpha1/types.go ``IsAppNamespacePermitted``
    (the control plane's namespace is always permitted) and util/argo/argo.go ``ErrProjectNotPermitted``
    give the condition's message. This is what keeps an Application written to Git from naming the
    platform project (roles/argocd README, "Projects").
    """
    api = config.new_client_from_config(str(kubeconfig))
    core = client.CoreV1Api(api)
    for namespace in ("argocd-apps", "elsewhere"):
        try:
            core.create_namespace({"metadata": {"name": namespace}})
        except client.ApiException as exc:
            assert exc.status == 409
    core.create_namespaced_config_map(
        NS, {"metadata": {"name": "argocd-cmd-params-cm"}, "data": {"application.namespaces": "argocd-apps"}}
    )
    projects = dyn.resources.get(api_version="argoproj.io/v1alpha1", kind="AppProject")
    wide = {"sourceRepos": ["*"], "destinations": [{"server": "*", "namespace": "*"}]}
    projects.create(namespace=NS, body={"metadata": {"name": "platform"}, "spec": wide})
    projects.create(
        namespace=NS, body={"metadata": {"name": "tenants"}, "spec": {**wide, "sourceNamespaces": ["argocd-apps"]}}
    )

    def settled(name: str, namespace: str) -> dict[str, Any]:
        def status() -> dict[str, Any]:
            return applications(dyn).get(name=name, namespace=namespace).to_dict().get("status") or {}

        return _wait(lambda: status().get("reconciledAt") and status(), f"{namespace}/{name} to be reconciled")

    try:
        applications(dyn).create(body=_app("tenant", project="tenants"), namespace="argocd-apps")
        assert settled("tenant", "argocd-apps")["sync"]["status"] == "Synced"
        applications(dyn).create(body=_app("escalate", project="platform"), namespace="argocd-apps")
        status = settled("escalate", "argocd-apps")
        assert status["sync"]["status"] == "Unknown"
        assert status["conditions"][0]["message"] == (
            "application 'escalate' in namespace 'argocd-apps' is not permitted to use project 'platform'"
        )
        assert status["controllerNamespace"] == NS
        # the control plane's own namespace may use any project
        applications(dyn).create(body=_app("admin", project="platform"), namespace=NS)
        assert _settled(dyn, "admin")["sync"]["status"] == "Synced"
        # a namespace Argo CD does not watch: the controller never writes a status
        applications(dyn).create(body=_app("unwatched", project="tenants"), namespace="elsewhere")
        _settled(dyn, "admin")
        time.sleep(1.5)
        assert not applications(dyn).get(name="unwatched", namespace="elsewhere").to_dict().get("status")
    finally:
        core.delete_namespaced_config_map("argocd-cmd-params-cm", NS)


def test_manual_sync_operation(dyn: dynamic.DynamicClient) -> None:
    body = _app("manual")
    del body["spec"]["syncPolicy"]
    applications(dyn).create(body=body, namespace=NS)
    status = _settled(dyn, "manual")
    assert (status["sync"]["status"], status["health"]["status"]) == ("OutOfSync", "Missing")
    applications(dyn).patch(
        body={"operation": {"initiatedBy": {"username": "admin"}, "sync": {"revision": "main"}}},
        name="manual",
        namespace=NS,
        content_type="application/merge-patch+json",
    )
    status = _wait(lambda: app_status(dyn, "manual").get("operationState") and app_status(dyn, "manual"), "the sync")
    assert status["operationState"]["phase"] == "Succeeded"
    assert status["operationState"]["operation"]["initiatedBy"] == {"username": "admin"}
    assert "operation" not in applications(dyn).get(name="manual", namespace=NS).to_dict()


def test_resources_finalizer_is_released_on_delete(dyn: dynamic.DynamicClient) -> None:
    body = _app("finalized")
    body["metadata"]["finalizers"] = ["resources-finalizer.argocd.argoproj.io"]
    applications(dyn).create(body=body, namespace=NS)
    _settled(dyn, "finalized")
    delete_application(dyn, "finalized", NS, timeout=15.0)
