"""The cluster connection is set once: every Kubernetes task of the roles reaches its cluster.

ansible-core applies ``module_defaults`` of an action group to every module of the group, and a
block's ``module_defaults`` and ``environment`` reach the tasks of the files it includes
(ansible-core docs, "Module defaults", "Action groups": ``group/<collection>.<group>`` keys;
``metadata.extend_group`` pulls another collection's group in). Our ``meta/runtime.yml`` declares
the group ``kubernetes`` (kubernetes.core's ``k8s`` and ``helm`` groups plus our Kubernetes
modules); the body of each role and each public entry point (``meta/argument_specs.yml``) sets its
``kubeconfig`` and the TLS ``environment`` once.

The scanner below follows every include from every entry point, carrying what the enclosing blocks
set. It fails on a Kubernetes task that would run without a kubeconfig (a real run would then fall
back to ``~/.kube/config``: another cluster, or none) or without the TLS environment, and on a task
that repeats ``kubeconfig: "{{ gitops_kubeconfig }}"`` under defaults that give it already.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import ansible_collections.kubernetes.core as kubernetes_core  # the installed collection, as ansible runs it
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
GROUP = "group/doks.gitops.kubernetes"
REPEATED = "{{ gitops_kubeconfig }}"
INCLUDES_TASKS = {"include_tasks", "import_tasks"}
INCLUDES_ROLE = {"include_role", "import_role"}


def _runtime_group() -> list[Any]:
    runtime = yaml.safe_load((ROOT / "meta" / "runtime.yml").read_text())
    return runtime["action_groups"]["kubernetes"]


def _kubernetes_core_groups() -> dict[str, list[str]]:
    runtime = Path(next(iter(kubernetes_core.__path__))) / "meta" / "runtime.yml"  # a namespace package
    return yaml.safe_load(runtime.read_text())["action_groups"]


def kubernetes_modules() -> set[str]:
    """Every module name (short and FQCN) of the group, with kubernetes.core's groups expanded."""
    core = _kubernetes_core_groups()
    names: set[str] = set()
    for entry in _runtime_group():
        if isinstance(entry, dict):
            for extended in entry["metadata"]["extend_group"]:
                collection, _, group = extended.rpartition(".")
                names.update(f"{collection}.{module}" for module in core[group])
        else:
            names.add(f"doks.gitops.{entry}")
    return names


@dataclass(frozen=True)
class Context:
    kubeconfig: bool = False
    environment: bool = False


@dataclass
class Scan:
    roles_dir: Path
    modules: set[str]
    problems: list[str]
    seen: set[tuple[str, Context]]

    def file(self, role: str, name: str, ctx: Context, origin: str) -> None:
        name = name if name.endswith((".yml", ".yaml")) else f"{name}.yml"
        for path in self._resolve(role, name, origin):
            key = (str(path), ctx)
            if key in self.seen:
                continue
            self.seen.add(key)
            tasks = yaml.safe_load(path.read_text()) or []
            self.tasks(role, tasks, ctx, f"{path.relative_to(self.roles_dir)}")

    def _resolve(self, role: str, name: str, origin: str) -> list[Path]:
        tasks_dir = self.roles_dir / role / "tasks"
        if "{{" not in name:
            path = tasks_dir / name
            if not path.is_file():
                self.problems.append(f"{origin}: includes {role}/tasks/{name}, which does not exist")
                return []
            return [path]
        # a templated name: every file it can name (the variable part matches any file name)
        pattern = re.compile("^" + ".+".join(map(re.escape, re.split(r"\{\{.*?\}\}", name))) + "$")
        found = sorted(p for p in tasks_dir.glob("*.y*ml") if pattern.match(p.name))
        if not found:
            self.problems.append(f"{origin}: the templated include {name!r} names no file of {role}")
        return found

    def tasks(self, role: str, tasks: list[dict[str, Any]], ctx: Context, where: str) -> None:
        for task in tasks:
            self.task(role, task, ctx, where)

    def task(self, role: str, task: dict[str, Any], ctx: Context, where: str) -> None:
        inner = self._context(task, ctx)
        label = f"{where}: {task.get('name', '<unnamed>')!r}"
        if "block" in task:
            for part in ("block", "rescue", "always"):
                self.tasks(role, task.get(part) or [], inner, where)
            return
        action, args = self._action(task)
        if action is None:
            return
        short = action.rpartition(".")[2]
        if short in INCLUDES_TASKS:
            self.file(role, args if isinstance(args, str) else args["file"], inner, label)
        elif short in INCLUDES_ROLE:
            target = args["name"].rpartition(".")[2]
            self.file(target, args.get("tasks_from", "main"), inner, label)
        elif action in self.modules:
            self._check(args if isinstance(args, dict) else {}, inner, label)

    def _check(self, args: dict[str, Any], ctx: Context, label: str) -> None:
        if "kubeconfig" not in args and not ctx.kubeconfig:
            self.problems.append(f"{label}: a Kubernetes task without kubeconfig")
        if "kubeconfig" in args and ctx.kubeconfig and args["kubeconfig"] == REPEATED:
            self.problems.append(f"{label}: repeats the kubeconfig its block gives it")
        if not ctx.environment:
            self.problems.append(f"{label}: a Kubernetes task without the TLS environment")

    @staticmethod
    def _context(task: dict[str, Any], ctx: Context) -> Context:
        defaults = task.get("module_defaults") or {}
        kubeconfig = "kubeconfig" in (defaults.get(GROUP) or {})
        return replace(
            ctx,
            kubeconfig=ctx.kubeconfig or kubeconfig,
            environment=ctx.environment or "environment" in task,
        )

    @staticmethod
    def _action(task: dict[str, Any]) -> tuple[str | None, Any]:
        for key, value in task.items():
            if "." in key or key in INCLUDES_TASKS | INCLUDES_ROLE:
                return key, value
        return None, None


