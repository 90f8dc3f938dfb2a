"""Helpers for contract tests that drive real binaries (kubectl, helm, ansible-playbook).

Imported by name (``from sandbox_tools import run``): pytest puts this directory on sys.path.

helm and kubectl are the pinned binaries: ``$SANDBOX_TOOLS_BIN``, else the ``.tools/bin`` of the
repository that holds this package (``make tools`` installs them there), else the ones on PATH.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import sandbox

PACKAGE = Path(__file__).resolve().parents[1]
SOURCE = Path(sandbox.__file__).resolve().parent
CHARTS = SOURCE / "charts"
RELEASES = SOURCE / "releases"
# the repository around the package (tools/sandbox/): only the tests of the product's own objects read it
REPO = PACKAGE.parents[1]
VENV_BIN = Path(sys.executable).parent


def _tools_bin() -> Path:
    if os.environ.get("SANDBOX_TOOLS_BIN"):
        return Path(os.environ["SANDBOX_TOOLS_BIN"])
    for parent in PACKAGE.parents:
        if (parent / ".tools" / "bin" / "helm").is_file():
            return parent / ".tools" / "bin"
    helm = shutil.which("helm")
    return Path(helm).parent if helm else Path("/nonexistent/.tools/bin")


TOOLS = _tools_bin()


def run(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real binary (kubectl, helm, ansible-playbook) against the sandbox."""
    result = subprocess.run(
        list(args), env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd or PACKAGE
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
