"""Tearing down a spoke leaves its hub and the other spokes as they were (issue 20: "Teardown removes
a spoke's Applications ... before the cluster, then unregisters it"; a teardown never touches another
cluster's things).

``playbooks/teardown.yml`` on a spoke (``gitops_hub`` names another host) deletes its Argo CD cluster
Secret on the hub and waits until the hub's ApplicationSets deleted the Applications generated for
it. Argo CD's ApplicationSet controller deletes the Applications a cluster generator no longer
generates when the cluster Secret is gone (argoproj/argo-cd v3.4.4 ``applicationset/generators/
cluster.go``: the generator lists the cluster Secrets; ``controllers/applicationset_controller.go``
``deleteInCluster`` removes owned Applications that are not generated any more, under the default
``sync`` policy). The sandbox emulates that controller (``sandbox/kube/applicationset.py``).

Each spoke is a DOKS cluster of the DigitalOcean emulator (a virtual cluster of its own). The hub
and both spokes get one component, metrics-server, as the observability role delivers it with
``gitops_delivery: argocd``: the hub (whose Argo CD runs: its application controller's StatefulSet
exists, as in ``test_hub_new_spoke.py``) writes its ApplicationSets and declares its own
Application; each spoke registers on the hub, switches the component on in its registration and
waits until the hub's emulated Argo CD delivered it into the spoke. Auth0 and the DigitalOcean
cluster's deletion are left out (``auth0_apps_enabled``/``doks_cluster_enabled`` false): their
teardown has tests of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.modules import doks_cluster
from kubernetes import client as k8s_client

from sandbox import client
from tests.emulated.argocd_helpers import (
    DELIVER_METRICS_SERVER,
    NAMESPACE,
    fake_application_controller,
    install_argocd_objects,
)
from tests.emulated.doks_helpers import DoSandbox, run_module
from tests.unit.role_render import ROOT, run_local_play

pytestmark = pytest.mark.sandbox

HUB = "hub-1"
KEPT, GONE = "spoke-1", "spoke-2"


def spoke_cluster(do: DoSandbox, capsys: pytest.CaptureFixture[str], name: str, tmp_path: Path) -> str:
    """A DOKS cluster of the emulator for ``name``; the path of its kubeconfig."""
    path = tmp_path / f"{name}.kubeconfig"
    # metrics-server runs on the tools pool (gitops_placement_tools), as on every cluster of ours
    tools_taint = {"key": "tools", "value": "true", "effect": "NoSchedule"}
    pools = [
        {"name": "base", "size": "s-2vcpu-4gb", "count": 1},
        {"name": "tools", "size": "s-2vcpu-4gb", "count": 1, "taints": [tools_taint]},
    ]
    args = do.conn(name=name, region="fra1", version="latest", node_pools=pools, poll_interval=0.1)
    result = run_module(doks_cluster.main, capsys, {**args, "kubeconfig_path": str(path)})
    assert not result.get("failed"), result
    return str(path)


def inventory(tmp_path: Path, kubeconfigs: dict[str, str], hosts: tuple[str, ...] = (HUB, KEPT, GONE)) -> Path:
    """Group clusters of ``hosts``, each with its kubeconfig and its own domain (preflight: a domain is one cluster's)."""
    path = tmp_path / "hosts.yml"
    hosts_vars = {h: {"gitops_kubeconfig": kubeconfigs[h], "gitops_domain": f"{h}.example.com"} for h in hosts}
    path.write_text(yaml.safe_dump({"all": {"children": {"clusters": {"hosts": hosts_vars}}}}, sort_keys=False))
    return path


def settings(do: DoSandbox) -> dict[str, Any]:
    return {
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        "gitops_helm_repo_mirror": do.endpoints["artifacts"]["charts"],
        "gitops_delivery": "argocd",
        "gitops_hub": HUB,
        "gitops_delivery_wait_timeout": 180,
    }


def applications(do: DoSandbox) -> dict[str, list[str]]:
    """The Applications on the hub by the cluster they deliver to (label doks.gitops/cluster)."""
    items = k8s_client.CustomObjectsApi(do.kube_api()).list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", NAMESPACE, "applications"
    )["items"]
    found: dict[str, list[str]] = {}
    for app in items:
        cluster = (app["metadata"].get("labels") or {}).get("doks.gitops/cluster", "")
        found.setdefault(cluster, []).append(app["metadata"]["name"])
    return {k: sorted(v) for k, v in found.items()}