def scan(roles_dir: Path, entry_points: list[tuple[str, str]], modules: set[str]) -> list[str]:
    result = Scan(roles_dir, modules, [], set())
    for role, entry in entry_points:
        result.file(role, entry, Context(), f"entry point {role}:{entry}")
    return result.problems


def entry_points() -> list[tuple[str, str]]:
    found = []
    for spec in sorted((ROOT / "roles").glob("*/meta/argument_specs.yml")):
        role = spec.parents[1].name
        for entry in yaml.safe_load(spec.read_text())["argument_specs"]:
            # a role of shared settings only (gitops) has a main spec and no main task file
            if (spec.parents[1] / "tasks" / f"{entry}.yml").is_file():
                found.append((role, entry))
    return found


def test_every_kubernetes_task_of_every_entry_point_reaches_its_cluster() -> None:
    problems = scan(ROOT / "roles", entry_points(), kubernetes_modules())
    assert problems == []


def test_teardown_gives_every_kubernetes_task_its_cluster() -> None:
    """playbooks/teardown.yml runs in-cluster steps of its own before the roles' teardown entry points."""
    modules = kubernetes_modules()
    for play in yaml.safe_load((ROOT / "playbooks" / "teardown.yml").read_text()):
        result = Scan(ROOT / "roles", modules, [], set())
        ctx = Scan._context(play, Context())
        for part in ("pre_tasks", "tasks", "post_tasks"):
            result.tasks("gitops", play.get(part) or [], ctx, f"teardown.yml {part}")
        assert result.problems == []


def test_the_group_holds_every_module_of_ours_that_takes_a_kubeconfig() -> None:
    group = {entry for entry in _runtime_group() if isinstance(entry, str)}
    takes_kubeconfig = set()
    for module in sorted((ROOT / "plugins" / "modules").glob("*.py")):
        text = module.read_text()
        match = re.search(r'DOCUMENTATION = r?"""(.*?)"""', text, re.S)
        assert match, module
        doc = yaml.safe_load(match.group(1))
        fragments = doc.get("extends_documentation_fragment") or []
        if "kubeconfig" in (doc.get("options") or {}) or "kubernetes.core.k8s_auth_options" in fragments:
            takes_kubeconfig.add(module.stem)
    assert takes_kubeconfig, "no module of ours takes a kubeconfig: the scan would prove nothing"
    assert group == takes_kubeconfig


