"""The emulated Argo CD really syncs Helm chart Applications (sandbox/kube/argosync.py).

Through the kubernetes Python client: an Application naming a stand-in chart on the sandbox's
chart server is rendered with the real helm, its objects are applied into the destination (the
cluster itself or one registered by a cluster Secret), compared, healed and pruned; the status
carries them as Argo CD v3.4.4 writes it (controller/state.go, gitops-engine pkg/health).
"""

from __future__ import annotations

import base64
import functools
import json
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml
from kube_tools import (
    app_status,
    applications,
    argo_cd_crds,
    cluster_secret,
    delete_application,
    install_crds,
    served_dynamic,
    wait_for,
    wait_synced_healthy,
)
from kubernetes import client, config, dynamic
from kubernetes.dynamic.exceptions import NotFoundError
from sandbox_tools import TOOLS

from sandbox import client as sb

NS = "argocd"
TRACKING = "argocd.argoproj.io/tracking-id"
VALUES = {"replicas": 2, "args": ["--kubelet-insecure-tls"]}
# The APIService v1beta1.metrics.k8s.io is cluster-scoped: two Applications rendering it would fight
# over it (Argo CD's SharedResourceWarning), so the other metrics-server Applications leave it out.
UNSHARED = {**VALUES, "apiService": {"create": False}}


@pytest.fixture(scope="module")
def api(kubeconfig: Path) -> client.ApiClient:
    api_client = config.new_client_from_config(str(kubeconfig))
    install_crds(api_client, argo_cd_crds("applications", "appprojects"), NS)
    return api_client


@pytest.fixture(scope="module")
def dyn(api: client.ApiClient) -> dynamic.DynamicClient:
    return served_dynamic(api, "argoproj.io/v1alpha1", "Application", timeout=30.0)


@pytest.fixture(scope="module")
def charts(sandbox_endpoints: dict[str, Any]) -> str:
    return str(sandbox_endpoints["artifacts"]["charts"])


# this module's deadline for the controller's work (a Helm render and apply per sync)
_wait = functools.partial(wait_for, timeout=30.0)


def _app(name: str, charts: str, namespace: str, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "default",
        "source": {
            "repoURL": charts,
            "chart": "metrics-server",
            "targetRevision": "3.13.1",
            "helm": {"valuesObject": VALUES},
        },
        "destination": {"server": "https://kubernetes.default.svc", "namespace": namespace},
        "syncPolicy": {"automated": {"prune": True, "selfHeal": True}, "syncOptions": ["CreateNamespace=true"]},
    }
    spec.update(extra)
    return {
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Application",
        "metadata": {"name": name, "finalizers": ["resources-finalizer.argocd.argoproj.io"]},
        "spec": spec,
    }


def _helm_template(charts: str, ca_file: str, release: str, namespace: str) -> list[dict[str, Any]]:
    """What `helm template` renders for the same chart and values (the test's own run of helm)."""
    args = [str(TOOLS / "helm"), "template", release, "metrics-server", "--repo", charts, "--version", "3.13.1"]
    args += ["--namespace", namespace, "--ca-file", ca_file, "--include-crds", "--values", "-"]
    args += ["--api-versions", "apiregistration.k8s.io/v1", "--kube-version", "v1.31.9"]
    done = subprocess.run(args, input=yaml.safe_dump(VALUES), capture_output=True, text=True, check=True)
    return [d for d in yaml.safe_load_all(done.stdout) if d]


def _key(obj: dict[str, Any], namespace: str) -> tuple[str, str, str]:
    meta = obj["metadata"]
    scoped = obj["kind"] in {"ClusterRole", "ClusterRoleBinding", "APIService"}
    return (obj["kind"], "" if scoped else meta.get("namespace") or namespace, meta["name"])


