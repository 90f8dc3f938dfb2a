"""The doks_cluster role as a whole: skipping it for an existing cluster touches no API."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_disabled_role_makes_no_call_and_changes_nothing(tmp_path: Path) -> None:
    playbook = tmp_path / "play.yml"
    playbook.write_text(
        "- name: Apply doks_cluster disabled\n"
        "  hosts: all\n"
        "  gather_facts: false\n"
        "  roles:\n"
        "    - role: doks.gitops.doks_cluster\n"
    )
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    proc = subprocess.run(
        [
            str(Path(sys.executable).with_name("ansible-playbook")),
            "-i",
            "local-1,",
            "-c",
            "local",
            "-e",
            "doks_cluster_enabled=false",
            # an unreachable API: any call would fail the run
            "-e",
            "doks_cluster_api_url=https://127.0.0.1:9",
            "-e",
            f"ansible_python_interpreter={sys.executable}",
            str(playbook),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    recap = next(line for line in proc.stdout.splitlines() if line.startswith("local-1"))
    counts = dict(re.findall(r"(\w+)=(\d+)", recap))
    # only the two argument-spec validations run (gitops and doks_cluster); every task is skipped
    assert (counts["ok"], counts["changed"], counts["failed"]) == ("2", "0", "0"), recap
    assert int(counts["skipped"]) >= 10, recap
