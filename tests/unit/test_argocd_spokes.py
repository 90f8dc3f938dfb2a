"""The hub's list of spokes keeps the inventory's order, whatever the run (issue 20).

The hub's ``platform`` AppProject lists its spokes as destinations (roles/argocd/tasks/projects.yml),
so a list whose order changes from one run to the next rewrites the project on a no-op run. The
four-cluster benchmark caught this: ``argocd_spokes`` used Ansible's ``difference`` filter, which is
``list(set(a) - set(b))`` (ansible-core 2.19, plugins/filter/mathstuff.py), and the order of a set
of strings follows Python's per-process hash seed (``PYTHONHASHSEED``, randomised by default).
Each run here gets a different seed, as two ``ansible-playbook`` runs do.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import yaml

from tests.unit.role_render import ROOT, ansible_playbook

SPOKES = [f"spoke-{n}" for n in (7, 2, 9, 1, 5, 3, 8, 4, 6)]

PLAY = """
- hosts: hub
  gather_facts: false
  connection: local
  vars_files:
    - {gitops_defaults}
    - {argocd_defaults}
  tasks:
    - name: Write the hub's spokes
      ansible.builtin.copy:
        dest: "{out}"
        content: "{{{{ argocd_spokes | to_json }}}}"
        mode: "0600"
"""


def test_spokes_keep_inventory_order_under_any_hash_seed(tmp_path: Path) -> None:
    inventory = {"all": {"children": {"clusters": {"hosts": {h: {} for h in ["hub", *SPOKES]}}}}}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump(inventory, sort_keys=False))
    out = tmp_path / "spokes.json"
    (tmp_path / "play.yml").write_text(
        PLAY.format(
            gitops_defaults=ROOT / "roles/gitops/defaults/main.yml",
            argocd_defaults=ROOT / "roles/argocd/defaults/main.yml",
            out=out,
        )
    )
    seen = []
    for seed in ("1", "2", "3"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "ANSIBLE_NOCOLOR": "1"}
        args = [
            "-i",
            "hosts.yml",
            "-e",
            json.dumps(
                {"gitops_delivery": "argocd", "gitops_hub": "hub", "ansible_python_interpreter": sys.executable}
            ),
            "play.yml",
        ]
        proc = ansible_playbook(args, cwd=tmp_path, env=env, timeout=120)
        assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
        seen.append(json.loads(out.read_text()))
    assert seen == [SPOKES] * 3