def _live(dyn: dynamic.DynamicClient, obj: dict[str, Any], namespace: str) -> dict[str, Any] | None:
    resource = dyn.resources.search(api_version=obj["apiVersion"], kind=obj["kind"])[0]
    _, ns, name = _key(obj, namespace)
    try:
        return resource.get(name=name, namespace=ns or None).to_dict()
    except NotFoundError:
        return None


def test_chart_application_is_applied_as_helm_renders_it_and_becomes_healthy(
    dyn: dynamic.DynamicClient, charts: str, sandbox_endpoints: dict[str, Any]
) -> None:
    """Every object ``helm template`` renders exists in the destination with the tracking annotation
    of v3 (util/argo/resource_tracking.go: ``<app>:<group>/<kind>:<ns>/<name>``), status.resources
    lists them, and the app turns Healthy once the workload controllers make the Deployment ready
    (gitops-engine pkg/health health_deployment.go) and the APIService Available."""
    applications(dyn).create(body=_app("sync-ms", charts, "metrics"), namespace=NS)
    status = wait_synced_healthy(dyn, "sync-ms")
    rendered = _helm_template(charts, sandbox_endpoints["ca_file"], "sync-ms", "metrics")
    listed = {(r["kind"], r.get("namespace", ""), r["name"]) for r in status["resources"]}
    assert listed == {_key(o, "metrics") for o in rendered}
    assert all(r["status"] == "Synced" for r in status["resources"])
    for obj in rendered:
        live = _live(dyn, obj, "metrics")
        assert live is not None, obj["metadata"]["name"]
        group = obj["apiVersion"].rpartition("/")[0]
        _, ns, name = _key(obj, "metrics")
        assert live["metadata"]["annotations"][TRACKING] == f"sync-ms:{group}/{obj['kind']}:{ns or 'metrics'}/{name}"
    deployment = next(r for r in status["resources"] if r["kind"] == "Deployment")
    assert deployment["health"]["status"] == "Healthy"
    assert _live(dyn, next(o for o in rendered if o["kind"] == "Deployment"), "metrics")["spec"]["replicas"] == 2
    assert status["summary"]["images"] == ["registry.k8s.io/metrics-server/metrics-server:v0.8.1"]
    state = status["operationState"]
    assert state["phase"] == "Succeeded"
    assert {r["kind"] for r in state["syncResult"]["resources"]} == {o["kind"] for o in rendered}
    assert status["sourceType"] == "Helm"


def _heal(dyn: dynamic.DynamicClient, name: str, namespace: str) -> float:
    """Delete the Deployment; seconds until a new one exists."""
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    uid = deployments.get(name=name, namespace=namespace).metadata.uid
    deployments.delete(name=name, namespace=namespace)
    start = time.monotonic()

    def back() -> bool:
        try:
            return deployments.get(name=name, namespace=namespace).metadata.uid != uid
        except NotFoundError:
            return False

    _wait(back, "the Deployment to come back", timeout=10)
    return time.monotonic() - start


def test_self_heal_brings_a_deleted_deployment_back_within_ten_seconds(dyn: dynamic.DynamicClient) -> None:
    """automated.selfHeal: a managed object deleted in the destination is re-applied. Argo CD v3.4.4
    backs off between heals of one revision (appcontroller.go selfHealRemainingBackoff, flags
    --self-heal-backoff-timeout-seconds=2, factor 3): the first heal is immediate, the second waits
    2 s after the first finished; the count is operation.sync.autoHealAttemptsCount (types.go SyncOperation.SelfHealAttemptsCount)."""
    wait_synced_healthy(dyn, "sync-ms")
    first = _heal(dyn, "sync-ms-metrics-server", "metrics")
    assert first < 10
    state = wait_synced_healthy(dyn, "sync-ms")["operationState"]
    assert state["operation"]["sync"]["autoHealAttemptsCount"] == 1
    second = _heal(dyn, "sync-ms-metrics-server", "metrics")
    assert 1.0 <= second < 10
    state = _wait(
        lambda: (
            app_status(dyn, "sync-ms")["operationState"]["operation"]["sync"].get("autoHealAttemptsCount") == 2
            and app_status(dyn, "sync-ms")
        ),
        "the second heal to be recorded",
    )["operationState"]
    assert state["phase"] == "Succeeded"
    wait_synced_healthy(dyn, "sync-ms")


