"""One validation layer per concern (issue 19).

Types, choices and required values live in each role's ``meta/argument_specs.yml``; cross-field
inventory rules in ``plugins/module_utils/preflight.py`` (``RULES``, keyed by role), which each
role's first task runs for itself; the roles' own asserts keep only what needs facts of the run
or the cluster. These tests hold that layout: a task that re-asserts a declared type or choice
fails here, and so does a role that would run alone without its own rules.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf
from jinja2 import meta as jinja2_meta

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
# Jinja tests that only restate a type argument_specs declares.
TYPE_TEST = re.compile(
    r"\b(?P<var>[a-z][a-z0-9_]*)\s+is\s+(?:not\s+)?(?P<test>mapping|sequence|string|number|integer|float|boolean)\b"
)
# `<var> | difference([...])` or `<var> in [...]`: a choice restated.


class _AnyName(dict):  # type: ignore[type-arg]
    """Ansible's filters and tests, as far as parsing needs them: every name exists."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        return lambda *args, **kwargs: None

    def __getitem__(self, key: Any) -> Any:
        return self.get(key)


JINJA = jinja2.Environment()
JINJA.filters = _AnyName()
JINJA.tests = _AnyName()
CHOICE_TEST = re.compile(r"\b(?P<var>[a-z][a-z0-9_]*)\s*(?:\|\s*difference\(\s*\[|in\s+\[)")


def declared() -> dict[str, dict[str, Any]]:
    """Every top-level option of every role's argument spec that has a type or choices."""
    options: dict[str, dict[str, Any]] = {}
    for role in ROLES:
        spec = yaml.safe_load((ROOT / "roles" / role / "meta" / "argument_specs.yml").read_text())
        options.update(spec["argument_specs"]["main"]["options"])
    return {name: o for name, o in options.items() if o.get("type") or o.get("choices")}


def conditions(node: Any) -> list[str]:
    """The expressions of every assert's ``that`` and every fail task's ``when``."""
    found: list[str] = []
    if isinstance(node, list):
        for item in node:
            found += conditions(item)
    elif isinstance(node, dict):
        assert_args = node.get("ansible.builtin.assert")
        if isinstance(assert_args, dict):
            that = assert_args.get("that")
            found += [str(x) for x in (that if isinstance(that, list) else [that])]
        if "ansible.builtin.fail" in node:
            when = node.get("when")
            found += [str(x) for x in (when if isinstance(when, list) else [when] if when else [])]
        for value in node.values():
            found += conditions(value)
    return found


def restated(expression: str, options: dict[str, dict[str, Any]]) -> list[str]:
    hits = [m["var"] for m in TYPE_TEST.finditer(expression) if m["var"] in options]
    hits += [m["var"] for m in CHOICE_TEST.finditer(expression) if options.get(m["var"], {}).get("choices")]
    return hits


def test_the_scanner_finds_a_restated_type_and_choice() -> None:
    """The scan is not vacuous: the shapes it must refuse are refused, and a rule on values passes."""
    options = declared()
    assert restated("tekton_prune_namespaces is sequence and tekton_prune_namespaces is not string", options)
    assert restated("argocd_rbac_group_roles is mapping", options)
    assert restated("doks_cluster_teardown_associated_resources | difference(['volumes']) | length == 0", options)
    assert restated("gitops_ingress_controller in ['traefik', 'ingress-nginx']", options)
    assert not restated("tekton_dashboard_ingress_annotations | length > 0", options)
    assert not restated("lofi_pipeline_cur.app_values is mapping", options)  # a derived value, not an option


@pytest.mark.parametrize("role", ROLES)
def test_no_task_reasserts_what_argument_specs_declares(role: str) -> None:
    options = declared()
    offenders = []
    for tasks in sorted((ROOT / "roles" / role / "tasks").glob("*.yml")):
        for expression in conditions(yaml.safe_load(tasks.read_text())):
            offenders += [f"{tasks.relative_to(ROOT)}: {var}" for var in restated(expression, options)]
    assert offenders == [], "declare it in meta/argument_specs.yml only:\n" + "\n".join(offenders)


def test_rules_are_keyed_by_the_roles_of_the_collection() -> None:
    assert set(pf.RULES) <= set(ROLES)
    assert len(pf.SHARED_CHECKS) == len(set(pf.SHARED_CHECKS))  # every rule in one place


@pytest.mark.parametrize("role", [r for r in ROLES if r != "gitops"])
def test_a_role_run_alone_checks_its_own_rules_first(role: str) -> None:
    """The first task of tasks/main.yml runs preflight for the shared settings and the role, without
    the network, unless site.yml's preflight already checked it (gitops_preflight_passed)."""
    first = yaml.safe_load((ROOT / "roles" / role / "tasks" / "main.yml").read_text())[0]
    assert first["doks.gitops.preflight"] == {"roles": ["gitops", role], "network": False}
    assert f"'{role}' not in gitops_preflight_passed | default([])" in first["when"]
    assert f"{role}_enabled | bool" in first["when"]


def test_a_removed_knob_names_its_replacement() -> None:
    problems = pf.check_unknown(["ingress_certmanager_controller"], {"gitops_ingress_controller"}, ("ingress_",))
    assert [(p.variable, "gitops_ingress_controller" in p.fix) for p in problems] == [
        ("ingress_certmanager_controller", True)
    ]


# ---- inventory-only rules stay out of the roles' tasks ---------------------------------------------------
# A condition of an assert (or of a fail task) is an inventory rule when every name it reads is a
# variable the inventory or a role default gives and none of them depends on what the run learns: a
# registered result, a set_fact, a loop variable, check mode, or a default that reads one of those
# (argocd_oidc_issuer reads auth0_apps_issuer, which auth0_apps publishes). A name the scan does not
# know (a lookup, a magic variable) makes the condition undecided, and it is left alone.
RUN_STATE = {"ansible_check_mode", "item", "hostvars", "groups", "lookup", "query", "q", "omit"}


