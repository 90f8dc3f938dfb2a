"""A cluster added to a hub's inventory is a destination of the hub's ``platform`` project before it
registers (issue 20, "adding a fifth cluster to the inventory gives it the whole platform in one run").

The four-cluster benchmark caught it: with a fifth cluster added to a converged hub and three
spokes, the first component delivered to it, ``bench-5-metrics-server``, stayed in Argo CD's
``InvalidSpecError``: "application destination server ... and namespace ... do not match any of the
allowed destinations in project 'platform'". Argo CD admits an Application only when one of its
project's ``spec.destinations`` matches its destination (Argo CD v3.4.4,
``pkg/apis/application/v1alpha1/app_project_types.go`` ``IsDestinationPermitted``; the condition
written by ``util/argo/argo.go`` ``ValidateDestination``). The hub listed its spokes there only in the
argocd role (``tasks/projects.yml``), which runs after observability, where the new spoke already
waited for its Applications.

The test runs what the hub runs first in any run with ``gitops_delivery: argocd``: the argocd
role's ``bootstrap`` entry point, as ``doks.gitops.gitops`` ``application.yml`` includes it, on a
hub whose Argo CD already runs (the application controller's StatefulSet exists) and whose
``platform`` project lists the spokes of an earlier run only. When it returns, the project must
list the new spoke; a second run writes nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s_client

from sandbox import client
from tests.emulated.argocd_helpers import fake_application_controller, install_argocd_objects
from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import run_local_play

pytestmark = pytest.mark.sandbox

HUB = "hub-1"
OLD_SPOKES = ["spoke-1", "spoke-2"]
NEW_SPOKE = "spoke-3"
PLAY = """
- name: Run what a hub runs before its first component
  hosts: hub-1
  gather_facts: false
  tasks:
    - name: Make sure Argo CD runs before it is given a component
      ansible.builtin.include_role:
        name: doks.gitops.argocd
        tasks_from: bootstrap
"""


def platform_project(do: DoSandbox) -> dict[str, Any]:
    objects = k8s_client.CustomObjectsApi(do.kube_api())
    return dict(objects.get_namespaced_custom_object("argoproj.io", "v1alpha1", "argocd", "appprojects", "platform"))


@pytest.fixture
def hub(do: DoSandbox) -> None:
    """A hub where Argo CD runs and whose platform project admits the spokes of an earlier run."""
    client_ = do.kube_api()
    install_argocd_objects(client_, ("applications", "appprojects", "applicationsets"), spokes=OLD_SPOKES)
    fake_application_controller(client_)


def bootstrap(do: DoSandbox, tmp_path: Path) -> tuple[dict[str, int], str]:
    """The bootstrap entry point on the hub of an inventory of the hub, the old spokes and a new one."""
    hosts = {h: {} for h in [HUB, *OLD_SPOKES, NEW_SPOKE]}
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(yaml.safe_dump({"all": {"children": {"clusters": {"hosts": hosts}}}}, sort_keys=False))
    extra = {
        "gitops_kubeconfig": do.endpoints["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        "gitops_helm_repo_mirror": do.endpoints["artifacts"]["charts"],
        "gitops_delivery": "argocd",
        "gitops_hub": HUB,
    }
    return run_local_play(tmp_path, PLAY, extra, timeout=240, inventory=inventory, host=HUB)


@pytest.mark.usefixtures("hub")
def test_hub_admits_a_new_spoke_before_the_spokes_register(do: DoSandbox, tmp_path: Path) -> None:
    before = platform_project(do)
    assert {"name": NEW_SPOKE, "namespace": "*"} not in before["spec"]["destinations"]

    recap, out = bootstrap(do, tmp_path)
    assert recap["failed"] == 0, out
    destinations = platform_project(do)["spec"]["destinations"]
    spokes = [d["name"] for d in destinations if d.get("name") not in (None, "in-cluster")]
    assert spokes == [*OLD_SPOKES, NEW_SPOKE], destinations
    # the ApplicationSets that turn the registrations into Applications are there too
    appsets = k8s_client.CustomObjectsApi(do.kube_api()).list_namespaced_custom_object(
        "argoproj.io", "v1alpha1", "argocd", "applicationsets"
    )["items"]
    assert "platform-metrics-server" in {a["metadata"]["name"] for a in appsets}

    # a second run writes nothing
    mark = client.last_seq(do.endpoints, "kubernetes")
    recap, out = bootstrap(do, tmp_path)
    assert recap["changed"] == 0, out
    writes = [(e["method"], e["path"]) for e in client.requests(do.endpoints, "kubernetes", since=mark)]
    assert [w for w in writes if w[0] != "GET"] == [], writes