def test_prune_removes_what_the_render_no_longer_has(dyn: dynamic.DynamicClient) -> None:
    """automated.prune: the APIService dropped from the render (apiService.create=false) is deleted."""
    wait_synced_healthy(dyn, "sync-ms")
    values = {**VALUES, "apiService": {"create": False}}
    applications(dyn).patch(
        body={"spec": {"source": {"helm": {"valuesObject": values}}}},
        name="sync-ms",
        namespace=NS,
        content_type="application/merge-patch+json",
    )
    services = dyn.resources.search(api_version="apiregistration.k8s.io/v1", kind="APIService")[0]

    def gone() -> bool:
        try:
            services.get(name="v1beta1.metrics.k8s.io")
        except NotFoundError:
            return True
        return False

    _wait(gone, "the APIService to be pruned")
    status = wait_synced_healthy(dyn, "sync-ms")
    assert "APIService" not in {r["kind"] for r in status["resources"]}
    assert any(r["status"] == "Pruned" for r in status["operationState"]["syncResult"]["resources"])


def test_drift_without_self_heal_is_only_out_of_sync(dyn: dynamic.DynamicClient, charts: str) -> None:
    body = _app(
        "sync-manual", charts, "sync-manual", syncPolicy={"automated": {}, "syncOptions": ["CreateNamespace=true"]}
    )
    body["spec"]["source"]["helm"]["valuesObject"] = UNSHARED
    applications(dyn).create(body=body, namespace=NS)
    wait_synced_healthy(dyn, "sync-manual")
    services = dyn.resources.get(api_version="v1", kind="Service")
    services.delete(name="sync-manual-metrics-server", namespace="sync-manual")
    status = _wait(
        lambda: app_status(dyn, "sync-manual")["sync"]["status"] == "OutOfSync" and app_status(dyn, "sync-manual"),
        "drift",
    )
    entry = next(r for r in status["resources"] if r["kind"] == "Service")
    assert entry["status"] == "OutOfSync"
    assert entry["health"]["status"] == "Missing"
    time.sleep(2)
    with pytest.raises(NotFoundError):
        services.get(name="sync-manual-metrics-server", namespace="sync-manual")


def test_finalizer_deletes_the_managed_resources(dyn: dynamic.DynamicClient) -> None:
    """resources-finalizer.argocd.argoproj.io: the objects go before the Application does."""
    delete_application(dyn, "sync-manual", NS)
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    with pytest.raises(NotFoundError):
        deployments.get(name="sync-manual-metrics-server", namespace="sync-manual")


def test_foreign_repository_is_a_comparison_error(dyn: dynamic.DynamicClient, charts: str) -> None:
    """Only the sandbox's chart server is reachable: the repo server's helm pull fails
    (controller/state.go "Failed to load target state: ...", util/helm/client.go "error fetching chart")."""
    body = _app("sync-foreign", charts, "sync-foreign")
    body["spec"]["source"]["repoURL"] = "https://kubernetes-sigs.github.io/metrics-server"
    body["metadata"]["finalizers"] = []
    applications(dyn).create(body=body, namespace=NS)
    status = _wait(
        lambda: app_status(dyn, "sync-foreign").get("conditions") and app_status(dyn, "sync-foreign"), "a condition"
    )
    assert status["conditions"][0]["type"] == "ComparisonError"
    message = status["conditions"][0]["message"]
    assert message.startswith("Failed to load target state: failed to generate manifest for source 1 of 1: ")
    assert "error fetching chart" in message
    assert status["sync"]["status"] == "Unknown"


