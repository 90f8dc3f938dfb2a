"""The sandbox inventory's emulator settings match the platform they stand in for.

The sandbox package names no product pools; the sandbox inventory configures the default
emulated cluster's nodes (``sandbox_settings``, read by ``python -m sandbox up --settings``).
They must be the pools the gitops role defines, labelled and tainted as DOKS does for pools
created with those taints (``gitops_pool_*`` in ``roles/gitops/defaults/main.yml``).
"""

from __future__ import annotations

from pathlib import Path

import yaml

from sandbox.cli import read_settings

ROOT = Path(__file__).resolve().parents[2]
SANDBOX_VARS = ROOT / "inventories" / "sandbox" / "group_vars" / "all" / "sandbox.yml"


def test_default_cluster_nodes_are_the_platform_pools() -> None:
    gitops = yaml.safe_load((ROOT / "roles" / "gitops" / "defaults" / "main.yml").read_text())
    label = gitops["gitops_pool_label"]
    wanted = {
        gitops["gitops_pool_base"]: [],
        gitops["gitops_pool_tools"]: [gitops["gitops_pool_tools_taint"]],
        gitops["gitops_pool_workloads"]: [gitops["gitops_pool_workloads_taint"]],
    }
    nodes = read_settings(SANDBOX_VARS)["kubernetes"]["nodes"]
    found = {node["labels"][label]: node["taints"] for node in nodes}
    assert found == wanted
    assert all(node["name"].startswith(node["labels"][label] + "-") for node in nodes)
