"""The Kubernetes emulator judged by kubernetes.core (k8s, k8s_info, helm, helm_info)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from sandbox_tools import TOOLS, VENV_BIN, run

PLAYBOOK = Path(__file__).parent / "playbooks" / "kube_contract.yml"


def _recap(output: str) -> dict[str, int]:
    match = re.search(r"localhost\s*:\s*(.*)", output.split("PLAY RECAP", 1)[1])
    assert match, output
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", match.group(1))}


def test_kubernetes_core_playbook_is_idempotent(kube_env: dict[str, str]) -> None:
    playbook = [str(VENV_BIN / "ansible-playbook"), str(PLAYBOOK)]
    first = run(kube_env, *playbook, timeout=300)
    recap = _recap(first.stdout)
    assert recap["failed"] == 0
    assert recap["changed"] == 4, first.stdout
    second = run(kube_env, *playbook, timeout=300)
    recap = _recap(second.stdout)
    assert (recap["failed"], recap["changed"]) == (0, 0), second.stdout
    kubectl = str(TOOLS / "kubectl")
    deployment = json.loads(run(kube_env, kubectl, "get", "deployment", "api", "-n", "contract", "-o", "json").stdout)
    assert deployment["status"]["readyReplicas"] == 2
    managed = json.loads(
        run(
            kube_env,
            kubectl,
            "get",
            "configmap",
            "server-side",
            "-n",
            "contract",
            "-o",
            "json",
            "--show-managed-fields",
        ).stdout
    )
    assert ("contract-playbook", "Apply") in {
        (m["manager"], m["operation"]) for m in managed["metadata"]["managedFields"]
    }
