"""The Tekton Dashboard is never published without authentication unless the inventory says so.

The Dashboard has no login of its own: it shows whatever its ServiceAccount reads (the release's
ClusterRoles, cluster-wide), so behind an Ingress without the oauth2-proxy gate anyone reaching the
host sees every run, pod and log. Without a gate the way in is the one Tekton's install guide
(tektoncd/dashboard docs/install.md) gives for a cluster without Ingress:
``kubectl port-forward -n tekton-pipelines service/tekton-dashboard 9097:9097``.
On main ``tekton_dashboard_ingress_enabled`` was ``true`` whatever ``gitops_sso_enabled`` said,
so ``inventories/local`` (SSO off) published it to the internet with no authentication.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from sandbox.artifacts import RELEASES_SOURCE, release_checksums
from tests.unit.role_render import ROOT, outputs, render_role

# the role's input checks need a pin per release file: the sandbox stand-ins' (as inventories/sandbox)
PINS = {"tekton_release_sha256": release_checksums(RELEASES_SOURCE)["tekton-releases"]}

TASKS = """
    - name: Write whether the role publishes the Dashboard, and the end-of-run summary
      ansible.builtin.copy:
        dest: "{out}/exposure.json"
        content: >-
          {{{{ {{'ingress': tekton_dashboard_ingress_enabled | bool,
                'summary': lookup('ansible.builtin.template', '{summary}') | from_yaml}} | to_json }}}}
        mode: "0600"
"""


def exposure(tmp_path: Path, **variables: Any) -> dict[str, Any]:
    result = render_role(
        tmp_path,
        "tekton",
        TASKS,
        {**PINS, **variables},
        play_vars=yaml.safe_load((ROOT / "roles/tekton/vars/main.yml").read_text()),
        defaults_of=("auth0_apps", "ingress_certmanager"),
        summary=ROOT / "playbooks/templates/summary.yml.j2",
    )
    return outputs(tmp_path, result)["exposure"]


def tekton_line(summary: list[str]) -> str:
    (line,) = [line for line in summary if "Tekton Dashboard" in line]
    return line


def test_sso_off_publishes_nothing_by_default(tmp_path: Path) -> None:
    """inventories/local (gitops_sso_enabled: false): no Ingress, the summary says port-forward."""
    got = exposure(tmp_path, gitops_sso_enabled=False)
    assert got["ingress"] is False
    line = tekton_line(got["summary"])
    assert "not published" in line
    assert "port-forward svc/tekton-dashboard 9097:9097" in line


def test_the_explicit_opt_in_publishes_with_a_warning(tmp_path: Path) -> None:
    got = exposure(tmp_path, gitops_sso_enabled=False, tekton_dashboard_ingress_without_sso=True)
    assert got["ingress"] is True
    line = tekton_line(got["summary"])
    assert line.startswith("WARNING") and "WITHOUT authentication" in line


@pytest.mark.parametrize("opt_in", [False, True])
def test_sso_on_publishes_behind_the_gate(tmp_path: Path, opt_in: bool) -> None:
    got = exposure(
        tmp_path,
        gitops_sso_enabled=True,
        tekton_dashboard_ingress_without_sso=opt_in,
        gitops_sso_ingress_annotations={"traefik.ingress.kubernetes.io/router.middlewares": "oauth2-proxy-x"},
    )
    assert got["ingress"] is True
    assert "behind the oauth2-proxy gate" in tekton_line(got["summary"])