def _strings(node: Any) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for v in node.values() for s in _strings(v)]
    if isinstance(node, list):
        return [s for v in node for s in _strings(v)]
    return []


def _names(text: str, expression: bool = False) -> set[str]:
    """The variables a Jinja template (or, with ``expression``, a bare condition) reads."""
    if "{{" not in text and "{%" not in text:
        if not expression:
            return set()  # a literal
        text = "{{ (" + text + ") }}"
    return set(jinja2_meta.find_undeclared_variables(JINJA.parse(text)))


def _tasks(node: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    if isinstance(node, list):
        for item in node:
            found += _tasks(item)
    elif isinstance(node, dict):
        found.append(node)
        for key in ("block", "rescue", "always"):
            found += _tasks(node.get(key))
    return found


def run_facts() -> set[str]:
    """Every name a role's tasks set while running: registered results, facts, loop variables."""
    facts = set(RUN_STATE)
    for tasks in (ROOT / "roles").glob("*/tasks/*.yml"):
        for task in _tasks(yaml.safe_load(tasks.read_text())):
            if isinstance(task.get("register"), str):
                facts.add(task["register"])
            for module in ("ansible.builtin.set_fact", "set_fact"):
                if isinstance(task.get(module), dict):
                    facts |= {k for k in task[module] if k != "cacheable"}
            loop_var = (task.get("loop_control") or {}).get("loop_var")
            if loop_var:
                facts.add(loop_var)
    return facts


def inventory_definitions() -> dict[str, set[str]]:
    """Each variable the inventory or a role's defaults and vars give, with the names its default reads."""
    definitions: dict[str, set[str]] = {}
    for role in ROLES:
        base = ROOT / "roles" / role
        spec = yaml.safe_load((base / "meta" / "argument_specs.yml").read_text())
        definitions.update({name: set() for name in spec["argument_specs"]["main"]["options"]})
        for rel in ("defaults/main.yml", "vars/main.yml"):
            if (base / rel).is_file():
                for name, value in (yaml.safe_load((base / rel).read_text()) or {}).items():
                    definitions[name] = {n for s in _strings(value) for n in _names(s)}
    return definitions


def inventory_only(expression: str, local: dict[str, set[str]], facts: set[str], known: dict[str, set[str]]) -> bool:
    """Whether ``expression`` reads inventory variables only (``local`` are the task's own vars)."""
    seen: set[str] = set()
    todo = list(_names(expression, expression=True))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in local:
            todo += local[name]
        elif name in facts or name not in known:
            return False
        else:
            todo += known[name]
    return True


def inventory_rules(path: Path, facts: set[str], known: dict[str, set[str]]) -> list[str]:
    found = []
    for task in _tasks(yaml.safe_load(path.read_text())):
        local = {k: {n for s in _strings(v) for n in _names(s)} for k, v in (task.get("vars") or {}).items()}
        assert_args = task.get("ansible.builtin.assert")
        expressions = []
        if isinstance(assert_args, dict):
            that = assert_args.get("that")
            expressions += [str(x) for x in (that if isinstance(that, list) else [that])]
        if "ansible.builtin.fail" in task:
            when = task.get("when")
            expressions += [str(x) for x in (when if isinstance(when, list) else [when] if when else [])]
        found += [f"{task.get('name')}: {e}" for e in expressions if inventory_only(e, local, facts, known)]
    return found


def test_the_inventory_rule_scanner_is_not_vacuous() -> None:
    facts, known = run_facts(), inventory_definitions()
    # moved to preflight by issue 19: each would be found again
    for expression in (
        "observability_prometheus_retention is match('^([0-9]+(ms|s|m|h|d|w|y))+$')",
        "argocd_rbac_default_role is match('^(role:[A-Za-z0-9_.-]+)?$')",
        "argocd_applications_project.clusterResourceWhitelist | default([]) | length == 0",
        "lofi_pipeline_apps | length > 0",
        "lofi_pipeline_wait_timeout | int > 0",
    ):
        assert inventory_only(expression, {}, facts, known), expression
    # a task variable built from inventory variables is still the inventory's
    local = {"_receivers": _names("{{ observability_alertmanager_route.receiver }}")}
    assert inventory_only("_receivers | length > 0", local, facts, known)
    # what the run learns keeps a check in the role
    assert not inventory_only("argocd_oidc_issuer is match('^https://.+/$')", {}, facts, known)  # auth0_apps' fact
    assert not inventory_only("lofi_pipeline_project_info.results | length > 0", {}, facts, known)  # registered
    assert not inventory_only("lofi_pipeline_cur.app_namespace | length > 0", {}, facts, known)  # per loop item
    assert not inventory_only("ansible_check_mode or argocd_enabled", {}, facts, known)


@pytest.mark.parametrize("role", ROLES)
def test_no_task_asserts_an_inventory_only_rule(role: str) -> None:
    """A rule that reads the inventory alone belongs in preflight (RULES[role]), which runs before any
    write; a role's asserts keep what needs facts of the run or the cluster."""
    facts, known = run_facts(), inventory_definitions()
    offenders = [
        f"{path.relative_to(ROOT)}: {rule}"
        for path in sorted((ROOT / "roles" / role / "tasks").glob("*.yml"))
        for rule in inventory_rules(path, facts, known)
    ]
    assert offenders == [], "move it to plugins/module_utils/preflight.py RULES[role]:\n" + "\n".join(offenders)
