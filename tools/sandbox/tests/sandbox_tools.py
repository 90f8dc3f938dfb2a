"""Helpers for contract tests that drive real binaries (kubectl, helm, ansible-playbook).

Imported by name (``from sandbox_tools import run``): pytest puts this directory on sys.path.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".tools" / "bin"
VENV_BIN = Path(sys.executable).parent


def run(
    env: dict[str, str], *args: str, check: bool = True, timeout: float = 120, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a real binary (kubectl, helm, ansible-playbook) against the sandbox."""
    result = subprocess.run(
        list(args), env=env, capture_output=True, text=True, timeout=timeout, check=False, cwd=cwd or ROOT
    )
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(args)} failed ({result.returncode}):\n{result.stdout}\n{result.stderr}")
    return result
