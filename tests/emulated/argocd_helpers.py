"""What the argocd role leaves on a sandbox cluster for the platform's Applications, for tests that
run a delivery step without installing Argo CD: its CRDs, its namespace and the ``platform``
AppProject of ``argocd_platform_project`` (roles/argocd/defaults/main.yml)."""

from __future__ import annotations

from collections.abc import Iterable

import yaml
from kubernetes import client as k8s_client

import sandbox
from tests.unit.role_render import ROOT

NAMESPACE = "argocd"
# metrics-server delivered on every host as roles/observability/tasks/metrics_server.yml does it
# (doks.gitops.gitops helm_release: with gitops_delivery argocd, an Application)
DELIVER_METRICS_SERVER = """
- name: Deliver metrics-server as the observability role does
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the step
      ansible.builtin.include_role:
        name: doks.gitops.observability
        tasks_from: metrics_server.yml
"""


def install_argocd_objects(
    api: k8s_client.ApiClient, kinds: Iterable[str] = ("applications", "appprojects"), spokes: Iterable[str] = ()
) -> None:
    """The CRDs of ``kinds`` (plurals) from the pinned chart, the namespace, and the platform project
    with ``spokes`` added to its destinations as a hub's earlier run left them."""
    crds = sandbox.CHARTS / "argo-cd" / "crds"
    assert crds.is_dir(), "the Argo CD CRDs are missing: run `python -m sandbox.crdgen upstream`"
    extensions = k8s_client.ApiextensionsV1Api(api)
    present = {c.metadata.name for c in extensions.list_custom_resource_definition().items}
    for name in (f"{kind}.argoproj.io" for kind in kinds):
        if name not in present:
            extensions.create_custom_resource_definition(yaml.safe_load((crds / f"{name}.yaml").read_text()))
    core = k8s_client.CoreV1Api(api)
    if NAMESPACE not in {n.metadata.name for n in core.list_namespace().items}:
        core.create_namespace({"metadata": {"name": NAMESPACE}})
    defaults = yaml.safe_load((ROOT / "roles/argocd/defaults/main.yml").read_text())
    project = dict(defaults["argocd_platform_project"])
    name = project.pop("name")
    project["destinations"] = project.get("destinations", []) + [{"name": s, "namespace": "*"} for s in spokes]
    k8s_client.CustomObjectsApi(api).create_namespaced_custom_object(
        "argoproj.io",
        "v1alpha1",
        NAMESPACE,
        "appprojects",
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "AppProject", "metadata": {"name": name}, "spec": project},
    )


def fake_application_controller(api: k8s_client.ApiClient) -> None:
    """The StatefulSet by which the argocd role's bootstrap knows that Argo CD runs on a hub."""
    labels = {"app.kubernetes.io/name": "argocd-application-controller"}
    k8s_client.AppsV1Api(api).create_namespaced_stateful_set(
        NAMESPACE,
        {
            "metadata": {"name": "argocd-application-controller"},
            "spec": {
                "serviceName": "argocd-application-controller",
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {"containers": [{"name": "application-controller", "image": "quay.io/argoproj/argocd"}]},
                },
            },
        },
    )
