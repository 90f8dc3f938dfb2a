"""Request counts of the auth0_apps role on the sandbox: a converge from empty, then a no-op.

Run: ``.venv/bin/python -m tests.bench.bench_auth0``. Starts a private sandbox (its own state dir),
runs ``tests/playbooks/auth0_apps.yml`` twice on the sandbox inventory and prints, from the
emulator's request log, the calls each run made by method and path.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from collections import Counter
from pathlib import Path

from tests.emulated.auth0_sandbox import ROOT, Sandbox, start

PLAYBOOK = ROOT / "tests/playbooks/auth0_apps.yml"


def run_playbook(box: Sandbox, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "SANDBOX_STATE_DIR": str(box.state),
        "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"),
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '')}",
    }
    cmd = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "-i",
        str(ROOT / "inventories/sandbox"),
        str(PLAYBOOK),
        *args,
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)


def counts(log: list[dict]) -> Counter[str]:
    """Calls by ``METHOD path`` with ids folded (``/clients/{id}``)."""
    folded = Counter()
    for entry in log:
        path = re.sub(r"/(clients|roles|users|actions/actions)/[^/]+", r"/\1/{id}", entry["path"])
        folded[f"{entry['method']} {path}"] += 1
    return folded


def measure(box: Sandbox) -> dict[str, Counter[str]]:
    result = {}
    for label in ("converge", "no-op"):
        seq = box.last_seq()
        proc = run_playbook(box)
        if proc.returncode != 0:
            raise SystemExit(f"{label} failed:\n{proc.stdout}\n{proc.stderr}")
        result[label] = counts(box.requests(seq))
    return result


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-auth0-") as state:
        box = start(Path(state))
        try:
            figures = measure(box)
        finally:
            box.stop()
    for label, calls in figures.items():
        writes = sum(n for call, n in calls.items() if not call.startswith("GET") and "/oauth/token" not in call)
        print(f"== {label}: {sum(calls.values())} requests, {calls['POST /oauth/token']} token, {writes} writes")
        for call, n in sorted(calls.items()):
            print(f"   {n:3d}  {call}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