def test_unknown_destination_server_is_an_invalid_spec(dyn: dynamic.DynamicClient, charts: str) -> None:
    """util/argo/argo.go GetDestinationCluster + util/db/cluster.go: an unregistered server."""
    body = _app(
        "sync-nowhere", charts, "sync-nowhere", destination={"server": "https://10.0.0.1:6443", "namespace": "x"}
    )
    body["metadata"]["finalizers"] = []
    applications(dyn).create(body=body, namespace=NS)
    status = _wait(
        lambda: app_status(dyn, "sync-nowhere").get("conditions") and app_status(dyn, "sync-nowhere"), "a condition"
    )
    assert status["conditions"][0] == {
        "type": "InvalidSpecError",
        "message": 'error getting cluster by server "https://10.0.0.1:6443": rpc error: code = NotFound '
        'desc = cluster "https://10.0.0.1:6443" not found',
        "lastTransitionTime": status["conditions"][0]["lastTransitionTime"],
    }


def test_second_cluster_registered_by_a_cluster_secret(
    dyn: dynamic.DynamicClient, api: client.ApiClient, charts: str, sandbox_endpoints: dict[str, Any]
) -> None:
    """A destination by name resolves through the Secret labelled argocd.argoproj.io/secret-type=cluster
    (util/db/cluster.go); its objects land in that virtual cluster, not in the hub."""
    do = sandbox_endpoints["digitalocean"]
    pool = {"name": "base", "size": "s-2vcpu-4gb", "count": 1}
    body = {"name": "spoke-argo", "region": "fra1", "version": "latest", "node_pools": [pool]}
    url = f"{do['url']}/v2/kubernetes/clusters"
    cid = sb.call(sandbox_endpoints, url, token=do["token"], data=body, method="POST")["kubernetes_cluster"]["id"]

    def kubeconfig() -> dict[str, Any] | None:
        request = urllib.request.Request(f"{url}/{cid}/kubeconfig", headers={"Authorization": f"Bearer {do['token']}"})
        context = ssl.create_default_context(cafile=sandbox_endpoints["ca_file"])
        try:
            with urllib.request.urlopen(request, context=context, timeout=10) as resp:
                return yaml.safe_load(resp.read())
        except urllib.error.HTTPError:
            return None

    doc = _wait(kubeconfig, "the spoke's kubeconfig")
    server = doc["clusters"][0]["cluster"]["server"]
    token = doc["users"][0]["user"]["token"]
    secret = cluster_secret(
        "spoke", server, {"bearerToken": token, "tlsClientConfig": {"caData": base64.b64encode(b"x").decode()}}
    )
    client.CoreV1Api(api).create_namespaced_secret(NS, secret)
    app = _app("sync-remote", charts, "metrics", destination={"name": "spoke", "namespace": "metrics"})
    applications(dyn).create(body=app, namespace=NS)
    status = wait_synced_healthy(dyn, "sync-remote")
    assert status["resources"]
    spoke = config.new_client_from_config_dict(doc)
    ca = sandbox_endpoints["ca_file"]
    spoke.configuration.ssl_ca_cert = ca
    names = [d.metadata.name for d in client.AppsV1Api(spoke).list_namespaced_deployment("metrics").items]
    assert names == ["sync-remote-metrics-server"]
    hub = [d.metadata.name for d in client.AppsV1Api(api).list_namespaced_deployment("metrics").items]
    assert "sync-remote-metrics-server" not in hub


def test_applications_pass_the_application_schema(
    sandbox_endpoints: dict[str, Any], dyn: dynamic.DynamicClient
) -> None:
    """The fidelity gate judges every stored object again, Applications against the real CRD schema."""
    del dyn
    problems = sb.admin(sandbox_endpoints, "kubernetes", "GET", "audit")["problems"]
    assert [p for p in problems if p["kind"] in {"Application", "Deployment", "Service", "APIService"}] == [], (
        json.dumps(problems)
    )


