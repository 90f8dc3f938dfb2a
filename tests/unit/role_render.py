"""Run Ansible itself from tests: render a role's templates (no cluster) and read the result back,
or run a play on one local host against the sandbox (:func:`run_local_play`).

A tiny playbook loads the shared and the role's defaults, runs the role's input checks as its
first task does (doks.gitops.preflight for the shared settings and the role, then tasks/validate.yml
where the role keeps checks on the run's facts), then the test module's tasks, which render the role's templates to JSON
files under ``{out}`` the way the role's tasks do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
PLAY = """
- hosts: localhost
  gather_facts: false
  vars_files:
    - {gitops_defaults}
    - {gitops_vars}
{other_defaults}    - {role_defaults}
  vars: {play_vars}
  tasks:
{preflight}{validate}{tasks}"""


def ansible_playbook(
    args: list[str], *, cwd: Path, env: dict[str, str], timeout: int
) -> subprocess.CompletedProcess[str]:
    """``ansible-playbook`` of this interpreter's environment; the caller checks the outcome."""
    return subprocess.run(
        [str(Path(sys.executable).parent / "ansible-playbook"), *args],
        check=False,
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


LOCAL_HOST = "local-1"


def inner_step_play(title: str, role: str, tasks_from: str) -> str:
    """A play that runs one inner task file of ``role`` (not an entry point) with what the role's
    body gives it: the cluster connection of meta/runtime.yml's group kubernetes, the TLS
    environment, and the shared settings of doks.gitops.gitops they come from."""
    return f"""
- name: {title}
  hosts: all
  gather_facts: false
  module_defaults:
    group/doks.gitops.kubernetes:
      kubeconfig: "{{{{ gitops_kubeconfig }}}}"
  environment: "{{{{ gitops_tls_environment }}}}"
  roles:
    - role: doks.gitops.gitops
  tasks:
    - name: Run the step
      ansible.builtin.include_role:
        name: doks.gitops.{role}
        tasks_from: {tasks_from}
"""


def run_local_play(
    tmp_path: Path,
    play: str,
    extra: dict[str, Any],
    *flags: str,
    never_printed: Iterable[str] = (),
    timeout: int = 300,
    inventory: Path | None = None,
    host: str = LOCAL_HOST,
) -> tuple[dict[str, int], str]:
    """Run ``play`` (a playbook's YAML) on one host, :data:`LOCAL_HOST`, over the local connection
    with this interpreter, from the repository root and with its ``ansible.cfg`` (the collection
    from the working tree), ``extra`` as extra vars and ``flags`` (``--check``, ``--diff``) added.
    With ``inventory`` (a file whose hosts the play targets), ``host`` is the one whose recap counts.

    Asserts that the run succeeds and that none of ``never_printed`` (a secret, the shape of one)
    is in its output; returns the host's play recap counts (``{"ok": .., "changed": .., ...}``) and
    what it printed.
    """
    path = tmp_path / "play.yml"
    path.write_text(play)
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "ANSIBLE_NOCOLOR": "1"}
    args = ["-i", str(inventory) if inventory else f"{LOCAL_HOST},", "-c", "local", "-e", json.dumps(extra)]
    args += ["-e", "ansible_python_interpreter=" + sys.executable, *flags, str(path)]
    proc = ansible_playbook(args, cwd=ROOT, env=env, timeout=timeout)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    for text in never_printed:
        assert text not in proc.stdout + proc.stderr, f"the run printed {text!r}"
    recap = next(line for line in proc.stdout.splitlines() if line.startswith(host))
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", recap)}, proc.stdout


def render_role(
    tmp_path: Path,
    role: str,
    tasks: str,
    variables: dict[str, Any],
    play_vars: dict[str, Any] | None = None,
    defaults_of: tuple[str, ...] = (),
    preflight: bool = False,
    **fields: Any,
) -> subprocess.CompletedProcess[str]:
    """Run the role's input checks then ``tasks`` in ``tmp_path``, with ``variables`` as extra vars.

    ``tasks`` are YAML list items indented by four spaces, a ``str.format`` template given
    ``out`` (where they write their JSON files) and ``fields``; ``templates/`` is the role's.
    ``defaults_of`` names other roles whose defaults the play sees too, as in ``site.yml``
    where the defaults of every role of the play are public (``auth0_apps`` for the groups).
    ``preflight`` runs the role's inventory rules first, as its first task does (the fixtures of
    rendering tests are not whole inventories, so it is for the bad-input cases).
    """
    role_dir = ROOT / "roles" / role
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "templates").symlink_to(role_dir / "templates")
    (tmp_path / "play.yml").write_text(
        PLAY.format(
            gitops_defaults=ROOT / "roles/gitops/defaults/main.yml",
            # the shared role's vars (gitops_components) every role sees through its dependency
            gitops_vars=ROOT / "roles/gitops/vars/main.yml",
            other_defaults="".join(f"    - {ROOT / 'roles' / r / 'defaults/main.yml'}\n" for r in defaults_of),
            role_defaults=role_dir / "defaults/main.yml",
            play_vars=json.dumps(play_vars or {}),
            preflight=(
                f"    - name: Check the inventory like the role's first task does\n"
                f"      doks.gitops.preflight:\n        roles: [gitops, {role}]\n        network: false\n"
                if preflight
                else ""
            ),
            validate=(
                f"    - name: Validate the inputs like the role does\n"
                f"      ansible.builtin.include_tasks: {role_dir / 'tasks/validate.yml'}\n"
                if (role_dir / "tasks/validate.yml").is_file()
                else ""
            ),
            tasks=tasks.format(out=out, **fields),
        )
    )
    (tmp_path / "extra.json").write_text(json.dumps(variables))
    # An inventory of its own (none: the implicit localhost): `make` exports ANSIBLE_CONFIG, whose
    # inventory (the sandbox's) would add host sandbox-1 and its group_vars to preflight's view.
    (tmp_path / "hosts.yml").write_text("all: {}\n")
    env = {
        **os.environ,
        "ANSIBLE_COLLECTIONS_PATH": str(ROOT / ".collections"),
        "ANSIBLE_NOCOLOR": "1",
        "ANSIBLE_INVENTORY": str(tmp_path / "hosts.yml"),
        "ANSIBLE_LOCALHOST_WARNING": "false",
    }
    return ansible_playbook(["play.yml", "-e", "@extra.json"], cwd=tmp_path, env=env, timeout=180)


def outputs(tmp_path: Path, result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON files a successful :func:`render_role` run wrote, by name without ``.json``."""
    assert result.returncode == 0, result.stdout + result.stderr
    return {p.stem: json.loads(p.read_text()) for p in (tmp_path / "out").glob("*.json")}
