# -*- coding: utf-8 -*-
# Copyright: doks.gitops maintainers
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action plugin for doks.gitops.preflight: validate a cluster's whole inventory at once."""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import yaml
from ansible.errors import AnsibleError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.plugins.action import ActionBase
from ansible.template import trust_as_template
from ansible_collections.doks.gitops.plugins.module_utils.credentials import (
    Refusal,
    env_source,
    probe_auth0,
    probe_digitalocean,
    probe_dns_token,
    probe_spaces,
)
from ansible_collections.doks.gitops.plugins.module_utils.rest import ApiError, JsonClient, RetryPolicy
from ansible_collections.doks.gitops.plugins.module_utils.preflight import (
    RULES,
    SCOPED_DNS_CREDENTIAL,
    Problem,
    check_chart_versions,
    check_loki_storage,
    check_pins,
    check_hub,
    check_unique_across_hosts,
    check_unknown,
)

COLLECTION = Path(__file__).resolve().parents[2]
ROLES_DIR = COLLECTION / "roles"
DEFAULT_ROLES = (
    "gitops",
    "doks_cluster",
    "auth0_apps",
    "ingress_certmanager",
    "observability",
    "tekton",
    "kyverno",
    "falco",
    "argocd",
    "lofi_pipeline",
)
# The fact a passing preflight leaves on the host: the roles whose rules it checked. A role's own
# preflight (its first task) is skipped when site.yml's already checked it.
PASSED_FACT = "gitops_preflight_passed"


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        task_vars = task_vars or {}
        result = super().run(tmp, task_vars)
        roles = list(dict.fromkeys(self._task.args.get("roles") or DEFAULT_ROLES))
        online = _truthy(self._task.args.get("network", True))
        unknown = [r for r in roles if not (ROLES_DIR / r / "meta" / "argument_specs.yml").is_file()]
        if unknown:
            raise AnsibleError(f"preflight: unknown roles {unknown}; known: {list(DEFAULT_ROLES)}")
        # The roles' defaults sit under the host's variables, as when the roles run, so the
        # check works in any play (teardown.yml lists no roles) and sees what the roles will see.
        defaults: dict[str, Any] = {}
        for role in roles:
            defaults.update(self._defaults(role))
        inventory_names = [name for name in task_vars if name not in defaults]
        task_vars = {**defaults, **task_vars}
        templar = self._templar.copy_with_new_env(available_variables=task_vars)
        cache: dict[str, Any] = {}
        broken: set[str] = set()
        problems: list[Problem] = []

        def get(name: str, default: Any = None) -> Any:
            if name not in task_vars or name in broken:
                return default
            if name not in cache:
                try:
                    cache[name] = templar.template(task_vars[name])
                except Exception as exc:  # an undefined or broken expression is itself a finding
                    problems.append(Problem(name, f"cannot be evaluated ({exc})", "define the variables it refers to"))
                    broken.add(name)
                    return default
            return cache[name]

        # each role's types, choices and required values (its argument spec), then its cross-field rules
        for role in roles:
            problems += self._check_spec(role, get)
            for check in RULES.get(role, ()):
                problems += check(get)
        pins = [name for name in task_vars if name.endswith(("_chart", "_release")) and _owners(name, roles)]
        problems += check_pins({name: get(name) for name in pins})
        if "observability" in roles:
            problems += check_loki_storage(get, self._given(task_vars, inventory_names))
        if "gitops" in roles:
            others = self._other_hosts(task_vars, defaults)
            problems += check_unique_across_hosts(get, others)
            problems += check_hub(get, others)
        if self._task.args.get("unknown_variables", True):
            problems += check_unknown(inventory_names, _declared_names(), _prefixes())
        problems = list(dict.fromkeys(problems))
        if not problems and online:
            # reads over the network, once the inventory alone is valid: published chart versions
            # (skipped when a repository does not answer), then the credentials
            problems = self._check_chart_index(roles, get, task_vars)
        if not problems and online and _truthy(get("gitops_preflight_credentials", True)):
            problems = self._check_credentials(roles, get, task_vars)
        result.update(changed=False, problems=[p._asdict() for p in problems], roles=roles)
        if problems:
            lines = "\n".join(f"  - {p}" for p in problems)
            result.update(failed=True, msg=f"Inventory check found {len(problems)} problem(s):\n{lines}")
        else:
            result["msg"] = f"Inventory is valid for {', '.join(roles)}"
            passed = task_vars.get(PASSED_FACT) or []
            result["ansible_facts"] = {PASSED_FACT: sorted({*passed, *roles})}
        return result

    @staticmethod
    def _given(task_vars: dict[str, Any], inventory_names: list[str]) -> set[str]:
        """The variables the inventory or the extra vars set for this host (the roles' defaults excluded)."""
        hostvars = task_vars.get("hostvars")
        me = task_vars.get("inventory_hostname")
        if hostvars is None or me is None:
            return set(inventory_names)
        return set(hostvars.raw_get(me))

    def _other_hosts(self, task_vars: dict[str, Any], defaults: dict[str, Any]) -> dict[str, Any]:
        """A getter per other host of the play, seeing that host's inventory over the roles' defaults."""
        hostvars = task_vars.get("hostvars")
        me = task_vars.get("inventory_hostname")
        # every cluster of the inventory (group clusters), even those a --limit leaves out: a
        # teardown of one host must still see what the others use
        clusters = set((task_vars.get("groups") or {}).get("clusters") or [])
        others = sorted((clusters | set(task_vars.get("ansible_play_hosts_all") or [])) - {me})
        if hostvars is None or not others:
            return {}
        getters = {}
        for host in others:
            variables = {**defaults, **hostvars.raw_get(host)}
            getters[host] = _getter(self._templar.copy_with_new_env(available_variables=variables), variables)
        return getters

    def _check_chart_index(self, roles: list[str], get: Any, task_vars: dict[str, Any]) -> list[Problem]:
        pins = {
            name: get(name)
            for name in task_vars
            if name.endswith("_chart") and any(_selected(role, roles, task_vars) for role in _owners(name, roles))
        }
        ca_path = get("gitops_ca_bundle") or None
        return check_chart_versions(
            pins, get("gitops_helm_repo_mirror") or "", lambda repo: _chart_index(repo, ca_path)
        )

    def _check_credentials(self, roles: list[str], get: Any, task_vars: dict[str, Any]) -> list[Problem]:
        """One authenticated read per API the selected roles will call; a refusal names the variable
        and the environment variable it is read from."""

        def runs(role: str) -> bool:
            return _selected(role, roles, task_vars) and _truthy(get(f"{role}_enabled", True))

        refusals = []
        if runs("doks_cluster"):
            ca_path = get("doks_cluster_ca_path") or None
            refusals.append(probe_digitalocean(get("doks_cluster_api_url"), get("doks_cluster_api_token"), ca_path))
            if _truthy(get("doks_cluster_spaces_enabled", True)):
                refusals.append(
                    probe_spaces(
                        get("doks_cluster_spaces_endpoint"),
                        get("doks_cluster_spaces_region"),
                        get("doks_cluster_spaces_access_key_id"),
                        get("doks_cluster_spaces_secret_access_key"),
                        ca_path=ca_path,
                    )
                )
        if runs("ingress_certmanager") and _dns_token_used(get):
            refusals.append(
                probe_dns_token(
                    get("doks_cluster_api_url") or DIGITALOCEAN_API,
                    get("ingress_certmanager_digitalocean_token"),
                    get("doks_cluster_ca_path") or get("gitops_ca_bundle") or None,
                    SCOPED_DNS_CREDENTIAL,
                )
            )
        if runs("auth0_apps"):
            refusals.append(
                probe_auth0(
                    get("auth0_apps_domain"),
                    get("auth0_apps_client_id"),
                    get("auth0_apps_client_secret"),
                    audience=get("auth0_apps_audience") or None,
                    ca_path=get("auth0_apps_ca_path") or None,
                )
            )
        return [_refused(r, task_vars.get(r.variable)) for r in refusals if r is not None]

    @staticmethod
    def _defaults(role: str) -> dict[str, Any]:
        path = ROLES_DIR / role / "defaults" / "main.yml"
        if not path.is_file():
            return {}
        return {name: _trusted(value) for name, value in (yaml.safe_load(path.read_text()) or {}).items()}

    @staticmethod
    def _spec(role: str) -> dict[str, Any]:
        data = yaml.safe_load((ROLES_DIR / role / "meta" / "argument_specs.yml").read_text())
        return (data.get("argument_specs", {}).get("main") or {}).get("options") or {}

    def _check_spec(self, role: str, get: Any) -> list[Problem]:
        spec = self._spec(role)
        provided = {name: get(name) for name in spec if get(name, _MISSING) is not _MISSING}
        validation = ArgumentSpecValidator(spec).validate(provided)
        problems = []
        for error in validation.errors:
            message = str(error)
            # "argument 'x' ...", "... found in 'x'", "... in x"; an unknown key of a list of mappings: "x.key. ..."
            variable = next(
                (n for n in spec if f"'{n}'" in message or f" {n}" in message or message.startswith(f"{n}.")), role
            )
            problems.append(
                Problem(
                    variable,
                    message,
                    f"correct it in the inventory (see roles/{role}/README.md and meta/argument_specs.yml)",
                )
            )
        return problems