def test_the_group_extends_groups_kubernetes_core_really_has() -> None:
    core = _kubernetes_core_groups()
    modules = kubernetes_modules()
    assert {"kubernetes.core.k8s", "kubernetes.core.k8s_info", "kubernetes.core.helm"} <= modules
    for entry in _runtime_group():
        if isinstance(entry, dict):
            for extended in entry["metadata"]["extend_group"]:
                assert extended.rpartition(".")[2] in core, extended


# The scanner's own cases: each must find what it is meant to find.
def _role(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / "roles" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path / "roles"


BODY = """
- name: Body
  module_defaults:
    group/doks.gitops.kubernetes:
      kubeconfig: "{{ gitops_kubeconfig }}"
  environment: "{{ gitops_tls_environment }}"
  block:
"""
MODULES = {"kubernetes.core.k8s", "kubernetes.core.k8s_info"}


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"r/tasks/main.yml": "- name: Bare\n  kubernetes.core.k8s: {state: present}\n"},
            ["without kubeconfig", "without the TLS environment"],
            id="bare-task",
        ),
        pytest.param(
            {
                "r/tasks/main.yml": BODY + "    - name: In\n      ansible.builtin.include_tasks: inner.yml\n",
                "r/tasks/inner.yml": "- name: Read\n  kubernetes.core.k8s_info: {kind: Pod}\n",
            },
            [],
            id="included-under-the-body",
        ),
        pytest.param(
            {
                "r/tasks/main.yml": "- name: In\n  ansible.builtin.include_tasks: inner.yml\n",
                "r/tasks/inner.yml": "- name: Read\n  kubernetes.core.k8s_info: {kind: Pod}\n",
            },
            ["without kubeconfig", "without the TLS environment"],
            id="included-without-defaults",
        ),
        pytest.param(
            {
                "r/tasks/main.yml": (
                    "- name: B\n  module_defaults:\n    group/doks.gitops.kubernetes: {kubeconfig: x}\n"
                    "  block:\n    - name: Other role\n      ansible.builtin.include_role:\n"
                    "        name: doks.gitops.s\n        tasks_from: step\n"
                ),
                "s/tasks/step.yml": "- name: Read\n  kubernetes.core.k8s_info: {kind: Pod}\n",
            },
            ["without the TLS environment"],
            id="another-role-without-environment",
        ),
        pytest.param(
            {
                "r/tasks/main.yml": BODY + '    - name: T\n      ansible.builtin.include_tasks: "{{ which }}.yml"\n',
                "r/tasks/a.yml": "- name: Fine\n  ansible.builtin.debug: {}\n",
                "r/tasks/b.yml": '- name: Again\n  kubernetes.core.k8s:\n    kubeconfig: "{{ gitops_kubeconfig }}"\n',
            },
            ["repeats the kubeconfig"],
            id="templated-include-follows-every-file",
        ),
        pytest.param(
            {
                "r/tasks/main.yml": BODY
                + '    - name: Hub\n      kubernetes.core.k8s:\n        kubeconfig: "{{ hub }}"\n'
            },
            [],
            id="another-cluster-named",
        ),
    ],
)
def test_the_scanner_finds_what_it_should(tmp_path: Path, files: dict[str, str], expected: list[str]) -> None:
    problems = scan(_role(tmp_path, files), [("r", "main")], MODULES)
    assert [next((e for e in expected if e in p), p) for p in problems] == expected


def test_a_play_that_sets_the_tls_environment_loads_the_shared_settings() -> None:
    """``environment`` is templated before the play's first task; ``gitops_tls_environment`` comes
    from the gitops role's defaults, so a play that names it must load that role (a molecule cleanup
    play without it failed: 'gitops_tls_environment' is undefined)."""
    checked = 0
    for path in sorted([*ROOT.glob("molecule/*/*.yml"), *ROOT.glob("playbooks/*.yml")]):
        plays = yaml.safe_load(path.read_text())
        if not isinstance(plays, list):
            continue
        for play in plays:
            if not isinstance(play, dict) or "gitops_tls_environment" not in str(play.get("environment", "")):
                continue
            checked += 1
            roles = [r if isinstance(r, str) else r.get("role") for r in play.get("roles") or []]
            assert "doks.gitops.gitops" in roles, f"{path.relative_to(ROOT)}: {play.get('name')}"
    assert checked, "no play sets the TLS environment: the check proves nothing"
