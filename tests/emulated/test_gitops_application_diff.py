"""A component delivered as an Argo CD Application (``gitops_delivery: argocd``): the preview of an
inventory change, then the change itself, on the sandbox's Kubernetes API and its emulated Argo CD.

Issue 20, "Done when": "``--check --diff`` shows a readable diff of an Application's values when an
inventory value changes; the real run applies exactly that." The play runs the real entry point as
``roles/observability/tasks/metrics_server.yml`` calls it (``doks.gitops.gitops``
``tasks_from: helm_release`` → ``application.yml`` → one ``doks.gitops.k8s_apply_changed`` with the
values in ``spec.source.helm.valuesObject``), for metrics-server, whose stand-in chart the
sandbox's artifact server serves at the pinned version. The inventory value that changes is
``observability_metrics_server_args``, which lands in the values as ``args``.

What is skipped, and why: Argo CD's own install. ``application.yml`` includes
``doks.gitops.argocd`` ``tasks_from: bootstrap`` unless ``gitops_delivery_ready`` is true; on a
cluster where Argo CD runs, bootstrap only reads the application controller's StatefulSet and sets
``argocd_running``, which ``application.yml`` copies into ``gitops_delivery_ready``. Installing the
argo-cd chart with Helm to get there would cost more than the rest of the test, and the sandbox
already runs Argo CD's application controller (``sandbox.kube.argocd``, ``argosync``: it renders
the chart with ``helm`` and applies it) for every virtual cluster that has the Application CRD.
So the test gives the cluster what the argocd role leaves behind that an Application needs (the
Application and AppProject CRDs, the ``argocd`` namespace, the ``platform`` AppProject of
``argocd_platform_project``) and passes ``gitops_delivery_ready: true``, the fact bootstrap would
have set.

A write is any request other than a GET that is not a server-side dry run: in check mode
k8s_apply_changed sends its PATCH with ``dryRun=All``, which the API server evaluates "through the
typical request stages ... up until persisting objects to storage" (Kubernetes docs, API concepts,
Dry-run), the same classification as ``test_k8s_apply_changed.py``. The real run must send exactly
one write, the PATCH of the Application, then poll it until Argo CD delivered the new values.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client

from sandbox import client
from tests.emulated.argocd_helpers import DELIVER_METRICS_SERVER, install_argocd_objects
from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import run_local_play

pytestmark = pytest.mark.sandbox

ARGO = ("argoproj.io", "v1alpha1", "argocd", "applications", "metrics-server")
APP_PATH = "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications"
NAMESPACE = "kube-system"  # observability_metrics_server_namespace
OLD = ["--kubelet-insecure-tls", "--kubelet-request-timeout=10s"]
NEW = ["--kubelet-insecure-tls", "--kubelet-request-timeout=20s"]


def deliver(do: DoSandbox, tmp_path: Path, args: list[str], *flags: str) -> tuple[dict[str, int], str]:
    extra: dict[str, Any] = {
        "gitops_kubeconfig": do.endpoints["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        "gitops_helm_repo_mirror": do.endpoints["artifacts"]["charts"],
        "gitops_delivery": "argocd",
        "gitops_delivery_ready": True,  # what doks.gitops.argocd bootstrap sets where Argo CD runs
        "gitops_delivery_wait_timeout": 120,
        "observability_metrics_server_args": args,
    }
    return run_local_play(tmp_path, DELIVER_METRICS_SERVER, extra, *flags, timeout=240)


@pytest.fixture
def argocd(do: DoSandbox) -> None:
    """What the argocd role leaves on a cluster for an Application of the platform: CRDs, namespace, project."""
    install_argocd_objects(do.kube_api())


def live_application(do: DoSandbox) -> dict[str, Any]:
    return dict(k8s_client.CustomObjectsApi(do.kube_api()).get_namespaced_custom_object(*ARGO))


def deployed_args(do: DoSandbox) -> list[str]:
    deployment = k8s_client.AppsV1Api(do.kube_api()).read_namespaced_deployment("metrics-server", NAMESPACE)
    return list(deployment.spec.template.spec.containers[0].args)


@pytest.mark.usefixtures("argocd")
def test_preview_shows_the_values_diff_and_the_run_applies_exactly_that(do: DoSandbox, tmp_path: Path) -> None:
    kube = do.endpoints
    # 1. converge once: the Application is created and Argo CD delivers it
    assert deliver(do, tmp_path, OLD)[0]["changed"] == 1
    before = live_application(do)
    status = before["status"]
    assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy")
    assert before["spec"]["source"]["helm"]["valuesObject"]["args"] == OLD
    assert deployed_args(do)[-2:] == OLD

    # 2. the preview of an inventory change: a readable diff of exactly that value, nothing written
    mark = client.last_seq(kube, "kubernetes")
    recap, out = deliver(do, tmp_path, NEW, "--check", "--diff")
    assert recap["changed"] == 1, out
    task = out.split("TASK [doks.gitops.gitops : Declare the Argo CD Application", 1)[1]
    task = re.split(r"\n(?:TASK|DELIVER_METRICS_SERVER RECAP) ", task, maxsplit=1)[0]
    assert "changed: [local-1]" in task, task
    lines = [line for line in task.splitlines() if re.match(r"^[-+](?![-+]{2} )", line)]
    assert len(lines) == 2, task
    assert re.fullmatch(r"-\s+- --kubelet-request-timeout=10s", lines[0]), task
    assert re.fullmatch(r"\+\s+- --kubelet-request-timeout=20s", lines[1]), task
    log = client.requests(kube, "kubernetes", since=mark)
    sent = [(e["method"], e["path"]) for e in log if e["method"] != "GET"]
    assert sent == [("PATCH", f"{APP_PATH}/metrics-server")], sent
    writes = [e for e in log if e["method"] != "GET" and "dryRun=All" not in e["query"]]
    assert writes == [], writes
    after_check = live_application(do)
    assert after_check["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after_check["spec"] == before["spec"]
    assert deployed_args(do)[-2:] == OLD

    # 3. the real run applies exactly the previewed change, waits until Argo CD synced it, and a third
    # run changes nothing
    mark = client.last_seq(kube, "kubernetes")
    assert deliver(do, tmp_path, NEW)[0]["changed"] == 1
    log = client.requests(kube, "kubernetes", since=mark)
    sent = [(e["method"], e["path"], e["query"]) for e in log if e["method"] != "GET"]
    assert sent == [("PATCH", f"{APP_PATH}/metrics-server", "")], sent
    patched = next(i for i, e in enumerate(log) if e["method"] == "PATCH")
    polls = [e for e in log[patched:] if (e["method"], e["path"]) == ("GET", f"{APP_PATH}/metrics-server")]
    assert polls, "the run did not wait for Argo CD to deliver the new values"
    applied = live_application(do)
    expected = before["spec"]
    expected["source"]["helm"]["valuesObject"]["args"] = NEW
    assert applied["spec"] == expected
    assert applied["status"]["sync"]["comparedTo"]["source"] == applied["spec"]["source"]
    assert (applied["status"]["sync"]["status"], applied["status"]["health"]["status"]) == ("Synced", "Healthy")
    assert deployed_args(do)[-2:] == NEW
    assert deliver(do, tmp_path, NEW)[0]["changed"] == 0