_MISSING = object()
# The environment variable each credential comes from in the role defaults and shipped inventories.
CREDENTIAL_ENV = {
    "doks_cluster_api_token": "DIGITALOCEAN_TOKEN",
    "doks_cluster_spaces_access_key_id": "SPACES_ACCESS_KEY_ID",
    "doks_cluster_spaces_secret_access_key": "SPACES_SECRET_ACCESS_KEY",
    "auth0_apps_client_id": "AUTH0_CLIENT_ID",
    "auth0_apps_client_secret": "AUTH0_CLIENT_SECRET",
    "ingress_certmanager_digitalocean_token": "DIGITALOCEAN_DNS_TOKEN",
}
DIGITALOCEAN_API = "https://api.digitalocean.com"


def _dns_token_used(get: Any) -> bool:
    """external-dns or the DNS-01 solver will keep the DNS token in the cluster (and it is set:
    an empty one is the inventory check's finding)."""
    used = _truthy(get("ingress_certmanager_external_dns_enabled", True)) or (
        get("ingress_certmanager_acme_solver", "http01") == "dns01"
    )
    return used and bool(str(get("ingress_certmanager_digitalocean_token", "") or "").strip())


def _selected(role: str, roles: list[str], task_vars: dict[str, Any]) -> bool:
    """The role is checked and this run executes it (no --tags, or its tag among them; --tags
    preflight alone checks everything)."""
    tags = set(task_vars.get("ansible_run_tags") or ["all"])
    return role in roles and bool(tags & {"all", "preflight", role})


