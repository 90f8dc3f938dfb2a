"""Session fixtures for the emulator contract tests: one sandbox for the whole run.

``sandbox_endpoints`` starts ``python -m sandbox up`` on a fresh state directory with the
default cluster's nodes of ``NODES`` (stopped at the end of the session); ``kubeconfig`` is the default cluster's kubeconfig; ``kube_env`` is an
environment for the real kubectl/helm/ansible-playbook binaries with a private HOME (so the
discovery and helm caches of one run never leak into another).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sandbox_tools import TOOLS, VENV_BIN

from sandbox import client

# The default cluster's nodes in these tests (the sandbox's own default is one untainted node):
# three pools as DOKS labels them, two of them tainted, so scheduling can be judged.
NODES = [
    {"name": "base-1", "labels": {"doks.digitalocean.com/node-pool": "base"}, "taints": []},
    {
        "name": "tools-1",
        "labels": {"doks.digitalocean.com/node-pool": "tools"},
        "taints": [{"key": "tools", "value": "true", "effect": "NoSchedule"}],
    },
    {
        "name": "workloads-1",
        "labels": {"doks.digitalocean.com/node-pool": "workloads"},
        "taints": [{"key": "workloads", "value": "true", "effect": "NoSchedule"}],
    },
]


@pytest.fixture(scope="session")
def sandbox_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    state = tmp_path_factory.mktemp("sandbox-state")
    try:
        box = client.Sandbox.start(state, settings={"kubernetes": {"nodes": NODES}})
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield state
    box.stop()


@pytest.fixture(scope="session")
def sandbox_endpoints(sandbox_state_dir: Path) -> dict[str, Any]:
    return json.loads((sandbox_state_dir / "endpoints.json").read_text())


@pytest.fixture(scope="session")
def kubeconfig(sandbox_endpoints: dict[str, Any]) -> Path:
    return Path(sandbox_endpoints["kubernetes"]["kubeconfig"])


@pytest.fixture(scope="session")
def kube_env(kubeconfig: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    home = tmp_path_factory.mktemp("home")
    env = {
        "PATH": f"{TOOLS}:{VENV_BIN}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        "KUBECONFIG": str(kubeconfig),
        "K8S_AUTH_KUBECONFIG": str(kubeconfig),
        "LANG": "C.UTF-8",
        "ANSIBLE_LOCAL_TEMP": str(home / ".ansible" / "tmp"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_FORCE_COLOR": "0",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    return env