def test_helm_post_install_hook_job_runs_after_the_sync_and_is_deleted(dyn: dynamic.DynamicClient, charts: str) -> None:
    """Argo CD maps Helm hooks (docs/user-guide/helm.md "Helm Hooks"): ``post-install`` runs as a
    PostSync hook once the resources are healthy; ``hook-delete-policy: hook-succeeded`` deletes the
    Job when it completes. Hooks are not listed in status.resources (the cert-manager stand-in's
    startupapicheck Job)."""
    source = {"repoURL": charts, "chart": "cert-manager", "targetRevision": "v1.21.1", "helm": {"valuesObject": {}}}
    body = _app("sync-cm", charts, "cert-manager", source=source)
    body["spec"]["source"]["helm"]["valuesObject"] = {"crds": {"enabled": True}}
    applications(dyn).create(body=body, namespace=NS)
    status = wait_synced_healthy(dyn, "sync-cm")
    state = _wait(
        lambda: app_status(dyn, "sync-cm")["operationState"]["phase"] == "Succeeded" and app_status(dyn, "sync-cm"),
        "the sync operation to finish",
    )["operationState"]
    hooks = [r for r in state["syncResult"]["resources"] if r.get("hookType")]
    assert [(r["kind"], r["hookType"]) for r in hooks if r["kind"] == "Job"] == [("Job", "PostSync")]
    job_name = next(r["name"] for r in hooks if r["kind"] == "Job")
    assert job_name not in {r["name"] for r in status["resources"]}
    jobs = dyn.resources.get(api_version="batch/v1", kind="Job")
    with pytest.raises(NotFoundError):
        jobs.get(name=job_name, namespace="cert-manager")


def _index_fetches(endpoints: dict[str, Any], since: int) -> int:
    """helm template --repo reads the repository index once per run: the chart server's log counts renders."""
    return sum(1 for r in sb.requests(endpoints, "artifacts", since) if r["path"] == "/charts/index.yaml")


def test_render_once_per_change_and_idle_status_is_not_rewritten(
    dyn: dynamic.DynamicClient, charts: str, sandbox_endpoints: dict[str, Any]
) -> None:
    """helm runs once for a new spec; healing a changed object (replicas edited by hand) re-applies the
    cached render (no helm run); an idle Application's status is not rewritten (no watch events)."""
    mark = sb.last_seq(sandbox_endpoints, "artifacts")
    body = _app("sync-once", charts, "sync-once")
    body["spec"]["source"]["helm"]["valuesObject"] = {**UNSHARED, "replicas": 3}
    applications(dyn).create(body=body, namespace=NS)
    wait_synced_healthy(dyn, "sync-once")
    assert _index_fetches(sandbox_endpoints, mark) == 1
    version = applications(dyn).get(name="sync-once", namespace=NS).metadata.resourceVersion
    time.sleep(1.5)
    assert applications(dyn).get(name="sync-once", namespace=NS).metadata.resourceVersion == version
    mark = sb.last_seq(sandbox_endpoints, "artifacts")
    deployments = dyn.resources.get(api_version="apps/v1", kind="Deployment")
    deployments.patch(
        body={"spec": {"replicas": 5}},
        name="sync-once-metrics-server",
        namespace="sync-once",
        content_type="application/merge-patch+json",
    )
    _wait(
        lambda: deployments.get(name="sync-once-metrics-server", namespace="sync-once").spec.replicas == 3,
        "the changed Deployment to be healed",
        timeout=10,
    )
    wait_synced_healthy(dyn, "sync-once")
    assert _index_fetches(sandbox_endpoints, mark) == 0