def _owners(variable: str, roles: list[str]) -> list[str]:
    return [role for role in roles if variable.startswith(f"{role}_")]


@functools.cache
def _chart_index(repo: str, ca_path: str | None) -> dict[str, list[str]] | None:
    """Chart name -> published versions from ``<repo>/index.yaml``; None when it cannot be read
    (offline rendering, a private repository): the pins are then not judged. Read once per repository
    and controller process."""
    client = JsonClient(repo, timeout=10, ca_path=ca_path, retry=RetryPolicy(retries=1, max_delay=2, deadline=15))
    try:
        body = client.request("GET", "/index.yaml", headers={"Accept": "application/yaml, */*"}, expected=(200,)).json
        document = yaml.safe_load(body) if isinstance(body, (str, bytes)) else None
    except (ApiError, yaml.YAMLError):
        return None
    entries = document.get("entries") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        return None
    return {
        str(name): [str(e.get("version")) for e in charts or [] if isinstance(e, dict)]
        for name, charts in entries.items()
    }


def _truthy(value: Any) -> bool:
    return str(value).lower() in ("true", "1", "yes", "on")


def _refused(refusal: Refusal, raw: Any) -> Problem:
    env = env_source(raw, CREDENTIAL_ENV[refusal.variable])
    if refusal.fix:
        return Problem(refusal.variable, refusal.detail, f"{refusal.fix}, in the environment variable {env}")
    return Problem(
        refusal.variable,
        refusal.detail,
        f"put a valid value in the environment variable {env} it is read from (or in the inventory/vault), "
        "or set gitops_preflight_credentials: false to render offline",
    )


def _getter(templar: Any, variables: dict[str, Any]) -> Any:
    """get(name, default) over another host's variables; what cannot be evaluated counts as unset
    (that host's own preflight reports it)."""

    def get(name: str, default: Any = None) -> Any:
        if name not in variables:
            return default
        try:
            return templar.template(variables[name])
        except Exception:  # reported by that host's own preflight
            return default

    return get


_SETTERS = ("ansible.builtin.set_fact", "set_fact")


@functools.cache
def _prefixes() -> tuple[str, ...]:
    """Variable prefixes the collection owns: every role's name (gitops is the shared one)."""
    return tuple(sorted((f"{p.name}_" for p in ROLES_DIR.iterdir() if p.is_dir()), key=len, reverse=True))


@functools.cache
def _declared_names() -> frozenset[str]:
    """Every variable name a role declares or sets: what an inventory may legitimately carry.

    Read once per controller process (the collection's files do not change during a run; the
    action runs once per host)."""
    names: set[str] = {PASSED_FACT}
    for role in ROLES_DIR.iterdir():
        spec = role / "meta" / "argument_specs.yml"
        if spec.is_file():
            main = (yaml.safe_load(spec.read_text()) or {}).get("argument_specs", {}).get("main") or {}
            names.update(main.get("options") or {})
        for rel in ("defaults/main.yml", "vars/main.yml"):
            if (role / rel).is_file():
                names.update(yaml.safe_load((role / rel).read_text()) or {})
        for tasks in sorted(role.glob("tasks/*.yml")):
            _collect_set(yaml.safe_load(tasks.read_text()), names)
    for playbook in sorted((COLLECTION / "playbooks").glob("*.yml")):
        _collect_set(yaml.safe_load(playbook.read_text()), names)
    return frozenset(names)


def _collect_set(node: Any, names: set[str]) -> None:
    """Names set by tasks: set_fact keys, register targets, task and block vars."""
    if isinstance(node, list):
        for item in node:
            _collect_set(item, names)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in _SETTERS and isinstance(value, dict):
                names.update(k for k in value if k != "cacheable")
            elif key == "register" and isinstance(value, str):
                names.add(value)
            elif key == "vars" and isinstance(value, dict):
                names.update(value)
            _collect_set(value, names)


def _trusted(value: Any) -> Any:
    """Role defaults are the collection's own files: their templates may be rendered."""
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    return value
