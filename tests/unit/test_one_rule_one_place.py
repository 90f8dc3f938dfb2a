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

import pytest
import yaml
from ansible_collections.doks.gitops.plugins.module_utils import preflight as pf

ROOT = Path(__file__).resolve().parents[2]
ROLES = sorted(p.name for p in (ROOT / "roles").iterdir() if (p / "meta" / "argument_specs.yml").is_file())
# Jinja tests that only restate a type argument_specs declares.
TYPE_TEST = re.compile(
    r"\b(?P<var>[a-z][a-z0-9_]*)\s+is\s+(?:not\s+)?(?P<test>mapping|sequence|string|number|integer|float|boolean)\b"
)
# `<var> | difference([...])` or `<var> in [...]`: a choice restated.
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