def state(do: DoSandbox) -> dict[str, Any]:
    objects = k8s_client.CustomObjectsApi(do.kube_api())
    secrets = k8s_client.CoreV1Api(do.kube_api()).list_namespaced_secret(
        NAMESPACE, label_selector="argocd.argoproj.io/secret-type=cluster"
    )
    return {
        "clusters": sorted(s.metadata.name for s in secrets.items),
        "applications": applications(do),
        "applicationsets": sorted(
            (a["metadata"]["name"], a["metadata"]["generation"])
            for a in objects.list_namespaced_custom_object("argoproj.io", "v1alpha1", NAMESPACE, "applicationsets")[
                "items"
            ]
        ),
        "projects": sorted(
            (p["metadata"]["name"], p["metadata"]["generation"])
            for p in objects.list_namespaced_custom_object("argoproj.io", "v1alpha1", NAMESPACE, "appprojects")["items"]
        ),
    }


@pytest.fixture
def delivered(do: DoSandbox, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    """A hub whose Argo CD runs and two spoke clusters, each with metrics-server delivered by the hub."""
    client_ = do.kube_api()
    install_argocd_objects(client_, ("applications", "appprojects", "applicationsets"))
    fake_application_controller(client_)
    kubeconfigs = {HUB: do.endpoints["kubernetes"]["kubeconfig"]}
    kubeconfigs.update({name: spoke_cluster(do, capsys, name, tmp_path) for name in (KEPT, GONE)})
    hosts = inventory(tmp_path, kubeconfigs)
    recap, out = run_local_play(tmp_path, DELIVER_METRICS_SERVER, settings(do), timeout=600, inventory=hosts, host=HUB)
    assert recap["failed"] == 0, out
    before = state(do)
    assert before["clusters"] == [f"cluster-{KEPT}", f"cluster-{GONE}"], before
    assert before["applications"] == {
        HUB: ["metrics-server"],
        KEPT: [f"{KEPT}-metrics-server"],
        GONE: [f"{GONE}-metrics-server"],
    }, before
    return {"state": before, "kubeconfigs": kubeconfigs}


def test_a_spoke_torn_down_leaves_the_hub_and_the_other_spokes(
    do: DoSandbox, tmp_path: Path, delivered: dict[str, Any]
) -> None:
    registered = delivered["state"]
    mark = client.last_seq(do.endpoints, "kubernetes")
    extra = {
        **settings(do),
        "teardown_confirm": GONE,
        "teardown_release_wait": 0,
        # the cluster, its Spaces and its Auth0 objects are the other teardown tests' subject
        "doks_cluster_enabled": False,
        "auth0_apps_enabled": False,
    }
    hosts = inventory(tmp_path, delivered["kubeconfigs"])
    teardown = (ROOT / "playbooks" / "teardown.yml").read_text()
    recap, out = run_local_play(tmp_path, teardown, extra, "--limit", GONE, timeout=300, inventory=hosts, host=GONE)
    assert recap["failed"] == 0, out

    after = state(do)
    assert after["clusters"] == [f"cluster-{KEPT}"], after
    assert GONE not in after["applications"], after["applications"]
    # the other spoke's and the hub's own objects are untouched: same Applications, and the specs of
    # the ApplicationSets and projects not rewritten (same generation; the ApplicationSet controller
    # updates its status, which is not the spec)
    assert after["applications"] == {k: v for k, v in registered["applications"].items() if k != GONE}
    assert (after["applicationsets"], after["projects"]) == (registered["applicationsets"], registered["projects"])
    # the hub answers at the server's root, the spokes under /clusters/<id>/ (sandbox/kube/emulator.py):
    # the run's one write to the hub deletes the spoke's registration
    log = client.requests(do.endpoints, "kubernetes", since=mark)
    hub_writes = [
        (e["method"], e["path"]) for e in log if e["method"] != "GET" and not e["path"].startswith("/clusters/")
    ]
    assert hub_writes == [("DELETE", f"/api/v1/namespaces/{NAMESPACE}/secrets/cluster-{GONE}")]
