"""Tekton delivered by Argo CD from the platform GitOps repository, to the hub and to a spoke (issue 20:
"each platform component ... and the Tekton release manifests become Argo CD Applications";
"deleting a Deployment on a spoke is repaired by Argo CD alone").

Tekton ships plain release manifests, no chart, so with ``gitops_delivery: argocd`` the tekton role
writes the objects it renders into the platform GitOps repository (the sandbox git server's
``doks-gitops-platform.git``, which takes pushes with its token like a Git host over HTTPS) under
``clusters/<host>/tekton/<component>/``, and each component becomes an Application whose source is
that directory at the commit that last changed it (Argo CD's directory source, ``directory.recurse``,
docs/user-guide/directory.md). The hub declares its own Applications; the spoke switches each
component on in its registration, whose annotations carry the repository, path and commit, and the
hub's ApplicationSet ``platform-tekton-<component>`` generates ``<spoke>-tekton-<component>``
(cluster generator, Go templates). The sandbox's Argo CD clones the repository with the git CLI,
renders the directory and applies it server-side into the destination cluster (sandbox/kube/argosync.py,
gitsource.py). Chains, ServiceMonitors and the Dashboard's Ingress are off: they need other roles'
CRDs and have tests of their own.
"""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sandbox import client, gitserver
from tests.emulated.argocd_helpers import NAMESPACE, fake_application_controller, install_argocd_objects
from tests.emulated.doks_helpers import DoSandbox
from tests.emulated.test_spoke_teardown import HUB, inventory, spoke_cluster
from tests.unit.role_render import run_local_play

pytestmark = pytest.mark.sandbox

SPOKE = "spoke-1"
COMPONENTS = ["pipeline", "triggers", "dashboard"]
PLAY = """
- name: Install Tekton as the tekton role does
  hosts: all
  gather_facts: false
  roles:
    - role: doks.gitops.tekton
"""


def settings(do: DoSandbox, cache: Path) -> dict[str, Any]:
    git = do.endpoints["git"]
    return {
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        "gitops_helm_repo_mirror": do.endpoints["artifacts"]["charts"],
        "gitops_delivery": "argocd",
        "gitops_hub": HUB,
        "gitops_delivery_wait_timeout": 240,
        "gitops_platform_repo_url": git["platform"],
        "gitops_platform_repo_token": git["platform_token"],
        "tekton_release_base_url": do.endpoints["artifacts"]["releases"] + "/tekton-releases",
        "tekton_release_sha256": do.endpoints["artifacts"]["release_sha256"]["tekton-releases"],
        "tekton_cache_dir": str(cache),
        "tekton_chains_enabled": False,
        "tekton_service_monitors_enabled": False,
        "tekton_dashboard_ingress_enabled": False,
        "kyverno_verify_images_enabled": False,
    }


def applications(do: DoSandbox) -> dict[str, dict[str, Any]]:
    items = k8s_client.CustomObjectsApi(do.kube_api()).list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", NAMESPACE, "applications"
    )["items"]
    return {a["metadata"]["name"]: a for a in items}


def repository_files(do: DoSandbox, tmp_path: Path) -> list[str]:
    env = gitserver.git_env(HOME=str(tmp_path), GIT_SSL_CAINFO=do.endpoints["ca_file"])
    clone = tmp_path / "platform-clone"
    subprocess.run(["git", "clone", "-q", do.endpoints["git"]["platform"], str(clone)], env=env, check=True)
    listed = subprocess.run(["git", "ls-files"], env=env, cwd=clone, capture_output=True, text=True, check=True)
    return listed.stdout.split()


def test_tekton_reaches_hub_and_spoke_as_applications_of_the_platform_repository(
    do: DoSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    hub_api = do.kube_api()
    install_argocd_objects(hub_api, ("applications", "appprojects", "applicationsets"))
    fake_application_controller(hub_api)
    kubeconfigs = {HUB: do.endpoints["kubernetes"]["kubeconfig"], SPOKE: spoke_cluster(do, capsys, SPOKE, tmp_path)}
    hosts = inventory(tmp_path, kubeconfigs, hosts=(HUB, SPOKE))
    extra = settings(do, tmp_path / "cache")
    token = extra["gitops_platform_repo_token"]

    recap, out = run_local_play(tmp_path, PLAY, extra, timeout=900, inventory=hosts, host=SPOKE, never_printed=[token])
    assert recap["failed"] == 0, out

    apps = applications(do)
    expected = {f"tekton-{c}" for c in COMPONENTS} | {f"{SPOKE}-tekton-{c}" for c in COMPONENTS}
    assert expected <= set(apps), sorted(apps)
    files = repository_files(do, tmp_path)
    for name in sorted(expected):
        app = apps[name]
        cluster = SPOKE if name.startswith(SPOKE) else HUB
        source = app["spec"]["source"]
        assert source["repoURL"] == do.endpoints["git"]["platform"]
        assert source["path"] == f"clusters/{cluster}/tekton/{name.rsplit('-', 1)[-1]}"
        assert any(f.startswith(source["path"] + "/") for f in files), (source["path"], files)
        status = app.get("status") or {}
        assert (status["sync"]["status"], status["health"]["status"]) == ("Synced", "Healthy"), (name, status)
        assert status["sync"]["revision"] == source["targetRevision"]
        assert status["resources"], name

    # what the spoke's Applications list really exists in the spoke, as the role rendered it: the
    # controllers on the tools pool
    spoke_api = k8s_config.new_client_from_config(kubeconfigs[SPOKE])
    apps_v1 = k8s_client.AppsV1Api(spoke_api)
    for resource in apps[f"{SPOKE}-tekton-pipeline"]["status"]["resources"]:
        if resource["kind"] == "Deployment":
            live = apps_v1.read_namespaced_deployment(resource["name"], resource["namespace"])
            assert live.spec.template.spec.node_selector == {"doks.digitalocean.com/node-pool": "tools"}

    # a second run writes nothing: no commit, no push, no Kubernetes write
    marks = {name: client.last_seq(do.endpoints, name) for name in ("git", "kubernetes")}
    recap, out = run_local_play(tmp_path, PLAY, extra, timeout=600, inventory=hosts, host=SPOKE)
    assert recap["changed"] == 0, out
    pushes = [e for e in client.requests(do.endpoints, "git", marks["git"]) if "receive-pack" in e["path"] + e["query"]]
    assert pushes == []
    writes = [
        (e["method"], e["path"])
        for e in client.requests(do.endpoints, "kubernetes", marks["kubernetes"])
        if e["method"] not in ("GET", "HEAD")
    ]
    assert writes == [], writes

    # drift on the spoke is repaired by the hub's Argo CD with no run (self-heal)
    apps_v1.delete_namespaced_deployment("tekton-pipelines-controller", "tekton-pipelines")
    started = time.monotonic()
    while time.monotonic() - started < 30:
        try:
            apps_v1.read_namespaced_deployment("tekton-pipelines-controller", "tekton-pipelines")
            break
        except k8s_client.ApiException as exc:
            assert exc.status == 404
            time.sleep(0.5)
    else:
        pytest.fail("the deleted Deployment was not put back within 30 s")
