"""The doks_cluster role as a whole: skipping it for an existing cluster touches no API."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.unit.role_render import ROOT, ansible_playbook, run_local_play


def test_disabled_role_makes_no_call_and_changes_nothing(tmp_path: Path) -> None:
    play = (
        "- name: Apply doks_cluster disabled\n"
        "  hosts: all\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: doks.gitops.doks_cluster\n"
    )
    # an unreachable API: any call would fail the run
    extra = {"doks_cluster_enabled": False, "doks_cluster_api_url": "https://127.0.0.1:9"}
    counts, _printed = run_local_play(tmp_path, play, extra)
    # only the two argument-spec validations run (gitops and doks_cluster); every task is skipped
    assert (counts["ok"], counts["changed"], counts["failed"]) == (2, 0, 0), counts
    assert counts["skipped"] >= 10, counts


@pytest.mark.parametrize("host", ["one", "three"])
def test_teardown_refuses_an_owner_id_another_cluster_uses(tmp_path: Path, host: str) -> None:
    """Teardown deletes the DNS records of its cluster's external-dns owner id: when another host of
    `clusters` publishes under the same id, it stops before any API call, naming the variable; a
    host with an owner id of its own goes on to the API (unreachable here)."""
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        "clusters:\n"
        "  hosts:\n"
        "    one: {ingress_certmanager_external_dns_owner_id: shared}\n"
        "    two: {ingress_certmanager_external_dns_owner_id: shared}\n"
        "    three: {}\n"
    )
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Tear down\n"
        "  hosts: clusters\n"
        "  gather_facts: false\n"
        "  tasks:\n"
        "    - name: Teardown entry point\n"
        "      ansible.builtin.include_role:\n"
        "        name: doks.gitops.doks_cluster\n"
        "        tasks_from: teardown\n"
    )
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    proc = ansible_playbook(
        [
            "-i",
            str(inventory),
            "-l",
            host,
            "-c",
            "local",
            # an unreachable API: any call would fail the run with another message
            "-e",
            "doks_cluster_api_url=https://127.0.0.1:9",
            "-e",
            "doks_cluster_api_token=dop_v1_x",
            "-e",
            "doks_cluster_api_retries=0",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert proc.returncode != 0
    refused = "doks_cluster_teardown_dns_owner_id is shared, the external-dns owner id of two too"
    if host == "one":
        assert refused in proc.stdout, proc.stdout[-3000:]
        assert "127.0.0.1:9" not in proc.stdout
    else:
        assert "owner id of" not in proc.stdout
        assert "Delete the cluster with its load balancers, volumes and DNS records, three" in proc.stdout
        assert "127.0.0.1:9" in proc.stdout or "Connection refused" in proc.stdout, proc.stdout[-3000:]
