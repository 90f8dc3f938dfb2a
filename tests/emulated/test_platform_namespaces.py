"""The shared entry point ``doks.gitops.gitops`` ``platform_namespaces`` on the sandbox's Kubernetes API.

A role's namespaces get their Pod Security labels, a default-deny ingress NetworkPolicy and one
NetworkPolicy per allow; an allow the inventory no longer lists is deleted by the same module run
(``k8s_apply_changed`` ``prune``, the label selector of the shared template), while a policy the
user wrote in that namespace (without those labels) and the policies of another role's namespace
stay. A second run changes nothing and writes nothing; ``--check`` previews the deletion without it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s_client
from kubernetes import config as k8s_config

from sandbox import client
from tests.emulated.doks_helpers import DoSandbox
from tests.unit.role_render import run_local_play

pytestmark = pytest.mark.sandbox

PLAY = """
- name: Create a role's namespaces as the roles do
  hosts: all
  gather_facts: false
  tasks:
    - name: Run the step
      ansible.builtin.include_role:
        name: doks.gitops.gitops
        tasks_from: platform_namespaces
"""
ALLOW_WEB = {"name": "allow-web", "pods": {"app": "web"}, "from": [], "ports": [{"port": 8080, "protocol": "TCP"}]}
ALLOW_METRICS = {"name": "allow-metrics", "pods": {}, "from": [], "ports": [{"port": 9090, "protocol": "TCP"}]}


def converge(do: DoSandbox, tmp_path: Path, namespaces: list[dict[str, Any]], *flags: str) -> dict[str, int]:
    extra = {
        "gitops_kubeconfig": do.endpoints["kubernetes"]["kubeconfig"],
        "gitops_ca_bundle": do.endpoints["ca_bundle"],
        "gitops_platform_namespaces": namespaces,
    }
    return run_local_play(tmp_path, PLAY, extra, *flags)[0]


def policies(net: k8s_client.NetworkingV1Api, namespace: str) -> set[str]:
    return {p.metadata.name for p in net.list_namespaced_network_policy(namespace).items}


def test_an_allow_dropped_from_the_inventory_is_pruned_and_nothing_else(do: DoSandbox, tmp_path: Path) -> None:
    net = k8s_client.NetworkingV1Api(k8s_config.new_client_from_config(do.endpoints["kubernetes"]["kubeconfig"]))
    web = {"name": "pn-web", "pod_security": "restricted", "ingress": [ALLOW_WEB, ALLOW_METRICS]}
    other = {"name": "pn-other", "pod_security": "baseline", "ingress": [ALLOW_METRICS]}
    converge(do, tmp_path, [web])
    converge(do, tmp_path, [other])
    net.create_namespaced_network_policy(
        "pn-web", {"metadata": {"name": "users-own"}, "spec": {"podSelector": {}, "policyTypes": ["Egress"]}}
    )
    assert policies(net, "pn-web") == {"default-deny-ingress", "allow-web", "allow-metrics", "users-own"}

    fewer = {**web, "ingress": [ALLOW_WEB]}
    assert converge(do, tmp_path, [fewer], "--check")["changed"] == 1
    assert "allow-metrics" in policies(net, "pn-web")  # check mode deleted nothing

    assert converge(do, tmp_path, [fewer])["changed"] == 1
    assert policies(net, "pn-web") == {"default-deny-ingress", "allow-web", "users-own"}
    assert policies(net, "pn-other") == {"default-deny-ingress", "allow-metrics"}

    seq = client.last_seq(do.endpoints, "kubernetes")
    assert converge(do, tmp_path, [fewer])["changed"] == 0
    assert {e["method"] for e in client.requests(do.endpoints, "kubernetes", since=seq)} == {"GET"}