def test_sync_waves_apply_a_later_wave_after_the_earlier_one(dyn: dynamic.DynamicClient, charts: str) -> None:
    """gitops-engine pkg/sync/sync_tasks.go: tasks run by phase, then argocd.argoproj.io/sync-wave, then
    kind; a wave starts once the previous one is healthy. The APIService in wave 1 comes after the
    Deployment and Service of wave 0 (its syncResult entry is the last one)."""
    body = _app("sync-waves", charts, "sync-waves")
    values = {**VALUES, "apiService": {"create": True, "annotations": {"argocd.argoproj.io/sync-wave": "1"}}}
    body["spec"]["source"]["helm"]["valuesObject"] = values
    applications(dyn).create(body=body, namespace=NS)
    status = wait_synced_healthy(dyn, "sync-waves")
    applied = [r["kind"] for r in status["operationState"]["syncResult"]["resources"]]
    assert applied[-1] == "APIService"
    assert applied.index("ServiceAccount") < applied.index("ClusterRole") < applied.index("Service")
    assert applied.index("Service") < applied.index("Deployment")
    entry = next(r for r in status["resources"] if r["kind"] == "APIService")
    assert entry["syncWave"] == 1


def test_manual_sync_operation_applies_without_automation(dyn: dynamic.DynamicClient, charts: str) -> None:
    """Without syncPolicy.automated nothing is applied (OutOfSync, Missing) until an operation asks
    for a sync, as `argocd app sync` does; the operation is then cleared."""
    body = _app("sync-manual-op", charts, "sync-manual-op", syncPolicy={"syncOptions": ["CreateNamespace=true"]})
    body["spec"]["source"]["helm"]["valuesObject"] = UNSHARED
    body["metadata"]["finalizers"] = []
    applications(dyn).create(body=body, namespace=NS)
    status = _wait(
        lambda: app_status(dyn, "sync-manual-op").get("sync") and app_status(dyn, "sync-manual-op"), "status"
    )
    assert (status["sync"]["status"], status["health"]["status"]) == ("OutOfSync", "Missing")
    assert "operationState" not in status
    applications(dyn).patch(
        body={"operation": {"initiatedBy": {"username": "admin"}, "sync": {"revision": "3.13.1"}}},
        name="sync-manual-op",
        namespace=NS,
        content_type="application/merge-patch+json",
    )
    status = wait_synced_healthy(dyn, "sync-manual-op")
    assert status["operationState"]["operation"]["initiatedBy"] == {"username": "admin"}
    assert "operation" not in applications(dyn).get(name="sync-manual-op", namespace=NS).to_dict()


@pytest.mark.parametrize(
    ("name", "server_of", "token", "message"),
    [
        ("sync-gone", lambda url: f"{url}/clusters/no-such-cluster", "any", "dial tcp: lookup 127.0.0.1"),
        ("sync-badtoken", lambda url: url, "not-a-token", "the server has asked for the client to provide credentials"),
    ],
)
def test_registered_cluster_that_cannot_be_reached_is_a_comparison_error(
    dyn: dynamic.DynamicClient,
    api: client.ApiClient,
    charts: str,
    sandbox_endpoints: dict[str, Any],
    name: str,
    server_of: Callable[[str], str],
    token: str,
    message: str,
) -> None:
    """controller/state.go: the live state of a registered cluster cannot be loaded ("Failed to load live
    state: failed to get cluster info for ..."), a ComparisonError, not an InvalidSpecError."""
    server = server_of(sandbox_endpoints["kubernetes"]["url"])
    secret = cluster_secret(name, server, {"bearerToken": token})
    client.CoreV1Api(api).create_namespaced_secret(NS, secret)
    body = _app(name, charts, "x", destination={"name": name, "namespace": "x"})
    body["metadata"]["finalizers"] = []
    applications(dyn).create(body=body, namespace=NS)
    status = _wait(lambda: app_status(dyn, name).get("conditions") and app_status(dyn, name), "a condition")
    condition = status["conditions"][0]
    assert condition["type"] == "ComparisonError"
    assert condition["message"].startswith(f'Failed to load live state: failed to get cluster info for "{server}": ')
    assert message in condition["message"]
